"""赛马比拼 published when the district chooses (issue #20): grace (the district's leader) publishes the
towns' ranking of a period; bob (town A) and frank (town B) then see it, as it stood; before, the period is
the district's own. carol (a district department) is no town. admin is installation-wide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.domain import permissions as perms
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services.actors import forget_people
from tests.factories import World
from tests.integration.conftest import Api

PUB = "/api/evaluation/publications"


def _month(days_back: int = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_back)).astimezone(SHANGHAI).strftime("%Y-%m")


def _error(api: Api, method: str, path: str, who: str, status: int, **kw: object) -> dict[str, object]:
    """The refusal's body (its ``field``), asserting the status."""
    r = api.client.request(method, path, headers=api.headers(who), **kw)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    return dict(r.json())


def test_the_district_publishes_the_towns_ranking_and_only_then_the_towns_see_it(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    ev = api.submit()
    api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": "C500111001", "role": "lead"}]})
    api.post("/api/evaluation/refresh", "admin", {})
    period = _month()
    # unpublished: the towns see no ranking of their peers for the period, nor the publication
    for who in ("bob", "frank"):
        err = _error(api, "GET", f"/api/evaluation/publications/{period}", who, 404)
        assert err["field"] == "period", err
        err = _error(api, "GET", "/api/evaluation/rankings", who, 404,
                     params={"period": period, "by": "area", "peers": "true"})
        assert err["field"] == "period", err
    assert api.get("/api/evaluation/publications", who="bob")["items"] == []

    live = api.get("/api/evaluation/rankings", who="grace", params={"period": period, "by": "area",
                                                                    "area": "500111"})
    out = api.post("/api/evaluation/publications", "grace", {"period": period, "note": "本月赛马比拼"}, status=201)
    assert out["district"]["code"] == "500111" and out["period"] == period and out["published_by"].startswith("吴昊")
    assert out["ranking"]["ranking"] == live["ranking"] and out["towns"] == len(live["ranking"]) >= 1

    for who, own in (("bob", "500111001"), ("frank", "500111002")):
        seen = api.get(f"/api/evaluation/publications/{period}", who=who)
        assert seen["ranking"] == live["ranking"] and seen["own"] == own, seen
        assert seen["published"]["note"] == "本月赛马比拼"
        peers = api.get("/api/evaluation/rankings", who=who, params={"period": period, "by": "area", "peers": "true"})
        assert peers["ranking"] == live["ranking"] and peers["area"]["code"] == "500111"
        [item] = api.get("/api/evaluation/publications", who=who)["items"]
        assert item["period"] == period and api.get("/api/evaluation/publications", who=who)["can_publish"] is False
    assert api.get("/api/evaluation/publications", who="grace")["can_publish"] is True
    # a district department is none of the towns; another period stays private
    _error(api, "GET", f"/api/evaluation/publications/{period}", "carol", 404)
    assert api.get("/api/evaluation/publications", who="carol")["items"] == []
    _error(api, "GET", f"/api/evaluation/publications/{_month(40)}", "bob", 404)

    # the rows as they stood: later work changes the district's live ranking, not the publication
    more = api.submit(lon=105.725, lat=29.705)
    api.post(f"/api/events/{more['number']}/dispatch", "alice",
             {"units": [{"unit_code": "C500111002", "role": "lead"}]})
    with session_factory() as s:
        from shuzhi.adapters.db.tables_evaluation import EvaluationPublication

        pub = s.scalars(select(EvaluationPublication)).one()
        pub_rows = pub.ranking["ranking"]
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "evaluation.publish")).all()
        assert entry.actor.startswith("吴昊") and entry.details["period"] == period
        assert [r["code"] for r in entry.details["ranking"]] == [r["code"] for r in live["ranking"]]
    assert pub_rows == live["ranking"]
    assert api.get(f"/api/evaluation/publications/{period}", who="bob")["ranking"] == pub_rows


def test_publishing_is_refused_at_the_field(api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    period = _month()
    assert _error(api, "POST", PUB, "grace", 422,
                  json={"period": "2024-13"})["field"] == "period"
    future = (datetime.now(UTC) + timedelta(days=70)).astimezone(SHANGHAI).strftime("%Y-%m")
    assert _error(api, "POST", PUB, "grace", 422, json={"period": future})["field"] == "period"
    # installation-wide: names the district; a town is not one; an unknown area is not found
    assert _error(api, "POST", PUB, "admin", 422, json={"period": period})["field"] == "area"
    assert _error(api, "POST", PUB, "admin", 422,
                  json={"period": period, "area": "500111001"})["field"] == "area"
    assert _error(api, "POST", PUB, "admin", 404,
                  json={"period": period, "area": "599999"})["field"] == "area"
    # a town's duty officer may not; given the permission, he is still no district centre
    _error(api, "POST", PUB, "bob", 403, json={"period": period})
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER,
                        perms.ROLE_PERMISSIONS[perms.Role.DUTY_OFFICER] | {perms.EVALUATION_PUBLISH})
    forget_people()
    assert _error(api, "POST", PUB, "bob", 403, json={"period": period})["field"] == "area"
    # once, then 409 on the period (a publication is never changed)
    api.post("/api/evaluation/publications", "admin", {"period": period, "area": "500111"}, status=201)
    assert _error(api, "POST", PUB, "grace", 409, json={"period": period})["field"] == "period"
