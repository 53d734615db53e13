"""The demo district's evaluation page has a real five-colour map of its 27 towns and rankings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shuzhi.services import evaluation as ev
from shuzhi.services.actors import SYSTEM
from shuzhi.services.rollups import recount, stored
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import DEMO_NOW


def test_demo_colour_map_of_27_towns(demo_history: Any, session_factory: sessionmaker[Session]) -> None:
    now = DEMO_NOW
    cmap = ev.colour_map(UnitOfWork(session_factory), SYSTEM, area="500111", period="2025-06")
    assert cmap["scheme"] == "default" and len(cmap["items"]) == 27
    # the district-wide notices (copied to its towns) are the district's own row, not a 28th town
    assert all(i["level"] == "town" for i in cmap["items"])
    assert cmap["own"] is not None and cmap["own"]["code"] == "500111"
    coloured = [i for i in cmap["items"] if i["colour"] != "grey"]
    assert len(coloured) >= 20
    assert {i["colour"] for i in coloured} <= {"green", "blue", "yellow", "orange", "red"}
    ranks = ev.rankings(UnitOfWork(session_factory), SYSTEM, area="500111", period="2025-06", by="area")
    assert len(ranks["ranking"]) == len(coloured)
    with session_factory() as s:
        assert stored(s) == recount(s, now)
