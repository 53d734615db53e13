"""一键督办 is a centre function: the duty desk (duty officers, dispatchers) urges as a leader does, and a city
may keep it to leaders by configuration.

alice is the district's dispatcher, bob town A's duty officer, carol a handler in the city-management
bureau, grace the district leader.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.config import Settings
from shuzhi.domain import permissions as P
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.bootstrap import configure_roles
from tests.factories import World
from tests.integration.conftest import Api


def _future(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _dispatched(api: Api, who: str = "alice") -> str:
    number: str = api.submit(who=who)["number"]
    api.post(f"/api/events/{number}/dispatch", who, {"units": [{"unit_code": "D500111-CGJ"}]})
    return number


def test_the_duty_desk_urges_by_default(api: Api, world: World) -> None:
    for who in ("alice", "bob"):  # a dispatcher, a duty officer
        number = _dispatched(api, who)
        assert "urge" in api.get(f"/api/events/{number}/desk-actions", who=who)["actions"]
        api.post(f"/api/events/{number}/urge", who, {"instruction": "请今日办结", "due_at": _future(1)})
        timeline = api.get(f"/api/events/{number}/timeline", who=who)
        assert [t["reason"] for t in timeline if t["action"] == "supervision.leader_urge"] == ["请今日办结"]
    inbox = api.get("/api/inbox", who="carol", params={"kind": "supervision.leader_urge"})
    # the unit is told the urge came from the centre's desk, not from a leader
    assert len(inbox) == 2 and all(n["title"].startswith("中心督办：") for n in inbox)
    number = _dispatched(api)
    api.post(f"/api/events/{number}/urge", "grace", {"instruction": "领导要求尽快", "due_at": _future(1)})
    assert api.get("/api/inbox", who="carol", params={"kind": "supervision.leader_urge"})[0]["title"].startswith(
        "领导督办：")
    # a handler has no urge, on the page or through the API
    assert "urge" not in api.get(f"/api/events/{number}/desk-actions", who="carol")["actions"]
    api.post(f"/api/events/{number}/urge", "carol", {"instruction": "尽快", "due_at": _future(1)}, status=403)


@pytest.fixture
def leaders_only(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Api]:
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://", urge_roles=["leader"]))
    try:
        with TestClient(app) as c:
            yield Api(c)
    finally:
        configure_roles(Settings(data_dir=tmp_path))  # the default again, for the tests that follow


def test_a_city_may_keep_the_urge_to_leaders(leaders_only: Api, world: World) -> None:
    api = leaders_only
    number = _dispatched(api)
    assert "urge" not in api.get(f"/api/events/{number}/desk-actions", who="alice")["actions"]
    api.post(f"/api/events/{number}/urge", "alice", {"instruction": "尽快", "due_at": _future(1)}, status=403)
    api.post(f"/api/events/{number}/urge", "grace", {"instruction": "尽快办理", "due_at": _future(1)})
    assert P.EVENT_URGE not in P.ROLE_PERMISSIONS[P.Role.ADMINISTRATOR]


def test_an_unknown_role_in_the_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role 'leaders'"):
        configure_roles(Settings(urge_roles=["leaders"]))
    assert P.EVENT_URGE in P.ROLE_PERMISSIONS[P.Role.DUTY_OFFICER]  # nothing changed
