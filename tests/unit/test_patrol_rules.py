"""The patrol log's rules: distance on the sphere, a track's points in time order at a walker's speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shuzhi.domain.patrols import (
    CLOCK_SKEW,
    JITTER_M,
    MAX_DURATION,
    MAX_SPEED_MPS,
    TrackError,
    TrackPoint,
    check_points,
    distance_m,
    duration_s,
    track_length_m,
)

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_degree_of_latitude_is_about_111_km() -> None:
    assert distance_m(105.7, 29.0, 105.7, 30.0) == pytest.approx(111_195, rel=1e-3)


def test_a_degree_of_longitude_shrinks_with_latitude() -> None:
    # cos(29.7°) ≈ 0.8686
    assert distance_m(105.0, 29.7, 106.0, 29.7) == pytest.approx(111_195 * 0.8686, rel=2e-3)


def test_distance_is_symmetric_and_zero_for_one_place() -> None:
    assert distance_m(105.70, 29.70, 105.71, 29.71) == pytest.approx(distance_m(105.71, 29.71, 105.70, 29.70))
    assert distance_m(105.7, 29.7, 105.7, 29.7) == 0.0


def test_a_track_measures_the_sum_of_its_segments() -> None:
    pts = [TrackPoint(105.702, 29.702, at(0)), TrackPoint(105.702, 29.703, at(100)),
           TrackPoint(105.703, 29.703, at(200))]
    assert track_length_m(pts) == pytest.approx(distance_m(105.702, 29.702, 105.702, 29.703)
                                                + distance_m(105.702, 29.703, 105.703, 29.703))
    assert track_length_m(pts[:1]) == 0.0


def test_new_points_add_their_distance_from_the_last_kept_one() -> None:
    last = TrackPoint(105.702, 29.702, at(0))
    added = check_points(last, [TrackPoint(105.702, 29.703, at(100))], started_at=T0, now=NOW)
    assert added == pytest.approx(111.2, abs=0.5)


def test_points_must_come_in_time_order() -> None:
    last = TrackPoint(105.702, 29.702, at(100))
    with pytest.raises(TrackError) as e:
        check_points(last, [TrackPoint(105.702, 29.7021, at(100))], started_at=T0, now=NOW)
    assert (e.value.code, e.value.field) == ("out_of_order", "points[0].at")
    with pytest.raises(TrackError) as e:
        check_points(None, [TrackPoint(105.702, 29.702, at(10)), TrackPoint(105.702, 29.7021, at(5))],
                     started_at=T0, now=NOW)
    assert (e.value.code, e.value.field) == ("out_of_order", "points[1].at")


def test_faster_than_a_walker_rides_is_refused_naming_the_point() -> None:
    # 1 km in 40 s = 25 m/s = 90 km/h
    pts = [TrackPoint(105.702, 29.702, at(0)), TrackPoint(105.702, 29.711, at(40))]
    with pytest.raises(TrackError) as e:
        check_points(None, pts, started_at=T0, now=NOW)
    assert (e.value.code, e.value.field) == ("too_fast", "points[1]")


def test_just_under_the_speed_limit_passes() -> None:
    seconds = 1000 / (MAX_SPEED_MPS * 0.95)
    lat = 29.702 + 1000 / 111_195
    added = check_points(None, [TrackPoint(105.702, 29.702, at(0)), TrackPoint(105.702, lat, at(seconds))],
                         started_at=T0, now=NOW)
    assert added == pytest.approx(1000, rel=2e-3)


def test_gps_jitter_within_a_few_metres_is_never_too_fast() -> None:
    step = (JITTER_M * 0.8) / 111_195  # under the jitter in latitude degrees
    pts = [TrackPoint(105.702, 29.702, at(0)), TrackPoint(105.702, 29.702 + step, at(0.5))]
    assert check_points(None, pts, started_at=T0, now=NOW) < JITTER_M


def test_points_from_the_future_or_before_the_start_are_refused() -> None:
    with pytest.raises(TrackError) as e:
        check_points(None, [TrackPoint(105.7, 29.7, NOW + CLOCK_SKEW + timedelta(seconds=1))], started_at=T0, now=NOW)
    assert e.value.code == "future"
    with pytest.raises(TrackError) as e:
        check_points(None, [TrackPoint(105.7, 29.7, T0 - CLOCK_SKEW - timedelta(seconds=1))], started_at=T0, now=NOW)
    assert e.value.code == "before_start"
    late = T0 + MAX_DURATION + timedelta(minutes=1)
    with pytest.raises(TrackError) as e:
        check_points(None, [TrackPoint(105.7, 29.7, late)], started_at=T0, now=late)
    assert e.value.code == "too_long"


def test_a_point_off_the_globe_is_refused() -> None:
    with pytest.raises(TrackError) as e:
        check_points(None, [TrackPoint(float("nan"), 29.7, at(1))], started_at=T0, now=NOW)
    assert (e.value.code, e.value.field) == ("bad_point", "points[0].lon")


def test_duration_runs_until_now_while_the_patrol_is_open() -> None:
    assert duration_s(T0, at(600), NOW) == 600
    assert duration_s(T0, None, NOW) == 7200
