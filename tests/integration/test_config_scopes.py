"""Configuration belongs to an area (issue #15, "Writes are scoped"): threshold rules, silences,
supervision thresholds and office hours.

People (tests/factories.py): bob is town A's duty officer, frank town B's, alice the district's
dispatcher, ada the district's configuration administrator (installation-wide, test_threshold_rules_api).
Here the towns' officers are also allowed to configure warnings, the supervision thresholds and the
calendar, so that what stops them is their area alone. A town writes its town's configuration; the
district's and the installation's it reads and does not change; another town's it does not even see.
Each refused change is checked to have left the stored configuration as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_security import AuditEntry
from shuzhi.domain import permissions as perms
from shuzhi.services.actors import forget_people
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_threshold_rules_api import RULE, admin  # noqa: F401 - the fixture
from tests.sensing_data import reading

#: A reading a minute ago (silences are checked against the warning's own time).
AT = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()


@pytest.fixture
def town_configurers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Duty officers (bob, frank) may configure warnings, supervision and calendars — within their area."""
    extra = {perms.INDICATOR_WRITE, perms.RULE_WRITE, perms.REFERENCE_WRITE}
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER,
                        perms.ROLE_PERMISSIONS[perms.Role.DUTY_OFFICER] | extra)
    forget_people()


def _rules(api: Api, who: str) -> list[str]:
    return [r["code"] for r in api.get("/api/threshold-rules", who=who)]


def _feed(api: Api, *areas: str, value: float = 3.9) -> None:
    api.post("/api/readings", "ada", {"readings": [reading("RIVER_LEVEL", AT, value, area=a) for a in areas]})


def _open_warnings(api: Api) -> dict[str, dict[str, Any]]:
    """The open warnings by area code (seen by the district)."""
    return {w["area_code"]: w for w in api.get("/api/warnings", who="alice")["items"]}


def _audit(session_factory: sessionmaker[Session], action: str, obj: str) -> list[dict[str, Any]]:
    with session_factory() as s:
        return [e.details for e in s.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                                       AuditEntry.object == obj))]


# --- threshold rules -------------------------------------------------------------------------------


def test_a_town_threshold_rule_is_written_for_his_town_only_and_never_grades_another_towns_series(
        api: Api, admin: str, town_configurers: None, session_factory: sessionmaker[Session]) -> None:  # noqa: F811
    rule = {**RULE, "for": "0s"}
    for area in ("500111002", "500111"):  # another town's, the district's
        r = api.client.post("/api/threshold-rules", json={**rule, "area": area}, headers=api.headers("bob"))
        assert r.status_code == 422 and r.json()["field"] == "$.area", r.text
    # nor may his rule copy its warnings sideways to another town's centre (up to the district it may)
    sideways = {**rule, "actions": {"yellow": {"mode": "notify", "event_class": "9001",
                                                    "copy": ["C500111", "C500111002"]}}}
    r = api.client.post("/api/threshold-rules", json=sideways, headers=api.headers("bob"))
    assert r.status_code == 422 and r.json()["field"] == "$.actions.yellow.copy[1]", r.text
    assert _rules(api, "ada") == []
    mine = api.post("/api/threshold-rules", "bob", rule, status=201)
    assert mine["area"] == "500111001"  # no area named: his own, not the whole indicator
    _feed(api, "500111001", "500111002")
    found = _open_warnings(api)
    assert found["500111001"]["rule_code"] == "RIVER" and "500111002" not in found, found
    # the change is audited with before and after
    [made] = _audit(session_factory, "threshold_rule.create", "threshold_rule:RIVER")
    assert made["before"] is None and made["after"]["area"] == "500111001"


def test_a_town_reads_the_districts_threshold_rules_but_neither_sees_nor_changes_another_towns(
        api: Api, admin: str, town_configurers: None) -> None:  # noqa: F811
    api.post("/api/threshold-rules", "ada", {**RULE, "code": "RIVER-ALL"}, status=201)  # the indicator's default
    api.post("/api/threshold-rules", "bob", {**RULE, "code": "RIVER-A"}, status=201)
    assert [(r["code"], r["editable"]) for r in api.get("/api/threshold-rules", who="bob")] == [
        ("RIVER-A", True), ("RIVER-ALL", False)]
    assert _rules(api, "frank") == ["RIVER-ALL"]
    assert [r["code"] for r in api.get("/api/threshold-rules?indicator=RIVER_LEVEL", who="frank")] == ["RIVER-ALL"]
    assert _rules(api, "alice") == ["RIVER-A", "RIVER-ALL"]  # the district sees its towns' rules
    changed = {**RULE, "code": "RIVER-A", "for": "1m"}
    api.get("/api/threshold-rules/RIVER-A", status=404, who="frank")
    assert api.request("PUT", "/api/threshold-rules/RIVER-A", "frank", 404, json=changed)["detail"] == \
        api.request("PUT", "/api/threshold-rules/NOPE", "frank", 404, json={**changed, "code": "NOPE"})[
            "detail"].replace("NOPE", "RIVER-A")
    api.request("DELETE", "/api/threshold-rules/RIVER-A", "frank", 404)
    # frank's import may not take bob's rule over
    body = api.request("POST", "/api/threshold-rules/import", "frank", 422,
                       files={"file": ("r.json", b'{"rules": [{"code": "RIVER-A", "indicator": "RIVER_LEVEL", '
                                                 b'"conditions": [{"kind": "value", "op": "above", '
                                                 b'"levels": {"red": 9}}]}]}', "application/json")})
    assert body["details"][0]["path"] == "$[0].code", body
    # the default is read by the towns but changed by an installation-wide author only
    r = api.client.put("/api/threshold-rules/RIVER-ALL", json={**RULE, "code": "RIVER-ALL", "for": "1m"},
                       headers=api.headers("bob"))
    assert r.status_code == 403 and r.json()["field"] == "area", r.text
    api.request("DELETE", "/api/threshold-rules/RIVER-ALL", "bob", 403)
    assert api.get("/api/threshold-rules/RIVER-A", who="bob")["for"] == "5m"
    assert api.get("/api/threshold-rules/RIVER-ALL", who="bob")["for"] == "5m"
    exported = api.get("/api/threshold-rules/export?format=json", who="frank")
    assert [d["code"] for d in exported["rules"]] == ["RIVER-ALL"]
    # bob changes his own; his rule keeps its area when the body names none
    assert api.request("PUT", "/api/threshold-rules/RIVER-A", "bob", 200, json=changed)["area"] == "500111001"


# --- silences --------------------------------------------------------------------------------------


def test_a_town_officer_cannot_silence_another_towns_warnings(
        api: Api, admin: str, town_configurers: None, session_factory: sessionmaker[Session]) -> None:  # noqa: F811
    api.post("/api/threshold-rules", "ada", {**RULE, "for": "0s"}, status=201)
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = api.client.post("/api/warning-silences", headers=api.headers("bob"), json={
        "ends_at": until, "comment": "施工", "matcher": {"indicators": ["RIVER_LEVEL"], "area": "500111002"}})
    assert r.status_code == 422 and r.json()["field"] == "matcher.area", r.text
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    mine = api.post("/api/warning-silences", "bob", {"starts_at": since, "ends_at": until, "comment": "龙岗管网施工",
                                                     "matcher": {"indicators": ["RIVER_LEVEL"]}}, status=201)
    assert mine["matcher"]["area"] == "500111001"  # no area named: his own town, not everywhere
    _feed(api, "500111001", "500111002")
    found = _open_warnings(api)
    assert found["500111001"]["suppressed"]["kind"] == "silence", found
    assert found["500111002"]["suppressed"] is None, found
    [made] = _audit(session_factory, "silence.create", f"silence:{mine['id']}")
    assert made["before"] is None and made["after"]["matcher"]["area"] == "500111001"


def test_a_town_officer_ends_his_towns_silences_only(api: Api, admin: str, town_configurers: None) -> None:  # noqa: F811
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"ends_at": until, "comment": "施工", "matcher": {"indicators": ["RIVER_LEVEL"]}}
    bobs = api.post("/api/warning-silences", "bob", body, status=201)
    districts = api.post("/api/warning-silences", "ada", {**body, "matcher": {"indicators": ["RIVER_LEVEL"],
                                                                             "area": "500111"}}, status=201)
    # frank sees the district's silence (it holds back his warnings too), read-only, but not bob's
    assert [(x["id"], x["editable"]) for x in api.get("/api/warning-silences", who="frank")] == [
        (districts["id"], False)]
    assert api.request("DELETE", f"/api/warning-silences/{bobs['id']}", "frank", 404)["detail"] == \
        api.request("DELETE", "/api/warning-silences/999999", "frank", 404)["detail"].replace(
            "999999", str(bobs["id"]))
    r = api.client.delete(f"/api/warning-silences/{districts['id']}", headers=api.headers("bob"))
    assert r.status_code == 403 and r.json()["field"] == "matcher.area", r.text
    assert {x["id"]: x["active"] for x in api.get("/api/warning-silences", who="alice")} == {
        bobs["id"]: True, districts["id"]: True}
    assert api.request("DELETE", f"/api/warning-silences/{bobs['id']}", "bob", 200)["active"] is False


def test_inhibitions_are_written_by_an_installation_wide_author_only(
        api: Api, admin: str, town_configurers: None) -> None:  # noqa: F811
    doc = {"source": {"indicators": ["OUTAGES"]}, "target": {"indicators": ["RIVER_LEVEL"]}, "scope": "any"}
    api.request("PUT", "/api/warning-inhibitions/PUMPS", "bob", 403, json=doc)
    api.request("PUT", "/api/warning-inhibitions/PUMPS", "ada", 200, json=doc)
    api.request("DELETE", "/api/warning-inhibitions/PUMPS", "bob", 403)
    assert [x["code"] for x in api.get("/api/warning-inhibitions", who="bob")] == ["PUMPS"]


# --- supervision thresholds (reminder percentages, cards) ------------------------------------------


def _reminders(api: Api, session_factory: sessionmaker[Session], unit: str, lon_lat: tuple[float, float]) -> set[str]:
    """The reminder steps planned for a new task of ``unit`` on an event at ``lon_lat``."""
    from shuzhi.adapters.db.tables_supervision import SupervisionClock

    ev = api.submit(who="alice", lon=lon_lat[0], lat=lon_lat[1])
    ev = api.post(f"/api/events/{ev['number']}/dispatch", "alice", {"units": [{"unit_code": unit, "role": "lead"}]})
    with session_factory() as s:
        plan = s.scalar(select(SupervisionClock.plan).where(SupervisionClock.task_id == api.task(ev, unit)["id"]))
    return {step for step, _due, _deadline in plan or () if step.startswith("remind")}


def test_a_town_sets_supervision_thresholds_for_his_towns_tasks_only(
        api: Api, world: World, town_configurers: None, session_factory: sessionmaker[Session]) -> None:
    for area in ("500111002", "500111"):
        r = api.client.put("/api/supervision/rules", json={"remind_at": [0.5], "area_code": area},
                           headers=api.headers("bob"))
        assert r.status_code == 422 and r.json()["field"] == "area_code", r.text
    mine = api.request("PUT", "/api/supervision/rules", "bob", 200, json={"remind_at": [0.5]})
    assert (mine["area_code"], mine["remind_at"]) == ("500111001", [0.5])
    # town B's tasks keep the thresholds they had; town A's follow bob's
    assert api.get("/api/supervision/rules", who="frank")["remind_at"] == [0.7, 0.9]
    assert _reminders(api, session_factory, "C500111002", World.B1) == {"remind_70", "remind_90"}
    assert _reminders(api, session_factory, "C500111001", World.A1) == {"remind_50"}
    [made] = _audit(session_factory, "supervision_rules.put", "supervision_rules:500111001")
    assert made["before"]["remind_at"] == [0.7, 0.9] and made["after"]["remind_at"] == [0.5]
    # the district sets its own: town B follows them, town A keeps its own
    api.request("PUT", "/api/supervision/rules", "alice", 200, json={"remind_at": [0.6]})
    theirs = api.get("/api/supervision/rules", who="frank")
    assert (theirs["area_code"], theirs["remind_at"]) == ("500111", [0.6])
    assert api.get("/api/supervision/rules", who="bob")["remind_at"] == [0.5]
    assert _reminders(api, session_factory, "C500111002", World.B1) == {"remind_60"}


def test_a_town_neither_sees_another_towns_thresholds_nor_changes_the_districts(
        api: Api, world: World, town_configurers: None) -> None:
    api.request("PUT", "/api/supervision/rules", "bob", 200, json={"remind_at": [0.5]})
    api.request("PUT", "/api/supervision/rules", "alice", 200, json={"remind_at": [0.6]})
    api.get("/api/supervision/rules?area_code=500111001", status=404, who="frank")
    assert api.get("/api/supervision/rules?area_code=500111001", who="alice")["remind_at"] == [0.5]
    assert [(x["area_code"], x["editable"]) for x in api.get("/api/supervision/rule-sets", who="frank")] == [
        ("500111", False)]
    assert [(x["area_code"], x["editable"]) for x in api.get("/api/supervision/rule-sets", who="bob")] == [
        ("500111", False), ("500111001", True)]
    api.request("DELETE", "/api/supervision/rules/500111001", "frank", 404)
    r = api.client.delete("/api/supervision/rules/500111", headers=api.headers("bob"))
    assert r.status_code == 403 and r.json()["field"] == "area_code", r.text
    assert api.get("/api/supervision/rules", who="frank")["remind_at"] == [0.6]
    # bob drops his own: his town follows the district's again
    assert api.request("DELETE", "/api/supervision/rules/500111001", "bob", 200)["remind_at"] == [0.6]


# --- calendars and office hours --------------------------------------------------------------------


def test_a_town_sets_his_own_centres_office_hours_and_never_another_towns_or_the_national_calendar(
        api: Api, world: World, town_configurers: None, session_factory: sessionmaker[Session]) -> None:
    hours = {"office_hours": "08:30-12:00，14:30-17:30"}
    for centre in ("C500111002", "C500111"):  # another town's centre, the district's
        r = api.client.put(f"/api/calendar/office-hours/{centre}", json=hours, headers=api.headers("bob"))
        assert r.status_code == 403 and r.json()["field"] == "centre_code", r.text
        assert api.get(f"/api/calendar/office-hours/{centre}", who="bob")["own"] is False
    mine = api.request("PUT", "/api/calendar/office-hours/C500111001", "bob", 200, json=hours)
    assert mine["own"] is True and mine["office_hours"].startswith("08:30")
    [made] = _audit(session_factory, "office_hours.set", "centre:C500111001")
    assert made["before"] is None and "08:30" in made["after"]
    # the State Council's holiday years are the same for every area: entered installation-wide only
    r = api.client.put("/api/calendar/years/2027", json={"holidays": ["2027-01-01"]}, headers=api.headers("bob"))
    assert r.status_code == 403 and r.json()["field"] == "year", r.text
    assert api.get("/api/calendar/years/2027", who="bob")["source"] != "admin"
    api.request("DELETE", "/api/calendar/years/2027", "bob", 403)
    api.request("PUT", "/api/calendar/years/2027", "admin", 200, json={"holidays": ["2027-01-01"]})
