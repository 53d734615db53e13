"""Each channel on its own: SMS failures retried and reported, a gateway restart, the group robots
against a receiver that checks WeCom's and DingTalk's documented formats and signatures, rate limits and
de-duplication, quiet hours, the short link, the callbacks' credentials."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters import im_robots
from shuzhi.adapters.db.tables import Event, Person, TimelineEntry, Unit
from shuzhi.adapters.db.tables_notices import Notice, NoticeChain, NoticeReceipt, NoticeRobot, NoticeSetting
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.adapters.kannel_local import free_port
from shuzhi.services.notices import escalation
from shuzhi.services.notices import sender as notice_sender
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.live_notices import Live, wait_until

T = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)  # 03:00 in Chongqing
ONE_STEP = [{"after_minutes": 0, "who": ["duty_officer"], "channels": ["sms", "im", "inapp"]},
            {"after_minutes": 30, "who": ["unit_leader"], "channels": ["sms"]}]


def _event(sf: sessionmaker[Session], api: Api) -> int:
    created = api.submit(who="bob")
    return int(created["id"])


def _phones(sf: sessionmaker[Session], **phones: str) -> None:
    with sf() as s:
        for code, phone in phones.items():
            s.execute(update(Person).where(Person.code == code).values(phone=phone))
        s.commit()


def _chain(sf: sessionmaker[Session], *, subject: str = "s1", kind: str = "warning.red", event_id: int | None = None,
           at: datetime = T, unit: str = "C500111001") -> int:
    with sf() as s:
        u = s.scalars(select(Unit).where(Unit.code == unit)).one()
        chain = escalation.start_chain(s, kind=kind, subject=subject, unit=u, event_id=event_id, at=at,
                                       context={"number": "500111-20261207-000001", "class_name": "河道水位",
                                                "place": "龙岗街道", "level": "红色"})
        assert chain is not None
        s.commit()
        return chain.id


def _notices(sf: sessionmaker[Session], channel: str | None = None) -> list[Notice]:
    with sf() as s:
        q = select(Notice).order_by(Notice.id)
        return list(s.scalars(q.where(Notice.channel == channel) if channel else q))


def _policy(api: Api, steps: list[dict[str, Any]], code: str = "red-warning", kind: str = "warning.red") -> None:
    api.request("PUT", f"/api/escalation-policies/{code}", "admin", 200, json={"name": "测试", "kind": kind,
                                                                               "steps": steps})


def test_a_number_the_carrier_cannot_reach_fails_at_once_and_is_reported(
        kannel_live: Live, api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    uf = lambda: UnitOfWork(session_factory)  # noqa: E731
    _policy(api, ONE_STEP)
    _phones(session_factory, bob=kannel_live.kannel.dead_prefix + "1234")
    event_id = _event(session_factory, api)
    chain_id = _chain(session_factory, event_id=event_id)
    notice_sender.send_due(uf, T, kannel_live.gateways())
    [sms] = _notices(session_factory, "sms")
    assert (sms.state, sms.attempts) == ("failed", 1) and "Not routable" in (sms.last_error or "")
    with session_factory() as s:
        kinds = [r.kind for r in s.scalars(select(NoticeReceipt).where(NoticeReceipt.notice_id == sms.id))]
        assert kinds == ["failed"]
        assert s.scalars(select(TimelineEntry.action).where(TimelineEntry.event_id == event_id,
                                                            TimelineEntry.action == "notice.failed")).all()
        # the town desk hears of it, and the chain does not wait 30 minutes for its next step
        assert s.scalars(select(Notification).where(Notification.kind == "notice.failed")).all()
        assert s.get(NoticeChain, chain_id).next_step_at == T  # type: ignore[union-attr]


def test_a_gateway_away_is_retried_until_it_is_back_then_reported_when_it_never_comes(
        kannel_live: Live, api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    uf = lambda: UnitOfWork(session_factory)  # noqa: E731
    gw = kannel_live.gateways(backoff_base=timedelta(seconds=1))
    _policy(api, ONE_STEP)
    _phones(session_factory, bob="13800000001", frank="13800000002")
    kannel_live.kannel.stop_gateway()
    _chain(session_factory, subject="a")
    notice_sender.send_due(uf, T, gw)
    [sms] = _notices(session_factory, "sms")
    assert (sms.state, sms.attempts) == ("queued", 1) and sms.next_attempt_at == T + timedelta(seconds=1)
    notice_sender.send_due(uf, T + timedelta(seconds=1), gw)
    assert _notices(session_factory, "sms")[0].attempts == 2
    kannel_live.kannel.start_gateway()
    kannel_live.kannel.start_carrier()
    notice_sender.send_due(uf, T + timedelta(seconds=3), gw)
    wait_until(lambda: notice_sender.send_due(uf, T + timedelta(seconds=3), gw) >= 0
               and _notices(session_factory, "sms")[0].state == "delivered", what="the retried SMS delivered")
    with session_factory() as s:
        kinds = [r.kind for r in s.scalars(select(NoticeReceipt).where(NoticeReceipt.notice_id == sms.id)
                                           .order_by(NoticeReceipt.id))]
    assert kinds[:2] == ["retry", "retry"] and kinds.count("submitted") == 1 and kinds.count("dlr") == 2
    assert [m.receiver for m in kannel_live.kannel.received()] == ["13800000001"]

    # never back: after max_attempts it is failed and reported
    kannel_live.kannel.stop_gateway()
    _chain(session_factory, subject="b", unit="C500111002")
    with session_factory() as s:
        s.execute(update(Notice).where(Notice.address == "13800000002").values(max_attempts=3))
        s.commit()
    for k in range(3):
        notice_sender.send_due(uf, T + timedelta(seconds=10 * (k + 1)), gw)
    franks = [n for n in _notices(session_factory, "sms") if n.address == "13800000002"]
    assert (franks[0].state, franks[0].attempts) == ("failed", 3)


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A WeCom / DingTalk robot endpoint: checks the credential, signature and body as documented."""

    got: list[tuple[str, dict[str, Any]]] = []
    wecom_key = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
    ding_token = "tok123"
    ding_secret = "SEC0123456789abcdef"

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
        if url.path == "/cgi-bin/webhook/send":
            ok = query.get("key") == [self.wecom_key] and im_robots.check_wecom_body(body) is None
            kind = "wecom"
        else:
            ok = (query.get("access_token") == [self.ding_token]
                  and im_robots.verify_dingtalk(self.ding_secret, query["timestamp"][0], query["sign"][0])
                  and im_robots.check_dingtalk_body(body) is None)
            kind = "dingtalk"
        answer = {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
        if ok:
            _Receiver.got.append((kind, body))
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def robots_endpoint() -> Iterator[str]:
    _Receiver.got = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_group_robots_speak_wecom_and_dingtalk_with_their_signatures(
        api: Api, world: World, session_factory: sessionmaker[Session], robots_endpoint: str) -> None:
    uf = lambda: UnitOfWork(session_factory)  # noqa: E731
    _policy(api, ONE_STEP)
    _phones(session_factory, bob="13800000001")
    api.post("/api/notice-robots", "admin", {"unit_code": "C500111001", "kind": "wecom", "name": "龙岗值班群",
                                             "webhook_url": f"{robots_endpoint}/cgi-bin/webhook/send?key="
                                                            f"{_Receiver.wecom_key}"}, status=201)
    api.post("/api/notice-robots", "admin", {"unit_code": "C500111001", "kind": "dingtalk", "name": "龙岗钉钉群",
                                             "webhook_url": f"{robots_endpoint}/robot/send?access_token="
                                                            f"{_Receiver.ding_token}",
                                             "secret": _Receiver.ding_secret}, status=201)
    bad = api.post("/api/notice-robots", "admin", {"unit_code": "C500111001", "kind": "wecom", "name": "x",
                                                   "webhook_url": f"{robots_endpoint}/cgi-bin/webhook/send"},
                   status=422)
    assert bad["field"] == "webhook_url"
    listed = api.get("/api/notice-robots", who="admin")
    assert all(r["webhook"].endswith("?…") for r in listed)  # keys are credentials: never shown
    _chain(session_factory)
    notice_sender.send_due(uf, T, notice_sender.Gateways())
    im = _notices(session_factory, "im")
    assert [n.state for n in im] == ["submitted", "submitted"]
    kinds = sorted(k for k, _ in _Receiver.got)
    assert kinds == ["dingtalk", "wecom"]
    wecom = next(b for k, b in _Receiver.got if k == "wecom")
    ding = next(b for k, b in _Receiver.got if k == "dingtalk")
    assert wecom["text"]["mentioned_mobile_list"] == ["13800000001"] and "红色预警" in wecom["text"]["content"]
    assert ding["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert ding["text"]["content"].endswith("@13800000001")
    # a robot whose secret is wrong is refused by the platform: a permanent failure, reported
    with session_factory() as s:
        s.execute(update(NoticeRobot).where(NoticeRobot.kind == "dingtalk").values(secret="SECwrong"))
        s.commit()
    _chain(session_factory, subject="again", unit="C500111001", at=T + timedelta(hours=2))
    notice_sender.send_due(uf, T + timedelta(hours=2), notice_sender.Gateways())
    failed = [n for n in _notices(session_factory, "im") if n.state == "failed"]
    assert len(failed) == 1 and "310000" in (failed[0].last_error or "")


def test_dingtalk_signature_is_the_documented_one() -> None:
    # HmacSHA256(key=secret, "timestamp\nsecret"), base64, URL-encoded
    import base64
    import hashlib
    import hmac

    ts, secret = 1577808000000, "SECabc"
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    assert im_robots.dingtalk_sign(secret, ts) == urllib.parse.quote_plus(expected.decode())
    assert im_robots.verify_dingtalk(secret, str(ts), expected.decode(), now_ms=ts + 1000)
    assert not im_robots.verify_dingtalk(secret, str(ts), expected.decode(), now_ms=ts + 3_700_000)  # stale
    assert im_robots.check_wecom_body({"msgtype": "text", "text": {"content": "x" * 2049}}) is not None


def test_a_storm_is_not_a_storm_of_sms(api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    _phones(session_factory, bob="13800000001")
    first = _chain(session_factory, subject="river")
    assert _chain(session_factory, subject="river", at=T + timedelta(minutes=5)) == first  # de-duplicated
    for i in range(10):
        _chain(session_factory, subject=f"s{i}", at=T + timedelta(minutes=1))
    sms = _notices(session_factory, "sms")
    assert len(sms) == 11
    assert [n.state for n in sms].count("queued") == 6  # the limit: 6 SMS a person in 10 minutes
    assert {n.reason for n in sms if n.state == "suppressed"} == {"rate_limited"}
    # bob's inbox still holds every one (and the town desk's)
    inbox = [n for n in _notices(session_factory, "inapp") if n.state == "delivered"]
    assert len([n for n in inbox if n.who == "duty_officer"]) == len([n for n in inbox if n.who == "unit"]) == 11


def test_quiet_hours_hold_back_what_is_not_urgent(api: Api, world: World,
                                                  session_factory: sessionmaker[Session]) -> None:
    _phones(session_factory, bob="13800000001")
    with session_factory() as s:
        bob = s.scalars(select(Person).where(Person.code == "bob")).one()
        s.add(NoticeSetting(person_id=bob.id, channels=["sms", "inapp"], quiet_start="22:00", quiet_end="07:00",
                            updated_by="bob"))
        s.commit()
    _chain(session_factory, kind="warning.orange")
    _chain(session_factory, kind="warning.red", subject="s2")
    orange, red = _notices(session_factory, "sms")
    assert orange.next_attempt_at is not None and orange.next_attempt_at.astimezone(
        escalation.rules.LOCAL).strftime("%H:%M") == "07:00"
    assert red.next_attempt_at == T  # a red warning wakes the duty officer


def test_the_short_link_acknowledges(api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    _phones(session_factory, bob="13800000001")
    event_id = _event(session_factory, api)
    chain_id = _chain(session_factory, event_id=event_id)
    sms = _notices(session_factory, "sms")[0]
    assert "红色预警" in api.client.get(f"/n/{sms.code}").text
    assert "确认收到" in api.client.get(f"/n/{sms.code.lower()}").text
    page = api.client.post(f"/n/{sms.code}")
    assert page.status_code == 200 and "已确认" in page.text
    assert "此通知已被确认" in api.client.post(f"/n/{sms.code}").text
    assert api.client.get("/n/NOSUCH99").status_code == 404
    with session_factory() as s:
        chain = s.get(NoticeChain, chain_id)
        assert chain is not None
        assert (chain.state, chain.ack_channel, chain.acked_by) == ("acknowledged", "link", "李波")
        [entry] = s.scalars(select(TimelineEntry).where(TimelineEntry.event_id == event_id,
                                                        TimelineEntry.action == "notice.acknowledged")).all()
        assert "通过短链接确认" in (entry.reason or "") and entry.actor == "李波(bob)"
        assert {n.state for n in s.scalars(select(Notice).where(Notice.chain_id == chain_id, Notice.step == 1))} \
            <= {"cancelled"}
    # the page: acknowledging again is a conflict, and the event's notices show it
    conflict = api.post(f"/api/notice-chains/{chain_id}/ack", "bob", status=409)
    assert conflict["field"] == "chain_id"
    with session_factory() as s:
        number = s.get(Event, event_id).number  # type: ignore[union-attr]
    listed = api.get(f"/api/events/{number}/notices", who="bob")
    assert listed["chains"][0]["acked_by"] == "李波"


def test_the_callbacks_need_their_credentials(api: Api, world: World, session_factory: sessionmaker[Session]) -> None:
    chain_id = _chain(session_factory)
    assert chain_id
    sms = _notices(session_factory, "sms")
    notice_id = sms[0].id if sms else 1
    r = api.client.get("/api/notices/sms/dlr", params={"notice": notice_id, "attempt": 1, "token": "forged",
                                                        "type": 1})
    assert r.status_code == 404
    r = api.client.get("/api/notices/sms/mo", params={"key": "forged", "from": "13800000001", "text": "1"})
    assert r.status_code == 404
    with session_factory() as s:
        assert s.get(NoticeChain, chain_id).state == "open"  # type: ignore[union-attr]


def test_policies_are_checked_when_saved_and_settings_are_ones_own(api: Api, world: World) -> None:
    bad = api.request("PUT", "/api/escalation-policies/red-warning", "admin", 422,
                      json={"name": "x", "kind": "warning.red", "steps": [{"after_minutes": 0, "who": ["boss"],
                                                                          "channels": ["sms"]}]})
    assert bad["field"] == "steps[0].who[0]"
    api.request("PUT", "/api/escalation-policies/red-warning", "bob", 403,
                json={"name": "x", "kind": "warning.red", "steps": ONE_STEP})
    codes = {p["code"] for p in api.get("/api/escalation-policies", who="bob")}
    assert {"red-warning", "orange-warning", "plan-activated"} <= codes
    mine = api.request("PUT", "/api/notices/settings/mine", "bob", 200,
                       json={"channels": ["sms"], "quiet_start": "22:00", "quiet_end": "07:00"})
    assert mine["channels"] == ["inapp", "sms"] and mine["quiet_start"] == "22:00"
    bad = api.request("PUT", "/api/notices/settings/mine", "bob", 422, json={"channels": ["fax"]})
    assert bad["field"] == "channels[0]"
    bad = api.request("PUT", "/api/notices/settings/mine", "bob", 422,
                      json={"channels": ["sms"], "quiet_start": "25:00", "quiet_end": "07:00"})
    assert bad["field"] == "quiet_start"
