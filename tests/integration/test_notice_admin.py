"""The notice pages' API: an administrator disables, enables and removes a unit's group robot (audited,
the secret never shown whole), a town's notice administrator sees and changes only his town's robots,
escalation policies are refused at the field, and a person's notices carry their chain's state so that
the page can offer to acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Unit
from shuzhi.adapters.db.tables_notices import NoticeRobot
from shuzhi.domain.permissions import NOTICE_ADMIN
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.notices import escalation
from shuzhi.services.notices import queries as notices
from shuzhi.services.security.authz import Forbidden
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
DING = "https://oapi.dingtalk.com/robot/send?access_token=tok-very-secret"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=key-very-secret"


def _audit(api: Api, action: str) -> list[dict[str, object]]:
    return list(api.get("/api/audit", who="audrey", params={"action": action}))


def _robot(api: Api, unit: str = "C500111001", kind: str = "dingtalk", name: str = "龙岗钉钉群") -> dict[str, object]:
    body = {"unit_code": unit, "kind": kind, "name": name, "webhook_url": DING if kind == "dingtalk" else WECOM,
            "secret": SECRET if kind == "dingtalk" else None}
    return api.post("/api/notice-robots", "admin", body, status=201)  # type: ignore[no-any-return]


def test_a_robot_is_listed_masked_disabled_enabled_and_removed_with_audit_lines(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    made = _robot(api)
    assert made["secret"] == "SEC********abcd" and made["webhook"] == "https://oapi.dingtalk.com/robot/send?…"
    listed = api.get("/api/notice-robots", who="admin")
    assert [r["name"] for r in listed] == ["龙岗钉钉群"]
    text = str(listed)
    assert SECRET not in text and "tok-very-secret" not in text and "0123456789" not in text

    off = api.request("PATCH", f"/api/notice-robots/{made['id']}", "admin", json={"enabled": False})
    assert off["enabled"] is False
    with session_factory() as s:
        assert s.get(NoticeRobot, made["id"]).enabled is False  # type: ignore[union-attr]
    on = api.request("PATCH", f"/api/notice-robots/{made['id']}", "admin", json={"enabled": True, "name": "龙岗值班群"})
    assert on["enabled"] is True and on["name"] == "龙岗值班群"
    assert [e["object"] for e in _audit(api, "notice.robot.disable")] == [f"notice_robot:{made['id']}"]
    assert len(_audit(api, "notice.robot.enable")) == 1 and len(_audit(api, "notice.robot.rename")) == 1

    api.request("DELETE", f"/api/notice-robots/{made['id']}", "admin", status=204)
    assert api.get("/api/notice-robots", who="admin") == []
    with session_factory() as s:
        assert s.get(NoticeRobot, made["id"]) is None  # the key left the database
    removed = _audit(api, "notice.robot.remove")
    assert len(removed) == 1 and SECRET not in str(removed)
    # gone is gone: a second delete, or a change, is 404 with nothing written
    api.request("DELETE", f"/api/notice-robots/{made['id']}", "admin", status=404)
    api.request("PATCH", f"/api/notice-robots/{made['id']}", "admin", json={"enabled": False}, status=404)


def test_only_notice_administrators_change_robots(api: Api, world: World) -> None:
    made = _robot(api)
    for who in ("alice", "bob", "grace"):
        api.request("PATCH", f"/api/notice-robots/{made['id']}", who, json={"enabled": False}, status=403)
        api.request("DELETE", f"/api/notice-robots/{made['id']}", who, status=403)
        api.get("/api/notice-robots", who=who, status=403)
    assert api.get("/api/notice-robots", who="admin")[0]["enabled"] is True


def test_bad_robots_are_refused_at_their_field(api: Api, world: World) -> None:
    cases = [({"kind": "slack"}, "kind"), ({"webhook_url": "ftp://x.example/send?key=1"}, "webhook_url"),
             ({"kind": "wecom", "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "webhook_url"),
             ({"unit_code": "NOPE"}, "unit_code"), ({"name": "   "}, "name"), ({"name": ""}, "name")]
    for patch, field in cases:
        body = {"unit_code": "C500111001", "kind": "dingtalk", "name": "x", "webhook_url": DING, **patch}
        r = api.post("/api/notice-robots", "admin", body, status=422)
        assert r["field"] == field, (patch, r)
    r = api.request("PATCH", "/api/notice-robots/1", "admin", json={"name": ""}, status=422)
    assert r["field"] == "name"
    assert api.get("/api/notice-robots", who="admin") == []


def _town_admin(s: Session, world: World) -> Actor:
    """A notice administrator of town A only (a city may give notice.admin to a town centre's role)."""
    unit = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
    return Actor(code="tadmin", name="镇管理员", person_id=None, unit_id=unit.id, role="administrator",
                 permissions=frozenset({NOTICE_ADMIN}), area_paths=(world.areas["500111001"].path,))


def test_a_town_notice_administrator_sees_and_changes_only_his_towns_robots(
        api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    mine = _robot(api, "C500111001", "wecom", "龙岗群")
    theirs = _robot(api, "C500111002", "wecom", "棠香群")
    uow = UnitOfWork(session_factory)
    with session_factory() as s:
        town = _town_admin(s, world)
    assert [r["name"] for r in notices.list_robots(uow, town)] == ["龙岗群"]
    assert notices.update_robot(uow, town, int(str(mine["id"])), enabled=False)["enabled"] is False
    with pytest.raises(NotFound):
        notices.update_robot(uow, town, int(str(theirs["id"])), enabled=False)
    with pytest.raises(NotFound):
        notices.remove_robot(uow, town, int(str(theirs["id"])))
    with pytest.raises(Invalid) as bad:
        notices.add_robot(uow, town, unit_code="C500111002", kind="wecom", name="x", webhook_url=WECOM, secret=None)
    assert bad.value.field == "unit_code"
    # installation-wide policies are not a town's to set
    with pytest.raises(Forbidden):
        notices.put_policy(uow, town, "red-warning", name="红色预警", kind="warning.red",
                           steps=[{"after_minutes": 0, "who": ["duty_officer"], "channels": ["sms"]}])
    assert [r["enabled"] for r in api.get("/api/notice-robots", who="admin")] == [False, True]


@pytest.mark.parametrize(("steps", "field"), [
    ([], "steps"),
    ([{"after_minutes": 10, "who": ["duty_officer"], "channels": ["sms"]},
      {"after_minutes": 5, "who": ["unit_leader"], "channels": ["sms"]}], "steps[1].after_minutes"),
    ([{"after_minutes": 0, "who": ["duty_officer"], "channels": ["sms", "fax"]}], "steps[0].channels[1]"),
    ([{"after_minutes": 0, "who": ["janitor"], "channels": ["sms"]}], "steps[0].who[0]"),
    ([{"after_minutes": 0, "who": [], "channels": ["sms"]}], "steps[0].who"),
    ([{"after_minutes": "soon", "who": ["duty_officer"], "channels": ["sms"]}], "steps[0].after_minutes"),
    ([{"after_minutes": 20000, "who": ["duty_officer"], "channels": ["sms"]}], "steps[0].after_minutes"),
])
def test_a_bad_policy_is_refused_at_the_field_and_changes_nothing(api: Api, world: World, steps: list[object],
                                                                   field: str) -> None:
    before = {p["code"]: p for p in api.get("/api/escalation-policies", who="admin")}
    r = api.request("PUT", "/api/escalation-policies/red-warning", "admin", status=422,
                    json={"name": "红色预警", "kind": "warning.red", "steps": steps})
    assert r["field"] == field, r
    after = {p["code"]: p for p in api.get("/api/escalation-policies", who="admin")}
    assert after == before


def test_a_good_policy_is_saved_listed_and_guarded_by_its_version(api: Api, world: World) -> None:
    red = next(p for p in api.get("/api/escalation-policies", who="bob") if p["code"] == "red-warning")
    steps = [{"after_minutes": 0, "who": ["duty_officer", "unit"], "channels": ["sms", "inapp"]},
             {"after_minutes": 5, "who": ["task_holder"], "channels": ["im", "inapp"]},
             {"after_minutes": 20, "who": ["leader_in_charge"], "channels": ["sms"]}]
    saved = api.request("PUT", "/api/escalation-policies/red-warning", "admin",
                        json={"name": "红色预警（夜间）", "kind": "warning.red", "steps": steps,
                              "expected_version": red["version"]})
    assert saved["version"] == red["version"] + 1 and saved["steps"][1]["who"] == ["task_holder"]
    listed = next(p for p in api.get("/api/escalation-policies", who="bob") if p["code"] == "red-warning")
    assert listed["name"] == "红色预警（夜间）" and [s["after_minutes"] for s in listed["steps"]] == [0, 5, 20]
    stale = api.request("PUT", "/api/escalation-policies/red-warning", "admin", status=409,
                        json={"name": "x", "kind": "warning.red", "steps": steps, "expected_version": red["version"]})
    assert stale["field"] == "expected_version"
    api.request("PUT", "/api/escalation-policies/red-warning", "bob", status=403,
                json={"name": "x", "kind": "warning.red", "steps": steps})
    blank = api.request("PUT", "/api/escalation-policies/red-warning", "admin", status=422,
                        json={"name": " ", "kind": "warning.red", "steps": steps})
    assert blank["field"] == "name"
    assert any(e["object"] == "escalation_policy:red-warning" for e in _audit(api, "notice.policy.put"))


def test_a_persons_notices_carry_their_chains_state(api: Api, world: World,
                                                      session_factory: sessionmaker[Session]) -> None:
    event = api.submit(who="bob")
    with session_factory() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
        chain = escalation.start_chain(s, kind="warning.red", subject="gauge-1", unit=unit, event_id=event["id"],
                                       at=datetime.now(UTC), context={"number": event["number"], "place": "龙岗"})
        assert chain is not None
        s.commit()
    mine = api.get("/api/notices/mine", who="bob")
    assert mine and {(n["chain_state"], n["number"]) for n in mine} == {("open", event["number"])}
    assert api.get("/api/people/bob/notices", who="admin")[0]["chain_state"] == "open"
    api.post(f"/api/notice-chains/{mine[0]['chain_id']}/ack", "bob")
    assert {n["chain_state"] for n in api.get("/api/notices/mine", who="bob")} == {"acknowledged"}
    # frank (town B) does not see bob's notices; bob sees nobody else's
    api.get("/api/people/bob/notices", who="frank", status=404)
    api.get("/api/people/frank/notices", who="bob", status=404)


def test_the_notice_pages_render_in_chinese_and_every_label_they_use_exists(api: Api, world: World) -> None:
    import re

    from shuzhi.entrypoints.web import pages
    from shuzhi.entrypoints.web.messages_zh import MESSAGES

    for path, heading in [("/notices", "nu.settings.title"), ("/notices/admin", "nu.policies.title")]:
        r = api.client.get(path)
        assert r.status_code == 200 and 'lang="zh-CN"' in r.text, path
        assert MESSAGES[heading] in r.text and MESSAGES["nu.link.mine"] in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
    used: set[str] = set()
    for name in ("my_notices.js", "notice_admin.js", "notice_list.js", "field_errors.js"):
        text = (pages.STATIC / "js" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", text))
        used |= set(re.findall(r"""["'](nu\.err\.\w+)["']""", text))
    missing = sorted(k for k in used if k not in MESSAGES)
    assert len(used) > 40 and not missing, missing
    # keys built at run time: kinds, receipt kinds, who, channels, chain states
    from shuzhi.domain import notices as rules

    built = ([f"nu.kind.{k.value}" for k in rules.NoticeKind] + [f"notices.who.{w.value}" for w in rules.Who]
             + [f"notices.channel.{c.value}" for c in rules.Channel]
             + [f"nu.receipt.{k}" for k in ("submitted", "dlr", "retry", "failed", "reply", "ack", "escalated")]
             + [f"notices.chain.{s}" for s in ("open", "acknowledged", "exhausted", "cancelled")])
    assert not [k for k in built if k not in MESSAGES]
