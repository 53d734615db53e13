"""Time limits as administrators type them: parsing, the short form, and the checks on a class's table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.domain.time_limits import MAX_AMOUNT, LimitUnit, Stage, TimeLimit, TimeLimits, Urgency

WH, WD, H = LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS, LimitUnit.CALENDAR_HOURS


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("4wh", 4, WH),
        ("5wd", 5, WD),
        ("3h", 3, H),
        ("0.5h", 0.5, H),
        (".5wd", 0.5, WD),
        ("4工作小时", 4, WH),
        ("5工作日", 5, WD),
        ("5个工作日", 5, WD),
        ("3小时", 3, H),
        (" 2 WH ", 2, WH),
        ("５ｗｄ", 5, WD),  # full-width, as typed with a Chinese input method
        ("1.25wh", 1.25, WH),
    ],
)
def test_parse_accepts(text: str, amount: float, unit: LimitUnit) -> None:
    assert TimeLimit.parse(text) == TimeLimit(amount, unit)


@pytest.mark.parametrize(
    "text", ["5xd", "", "wd", "5", "-1wd", "1e3h", "nanh", "infh", "5 wd wd", "5天", "1,5wd", "五工作日"]
)
def test_parse_rejects_and_names_the_text(text: str) -> None:
    with pytest.raises(ValueError) as info:
        TimeLimit.parse(text)
    assert f"{text!r} is not a time limit" in str(info.value)


def test_parse_error_tells_what_to_write() -> None:
    with pytest.raises(
        ValueError, match=r"^'5xd' is not a time limit: use e\.g\. 4wh \(working hours\), 5wd"
    ):
        TimeLimit.parse("5xd")


@pytest.mark.parametrize("text", ["0wd", "0.0h", "0工作小时"])
def test_zero_is_not_a_limit(text: str) -> None:
    with pytest.raises(ValueError, match=f"^'{text}' is not a time limit: .*greater than 0"):
        TimeLimit.parse(text)


def test_ten_years_is_a_typing_error() -> None:
    assert TimeLimit.parse("2500wd").amount == 2500
    with pytest.raises(ValueError, match="'2501wd' is not a time limit: 2501wd is longer than ten years"):
        TimeLimit.parse("2501wd")


@pytest.mark.parametrize("amount", [0, -1, float("nan"), float("inf"), True, "5"])
def test_constructor_rejects_bad_amounts(amount: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        TimeLimit(amount, WD)  # type: ignore[arg-type]


def test_constructor_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError):
        TimeLimit(1, "working_weeks")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (TimeLimit(5, WD), "5wd"),
        (TimeLimit(4, WH), "4wh"),
        (TimeLimit(0.5, H), "0.5h"),
        (TimeLimit(1e-5, H), "0.00001h"),
    ],
)
def test_short_form(limit: TimeLimit, text: str) -> None:
    assert str(limit) == text


@settings(max_examples=200)
@given(
    st.floats(min_value=1e-6, max_value=2500, allow_nan=False, allow_infinity=False),
    st.sampled_from(list(LimitUnit)),
)
def test_short_form_reads_back_exactly(amount: float, unit: LimitUnit) -> None:
    limit = TimeLimit(amount, unit)
    assert TimeLimit.parse(str(limit)) == limit


def test_urgency_order_is_by_urgency_not_alphabet() -> None:
    assert Urgency.NORMAL < Urgency.URGENT < Urgency.CRITICAL
    assert Urgency.CRITICAL > Urgency.NORMAL
    assert Urgency.URGENT <= Urgency.URGENT >= Urgency.URGENT
    assert sorted([Urgency.CRITICAL, Urgency.NORMAL, Urgency.URGENT]) == [
        Urgency.NORMAL,
        Urgency.URGENT,
        Urgency.CRITICAL,
    ]
    assert max(Urgency) is Urgency.CRITICAL
    assert [u.rank for u in Urgency] == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("normal", Urgency.NORMAL),
        ("一般", Urgency.NORMAL),
        ("紧急", Urgency.URGENT),
        (" Critical ", Urgency.CRITICAL),
        ("特急", Urgency.CRITICAL),
    ],
)
def test_urgency_parse(text: str, urgency: Urgency) -> None:
    assert Urgency.parse(text) is urgency


def test_urgency_parse_names_the_choices() -> None:
    with pytest.raises(
        ValueError, match=r"'high' is not an urgency: use normal \(一般\), urgent \(紧急\), critical"
    ):
        Urgency.parse("high")


LIMITS = {
    "normal": {"accept": "4wh", "handle": "5wd"},
    "urgent": {"accept": "1wh", "handle": "1wd"},
    "critical": {"accept": "0.5h", "handle": "4h"},
}


def test_from_mapping_and_get() -> None:
    limits = TimeLimits.from_mapping(LIMITS)
    assert limits.get(Urgency.NORMAL, Stage.ACCEPT) == TimeLimit(4, WH)
    assert limits.get(Urgency.NORMAL, Stage.HANDLE) == TimeLimit(5, WD)
    assert limits.get(Urgency.CRITICAL, Stage.HANDLE) == TimeLimit(4, H)


def test_a_missing_pair_has_no_limit() -> None:
    limits = TimeLimits.from_mapping({"normal": {"handle": "5wd"}})
    assert limits.get(Urgency.NORMAL, Stage.ACCEPT) is None
    assert limits.get(Urgency.URGENT, Stage.HANDLE) is None
    assert TimeLimits().get(Urgency.NORMAL, Stage.HANDLE) is None


def test_to_mapping_round_trip_in_order() -> None:
    scrambled = {
        "critical": {"handle": "4h", "accept": "0.5h"},
        "normal": LIMITS["normal"],
        "urgent": LIMITS["urgent"],
    }
    mapping = TimeLimits.from_mapping(scrambled).to_mapping()
    assert mapping == LIMITS
    assert list(mapping) == ["normal", "urgent", "critical"]
    assert list(mapping["critical"]) == ["accept", "handle"]


def test_chinese_keys() -> None:
    limits = TimeLimits.from_mapping({"紧急": {"签收": "1工作小时", "处置": "1个工作日"}})
    assert limits.to_mapping() == {"urgent": {"accept": "1wh", "handle": "1wd"}}


def test_equal_tables_are_equal_and_hash_alike() -> None:
    a, b = TimeLimits.from_mapping(LIMITS), TimeLimits.from_mapping(dict(reversed(LIMITS.items())))
    assert a == b
    assert hash(a) == hash(b)
    assert a != TimeLimits.from_mapping({"normal": LIMITS["normal"]})


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"normal": {"handle": "5xd"}}, r"^normal\.handle: '5xd' is not a time limit"),
        ({"high": {"handle": "5wd"}}, r"'high' is not an urgency"),
        ({"normal": {"finish": "5wd"}}, r"^normal: 'finish' is not a stage"),
        ({"normal": "5wd"}, r"^normal: expected a mapping"),
        ({"normal": {"handle": "5wd", "处置": "4wd"}}, r"^normal\.handle is given twice"),
        # accept longer than handle in the same unit
        (
            {"normal": {"accept": "6wd", "handle": "5wd"}},
            r"^normal: the accept limit \(6wd\) is longer than the handle",
        ),
        # more urgent, longer
        (
            {"normal": {"handle": "2wd"}, "urgent": {"handle": "3wd"}},
            r"^urgent\.handle \(3wd\) is longer than normal",
        ),
        # not only neighbours: critical against normal, with urgent in another unit
        (
            {"normal": {"accept": "4wh"}, "urgent": {"accept": "1wd"}, "critical": {"accept": "6wh"}},
            r"^critical\.accept \(6wh\) is longer than normal\.accept \(4wh\)",
        ),
    ],
)
def test_from_mapping_rejects(mapping: dict[str, dict[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TimeLimits.from_mapping(mapping)


def test_different_units_are_not_compared() -> None:
    # 8 calendar hours for the accept stage and 1 working day to handle: which is longer depends on the
    # hour the task arrives, so the table is accepted.
    limits = TimeLimits.from_mapping(
        {"normal": {"accept": "8h", "handle": "1wd"}, "urgent": {"accept": "9wh"}}
    )
    assert limits.get(Urgency.URGENT, Stage.ACCEPT) == TimeLimit(9, WH)


def test_equal_limits_are_allowed() -> None:
    limits = TimeLimits.from_mapping(
        {"normal": {"accept": "1wd", "handle": "1wd"}, "urgent": {"handle": "1wd"}}
    )
    assert limits.get(Urgency.URGENT, Stage.HANDLE) == TimeLimit(1, WD)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(list(Urgency)), st.sampled_from(list(Stage))),
        st.builds(TimeLimit, st.integers(1, 40), st.sampled_from(list(LimitUnit))),
    )
)
def test_a_table_is_rejected_exactly_when_it_breaks_a_rule(
    raw: dict[tuple[Urgency, Stage], TimeLimit],
) -> None:
    broken = False
    for (u1, s1), l1 in raw.items():
        for (u2, s2), l2 in raw.items():
            if l1.unit != l2.unit:
                continue
            if u1 == u2 and s1 is Stage.ACCEPT and s2 is Stage.HANDLE and l1.amount > l2.amount:
                broken = True
            if s1 == s2 and u1 < u2 and l2.amount > l1.amount:
                broken = True
    if broken:
        with pytest.raises(ValueError, match="longer than"):
            TimeLimits(raw)
    else:
        limits = TimeLimits(raw)
        assert TimeLimits.from_mapping(limits.to_mapping()) == limits


def test_constructor_takes_the_mapping_and_is_read_only() -> None:
    limits = TimeLimits({(Urgency.NORMAL, Stage.HANDLE): TimeLimit(5, WD)})
    with pytest.raises(TypeError):
        limits.limits[(Urgency.NORMAL, Stage.ACCEPT)] = TimeLimit(1, WH)  # type: ignore[index]
    assert limits.get(Urgency.NORMAL, Stage.ACCEPT) is None


def test_stage_labels() -> None:
    assert Stage.parse("处置") is Stage.HANDLE
    assert Stage.ACCEPT.label == "签收"
    assert MAX_AMOUNT[WD] == 2500
