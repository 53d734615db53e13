"""Issue 6's "Done when", end to end on the demo district: the simulated storm's readings go through
the real ingest, its warnings start the flood plan — one response for the whole storm, every further
warning joining it — whose tasks reach the town centres and the grids; the duty officer stands it
down, and the review of that run exports as Word (the stage tables read back with python-docx) and
HTML. Runs on SQLite and, with ``SHUZHI_TEST_DATABASE_URL``, on PostgreSQL.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from docx import Document
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Task, Unit
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.demo.plans import load_demo_plans
from shuzhi.demo.sensing import seed_sensing
from shuzhi.demo.warnings import seed_warnings
from shuzhi.services.sensing.ingest import forget_catalogues
from shuzhi.services.unit_of_work import UnitOfWork
from tests.integration.conftest import Api

NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)
FLOOD_INDICATORS = ("RIVER_LEVEL", "RAINFALL_1H", "WATERLOGGING_DEPTH")


def test_the_demo_storm_starts_one_flood_response_that_reaches_the_grids_and_is_reviewed(demo_district: Any,
        session_factory: sessionmaker[Session], api: Api) -> None:
    forget_catalogues()
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    load_demo_plans(uow())
    seed_warnings(uow, session_factory, district)
    seed_sensing(uow, session_factory, district, NOW - timedelta(days=2, hours=8), NOW, 1)
    forget_catalogues()

    # one storm, one flood response: every orange-or-worse warning of it is a trigger of the one run
    runs = [r for r in api.get("/api/plan-runs", who="admin") if r["template_code"] == "flood-response"]
    assert len(runs) == 1 and runs[0]["state"] == "active" and runs[0]["trigger_kind"] == "warning"
    run_id = runs[0]["id"]
    board = api.get(f"/api/plan-runs/{run_id}", who="admin")
    # the board answers a page at a time (a city-wide run has thousands of tasks): read them all
    while len(board["tasks"]) < board["matched"]:
        more = api.get(f"/api/plan-runs/{run_id}?offset={len(board['tasks'])}&limit=1000", who="admin")
        board["tasks"] += more["tasks"]
    assert len(board["tasks"]) == board["total_tasks"] == sum(board["counts"].values())
    with session_factory() as s:
        severe = s.scalars(select(IndicatorWarning).where(
            IndicatorWarning.indicator_code.in_(FLOOD_INDICATORS),
            IndicatorWarning.peak_level.in_(("orange", "red")))).all()
        towns = {w.area_path.split("/")[3] for w in severe}
    assert len(severe) >= 8  # every river gauge, and the wettest towns' rain
    assert {t["warning_id"] for t in board["triggers"]} == {w.id for w in severe}
    assert [t["role"] for t in board["triggers"]].count("started") == 1
    assert {t["kind"] for t in board["triggers"]} == {"warning"}

    # all the way down: the bureaus, the centre of every town the storm hit, its villages and grids
    levels = {t["unit_level"] for t in board["tasks"] if t["state"] == "dispatched"}
    assert {"district", "town", "grid"} <= levels
    town_centres = {t["unit_code"] for t in board["tasks"] if t["task_key"] == "town"}
    assert town_centres == {f"C{code}" for code in towns}
    assert {t["state"] for t in board["tasks"] if t["task_key"] == "evacuate"} == {"waiting"}
    with session_factory() as s:
        held = s.execute(select(Unit.level, Task.state).join(Task, Task.unit_id == Unit.id)
                         .where(Task.id.in_([t["task_id"] for t in board["tasks"] if t["task_id"]]))).all()
    assert {level for level, state in held if state == "dispatched"} >= {"town", "grid"}

    # the duty officer stands the response down
    done = api.post(f"/api/plan-runs/{run_id}/stand-down", "admin", {"reason": "雨停水退，解除防汛应急响应"})
    assert done["state"] == "stood_down"
    assert not {"dispatched", "waiting"} & set(done["counts"])

    review = api.get(f"/api/plan-runs/{run_id}/review", who="admin")
    assert review["kind"] == "run" and review["plan_code"] == "flood-response"
    assert review["tasks"] == len([t for t in board["tasks"] if t["task_id"]])

    docx = api.get(f"/api/plan-runs/{run_id}/review?format=docx", who="admin")
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    doc = Document(io.BytesIO(docx.content))
    tables = {tuple(c.text for c in t.rows[0].cells): t for t in doc.tables}
    stages = tables[("阶段", "用时", "次数")]
    assert len(stages.rows) > 1 and all(row.cells[1].text for row in stages.rows[1:])
    limits = tables[("单位", "环节", "用时", "时限", "超时")]
    units = {row.cells[0].text for row in limits.rows[1:]}
    names = {t["unit_name"] for t in board["tasks"] if t["task_id"]}
    assert units == names  # every task of the run, bureau, town centre and grid, against its limit
    assert any(p.text.startswith("预案：大足区暴雨洪涝灾害应急预案") for p in doc.paragraphs)

    html = api.get(f"/api/plan-runs/{run_id}/review?format=html", who="admin")
    assert html.headers["content-type"].startswith("text/html")
    assert "一、阶段用时" in html.text and "plan.stand_down" in html.text
    assert all(name in html.text for name in names)
