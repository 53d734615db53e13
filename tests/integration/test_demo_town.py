"""The demo district's towns have their structure (一中心四板块, issue #20): four boards each, a town
leader in charge, posts held by named people (a grid worker among them), duty lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_town import BoardPost, TownBoard
from shuzhi.demo.town import seed_town_boards
from shuzhi.services import town
from shuzhi.services.actors import SYSTEM
from shuzhi.services.unit_of_work import UnitOfWork


def test_every_demo_town_has_four_boards_with_leaders_posts_people_and_duties(demo_district: Any,
        session_factory: sessionmaker[Session]) -> None:
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    seed_town_boards(uow, district, 1)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TownBoard)) == 4 * len(district.towns) == 108
        assert s.scalar(select(func.count()).select_from(BoardPost).where(BoardPost.person_id.is_not(None))) \
            == 9 * len(district.towns)
    first = district.towns[0]
    structure = town.structure(uow(), SYSTEM, first["code"])
    assert [b["name"] for b in structure["boards"]] == [
        f"{first['name']}{n}板块" for n in ("党的建设", "经济发展", "平安法治", "民生服务")]
    safety = next(b for b in structure["boards"] if b["key"] == "safety_law")
    assert safety["leader"]["code"] == f"leader.{first['key']}"
    liaison = next(p for p in safety["posts"] if p["name"] == "网格联络员")
    assert liaison["person"]["code"].startswith(f"grid.{first['key']}")
    assert len(safety["duties"]) == 4 and all(d["title"] for d in safety["duties"])


def test_every_demo_grid_has_a_team_with_full_and_part_time_workers_and_due_items(demo_district: Any,
        session_factory: sessionmaker[Session]) -> None:
    from datetime import UTC, datetime

    from shuzhi.adapters.db.tables_town import DutyItem, GridTeamMember
    from shuzhi.demo.town import seed_grid_teams
    from shuzhi.services import grid_teams

    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    made = seed_grid_teams(uow, district, datetime.now(UTC))
    with session_factory() as s:
        roles = dict(s.execute(select(GridTeamMember.role, func.count()).group_by(GridTeamMember.role)).all())
        assert roles["full_time"] == len(district.grids) and roles["grid_leader"] == len(district.grids)
        assert roles["part_time"] >= len(district.grids) * 0.9
        # a worker serves in his own grid and a neighbour's: one primary membership each
        primaries = s.execute(select(GridTeamMember.person_id, func.count()).where(GridTeamMember.is_primary.is_(True))
                              .group_by(GridTeamMember.person_id)).all()
        assert primaries and all(n == 1 for _, n in primaries)
        assert s.scalar(select(func.count()).select_from(DutyItem)) == made > 7 * len(district.grids)
    first = district.towns[0]
    view = grid_teams.grids(uow(), SYSTEM, first["code"])
    g = view["grids"][0]
    assert {m["role"] for m in g["members"]} >= {"grid_leader", "full_time", "part_time"}
    assert g["duties"]["open"] > 0
