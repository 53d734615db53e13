"""Rules of readings and the indicator tree: values, frequencies, flags, buckets, MQTT topics."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.adapters.mqtt import readings_of, receipt_digest
from shuzhi.domain.readings import Receipt
from shuzhi.domain.sensing import (
    ValueType,
    bucket_start,
    choose_bucket,
    coerce_value,
    format_frequency,
    parse_flag,
    parse_frequency,
)

NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("5 min", 300), ("1h", 3600),
                                               ("1d", 86400), ("90", 90), ("每小时", 3600), ("0.5h", 1800)])
def test_frequencies(text: str, seconds: int) -> None:
    assert parse_frequency(text) == seconds


@pytest.mark.parametrize("text", ["", "often", "0s", "40d", "-5m"])
def test_bad_frequencies(text: str) -> None:
    with pytest.raises(ValueError):
        parse_frequency(text)


@given(st.integers(min_value=1, max_value=31 * 86400))
def test_frequency_text_round_trips(seconds: int) -> None:
    assert parse_frequency(format_frequency(seconds)) == seconds


@pytest.mark.parametrize(("text", "flag"), [("是", True), ("否", False), ("true", True), ("0", False), ("", False),
                                            ("Y", True)])
def test_flags(text: str, flag: bool) -> None:
    assert parse_flag(text) is flag


@pytest.mark.parametrize(("raw", "vt", "value"), [(3, ValueType.NUMBER, 3.0), ("2.5", ValueType.NUMBER, 2.5),
                                                  (True, ValueType.BOOLEAN, 1.0), ("false", ValueType.BOOLEAN, 0.0),
                                                  (7.0, ValueType.INTEGER, 7.0), ("1", ValueType.BOOLEAN, 1.0)])
def test_values_accepted(raw: object, vt: ValueType, value: float) -> None:
    assert coerce_value(raw, vt) == value


@pytest.mark.parametrize(("raw", "vt"), [(math.nan, ValueType.NUMBER), (math.inf, ValueType.NUMBER),
                                         ("-inf", ValueType.NUMBER), (True, ValueType.NUMBER),
                                         (2.5, ValueType.INTEGER), (2, ValueType.BOOLEAN), ("x", ValueType.NUMBER),
                                         (None, ValueType.NUMBER), ({}, ValueType.NUMBER)])
def test_values_refused(raw: object, vt: ValueType) -> None:
    with pytest.raises(ValueError):
        coerce_value(raw, vt)


@pytest.mark.parametrize(("span", "frequency", "bucket"), [(timedelta(hours=6), 300, 0), (timedelta(days=2), 300, 900),
                                                           (timedelta(days=10), 300, 3600),
                                                           (timedelta(days=365), 60, 86400)])
def test_bucket_grows_with_the_range(span: timedelta, frequency: int, bucket: int) -> None:
    assert choose_bucket(NOW - span, NOW, 500, frequency) == bucket


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.sampled_from([60, 300, 900, 3600, 86400]))
def test_bucket_start_holds_the_time(at: datetime, size: int) -> None:
    start = bucket_start(at, size)
    assert start <= at < start + timedelta(seconds=size)
    assert start.timestamp() % size == 0


def test_mqtt_topics_and_payloads() -> None:
    one = readings_of("shuzhi/readings/RIVER_LEVEL/WL-A", b'{"value": 2.5, "at": "2025-06-11T10:00:00+08:00"}', NOW)
    assert one == [{"indicator": "RIVER_LEVEL", "series": "WL-A", "value": 2.5, "at": "2025-06-11T10:00:00+08:00"}]
    bare = readings_of("shuzhi/readings/RIVER_LEVEL/500111001", b"3", NOW)
    receipt = Receipt(receipt_digest("shuzhi/readings/RIVER_LEVEL/500111001", b"3"), False)
    assert bare == [{"indicator": "RIVER_LEVEL", "series": "500111001", "value": 3, "at": NOW.isoformat(),
                     "receipt": receipt}]
    many = readings_of("shuzhi/readings/X/Y", b'[{"value": 1, "at": 1718071200}, {"value": 2}, "oops"]', NOW)
    assert [m if isinstance(m, str) else m["value"] for m in many][:2] == [1, 2] and isinstance(many[2], str)
    batch = readings_of("shuzhi/readings", b'[{"indicator": "X", "area": "1", "at": 1, "value": 2}]', NOW)
    assert batch == [{"indicator": "X", "area": "1", "at": 1, "value": 2}]
    assert isinstance(readings_of("shuzhi/readings/X", b"1", NOW)[0], str)
    assert isinstance(readings_of("shuzhi/readings/X/Y/Z", b"1", NOW)[0], str)
    assert "not JSON" in readings_of("shuzhi/readings/X/Y", b"{oops", NOW)[0]
    site = readings_of("site-a/shuzhi/readings/X/Y", b"1", NOW, prefix="site-a/shuzhi/readings")
    assert site[0]["indicator"] == "X"
