"""A grid worker's patrol (巡查记录): where and when the grid was walked, as plain rules (no I/O).

A patrol is a start time, an end time and a track: GPS points sampled by the phone while the page is
open. The rules here decide which points a track may take (in time order, no faster than a person can
move, not from the future) and what a track measures (duration, distance on the WGS84 sphere).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Mean Earth radius (IUGG), metres: good to ~0.5 % for the few-kilometre walks of a grid patrol.
EARTH_RADIUS_M = 6_371_008.8
#: Faster than this between two points is no patrol on foot, bicycle or e-bike, but a GPS jump (or a car
#: ride recorded as a patrol): 72 km/h.
MAX_SPEED_MPS = 20.0
#: A jump shorter than this is GPS jitter and never "too fast", however close in time the two fixes are.
JITTER_M = 30.0
#: A phone clock may run ahead of the server's by this much.
CLOCK_SKEW = timedelta(minutes=5)
#: One request carries at most this many points; one patrol at most MAX_POINTS.
MAX_BATCH = 500
MAX_POINTS = 20_000
#: A patrol longer than this was forgotten, not walked.
MAX_DURATION = timedelta(hours=16)
#: How the phone samples while the page is open: a point every SAMPLE_SECONDS, or sooner after SAMPLE_METRES.
SAMPLE_SECONDS = 15
SAMPLE_METRES = 20


@dataclass(frozen=True)
class TrackPoint:
    lon: float
    lat: float
    at: datetime


class TrackError(ValueError):
    """A point the track cannot take; ``field`` names it as the API does (``points[3].at``)."""

    def __init__(self, message: str, field: str, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def distance_m(a_lon: float, a_lat: float, b_lon: float, b_lat: float) -> float:
    """Great-circle distance between two WGS84 points, metres (haversine)."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def track_length_m(points: Sequence[TrackPoint]) -> float:
    return sum(distance_m(a.lon, a.lat, b.lon, b.lat) for a, b in itertools.pairwise(points))


def check_points(previous: TrackPoint | None, points: Sequence[TrackPoint], *, started_at: datetime,
                 now: datetime, field: str = "points") -> float:
    """Check new points against the track so far; return the distance they add (metres).

    Points must come in time order after the last one kept and after the start, not from the future, and
    no two consecutive points may lie further apart than a person moves in the time between them.
    """
    added = 0.0
    last = previous
    for i, p in enumerate(points):
        where = f"{field}[{i}]"
        if not (math.isfinite(p.lon) and math.isfinite(p.lat)) or not (-180 <= p.lon <= 180 and -90 <= p.lat <= 90):
            raise TrackError("not a WGS84 longitude/latitude", f"{where}.lon", "bad_point")
        if p.at > now + CLOCK_SKEW:
            raise TrackError("the point's time lies in the future", f"{where}.at", "future")
        if p.at < started_at - CLOCK_SKEW:
            raise TrackError("the point's time lies before the patrol started", f"{where}.at", "before_start")
        if p.at - started_at > MAX_DURATION:
            raise TrackError(f"a patrol lasts at most {MAX_DURATION.total_seconds() / 3600:.0f} hours",
                             f"{where}.at", "too_long")
        if last is not None:
            if p.at <= last.at:
                raise TrackError("points must come in time order, each after the one before", f"{where}.at",
                                 "out_of_order")
            d = distance_m(last.lon, last.lat, p.lon, p.lat)
            seconds = (p.at - last.at).total_seconds()
            if d > JITTER_M and d / seconds > MAX_SPEED_MPS:
                raise TrackError(f"{d:.0f} m in {seconds:.0f} s is faster than {MAX_SPEED_MPS * 3.6:.0f} km/h",
                                 where, "too_fast")
            added += d
        last = p
    return added


def duration_s(started_at: datetime, ended_at: datetime | None, now: datetime) -> float:
    return max(0.0, ((ended_at or now) - started_at).total_seconds())
