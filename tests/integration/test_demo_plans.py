"""The demo's plans on the demo district: a red water-level warning over 龙水镇 starts the flood plan,
tasks reach the district bureaus, the town centre, its villages and its grids, and the run's review
exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.demo.plans import TEMPLATES, load_demo_plans
from shuzhi.services import hooks
from shuzhi.services.actors import SYSTEM
from shuzhi.services.plans import review
from shuzhi.services.plans import runs as plan_runs
from shuzhi.services.unit_of_work import UnitOfWork


def test_storm_warning_starts_the_flood_plan_down_to_the_grids(demo_district: Any, session_factory: Any) -> None:
    report = load_demo_plans(UnitOfWork(session_factory))
    assert sorted(report.created) == sorted(t["code"] for t in TEMPLATES)
    with session_factory() as s:
        town = s.scalar(select(Area).where(Area.name == "龙水镇"))
        assert town is not None
        grids = set(s.scalars(select(Unit.code).join(Area, Area.id == Unit.area_id)
                              .where(Unit.kind == "grid", Area.path.startswith(town.path))))
        change = hooks.WarningChange(
            warning_id=1, episode_key="RIVER_LEVEL:gauge-7:1", indicator_code="RIVER_LEVEL",
            indicator_lineage=("infrastructure", "RIVER_LEVEL"), series_key="gauge-7", area_code=town.code,
            area_path=town.path, level="red", previous_level="orange", at=datetime.now(UTC))
        for hook in hooks.WARNING_HOOKS:
            hook(s, change)
        s.commit()
    uow = UnitOfWork(session_factory)
    runs = plan_runs.list_runs(uow, SYSTEM)
    assert [r.template_code for r in runs] == ["flood-response"] and runs[0].state == "active"
    board = plan_runs.board(uow, runs[0].id, SYSTEM)
    units = {t.unit_code: t.state for t in board.tasks}
    assert {"D500111-SLJ", "D500111-YJJ", "D500111-QXJ", "D500111-CGJ", f"C{town.code}"} <= set(units)
    alerts = {t.unit_code for t in board.tasks if t.task_key == "alert" and t.state == "dispatched"}
    assert alerts == grids  # every grid of the town is called at once (叫应)
    assert {t.state for t in board.tasks if t.task_key == "patrol"} == {"waiting"}
    villages = [t for t in board.tasks if t.task_key == "evacuate"]
    assert villages and all(t.state == "waiting" for t in villages)  # after the town centre's deployment
    plan_runs.stand_down(uow, runs[0].id, plan_runs.StandDown(reason="水位回落，解除响应"), SYSTEM)
    r = review.review_run(uow, runs[0].id, SYSTEM)
    assert r.tasks == board.counts["dispatched"]
    from shuzhi.adapters.review_export import to_docx

    assert to_docx(r)[:2] == b"PK"
