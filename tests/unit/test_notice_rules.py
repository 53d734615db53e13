"""Notice rules: SMS length, templates without personal data, policies checked when saved, quiet hours,
replies."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from shuzhi.domain import notices as n


@pytest.mark.parametrize(("text", "parts"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("中" * 70, 1), ("中" * 71, 2), ("中" * 134, 2), ("中" * 135, 3), ("中" + "a" * 69, 1), ("中" + "a" * 70, 2),
])
def test_sms_parts_follow_ucs2_and_gsm_lengths(text: str, parts: int) -> None:
    assert n.sms_parts(text) == parts


def test_a_notice_names_the_event_and_never_a_reporters_number() -> None:
    title, text = n.render("warning.red", {
        "number": "500111-20261207-000001", "class_name": "河道水位", "level": "红色",
        "place": "龙岗街道北山社区 报告人13912345678 身份证500101199001011234", "deadline_text": "12月7日03:30",
        "link": "https://s.cq.gov.cn/n/K7Q2M9AB"})
    assert title == "红色预警"
    assert text.startswith("【数治】红色预警500111-20261207-000001：河道水位，龙岗街道北山社区")
    assert "13912345678" not in text and "500101199001011234" not in text
    assert "回复1确认 https://s.cq.gov.cn/n/K7Q2M9AB" in text and n.sms_parts(text) <= 2


def test_a_long_place_is_shortened_to_fit_two_parts() -> None:
    _, text = n.render("plan.activated", {"number": "P1", "plan": "暴雨红色预警应急响应预案", "place": "某某" * 80,
                                          "link": "https://s.cq.gov.cn/n/K7Q2M9AB"}, escalated=True)
    assert n.sms_parts(text) == 2 and text.startswith("【数治】【升级】预案启动P1") and "…" in text


@pytest.mark.parametrize(("steps", "field"), [
    ([], "steps"),
    ([{"after_minutes": 0, "who": ["boss"], "channels": ["sms"]}], "steps[0].who[0]"),
    ([{"after_minutes": 0, "who": ["duty_officer"], "channels": ["fax"]}], "steps[0].channels[0]"),
    ([{"after_minutes": 0, "who": [], "channels": ["sms"]}], "steps[0].who"),
    ([{"after_minutes": -1, "who": ["unit"], "channels": ["sms"]}], "steps[0].after_minutes"),
    ([{"after_minutes": 10, "who": ["unit"], "channels": ["sms"]},
      {"after_minutes": 5, "who": ["unit_leader"], "channels": ["sms"]}], "steps[1].after_minutes"),
    ([{"after_minutes": True, "who": ["unit"], "channels": ["sms"]}], "steps[0].after_minutes"),
    (["sms"], "steps[0]"),
])
def test_a_bad_policy_is_refused_with_its_field(steps: list[object], field: str) -> None:
    with pytest.raises(n.PolicyError) as err:
        n.parse_steps(steps)
    assert err.value.field == field


def test_the_default_policies_are_valid_and_climb_to_the_leader_in_charge() -> None:
    for doc in n.DEFAULT_POLICIES.values():
        n.parse_steps(doc["steps"])
    red = n.parse_steps(n.DEFAULT_POLICIES["red-warning"]["steps"])
    assert [s.who for s in red] == [(n.Who.DUTY_OFFICER, n.Who.UNIT), (n.Who.UNIT_LEADER,), (n.Who.LEADER_IN_CHARGE,)]
    assert [s.after.total_seconds() / 60 for s in red] == [0, 10, 30]


def test_quiet_hours_wrap_past_midnight() -> None:
    night = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)  # 02:00 in Chongqing
    until = n.quiet_until(night, time(22, 0), time(7, 0))
    assert until is not None and until.astimezone(n.LOCAL).strftime("%d %H:%M") == "07 07:00"
    assert n.quiet_until(datetime(2026, 12, 7, 4, 0, tzinfo=UTC), time(22, 0), time(7, 0)) is None  # noon
    evening = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 23:00
    assert n.quiet_until(evening, time(22, 0), time(7, 0)).astimezone(n.LOCAL).day == 7  # type: ignore[union-attr]
    assert n.quiet_until(night, None, None) is None


@pytest.mark.parametrize(("text", "ack", "code"), [
    ("1", True, None), (" 1 ", True, None), ("１", True, None), ("确认", True, None), ("收到。", True, None),
    ("1 k7q2m9ab", True, "K7Q2M9AB"), ("1#K7Q2M9AB", True, "K7Q2M9AB"), ("2", False, None), ("", False, None),
    ("我马上到", False, None),
])
def test_replies(text: str, ack: bool, code: str | None) -> None:
    assert n.parse_reply(text) == n.Reply(ack, code)


def test_phones_are_masked() -> None:
    assert n.mask_phone("13800000003") == "138****0003" and n.mask_phone(None) == ""
