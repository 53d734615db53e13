"""A reading as it passes from ingest to threshold evaluation (plain data, no I/O).

Ingest (HTTP, files, MQTT) validates and stores readings, then hands the accepted ones of a batch to
the reading hooks (:mod:`shuzhi.services.hooks`), where threshold evaluation turns them into warnings.
A series is one indicator measured at one place: a device when the reading names one, else an area.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload


@dataclass(frozen=True, slots=True)
class StoredReading:
    indicator_id: int
    indicator_code: str
    #: ``device_code`` when the reading came from a device, else ``area_code``: one series each.
    series_key: str
    area_code: str
    area_path: str
    device_code: str | None
    at: datetime  # aware, UTC
    value: float


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """Where a series is: the indicator and the place, everything a warning row names."""

    indicator_id: int
    indicator_code: str
    series_key: str
    area_code: str
    area_path: str
    device_code: str | None


class ReadingBatch(Sequence[StoredReading]):
    """The new readings of one ingest batch, grouped by series, each series in time order.

    Ingest hands this to the reading hooks instead of one object per reading: a hook that works per
    series (threshold evaluation) reads :attr:`series` and never pays for per-reading objects. It is
    still a sequence of :class:`StoredReading` (built on first use) for hooks that want that.
    """

    __slots__ = ("_count", "_flat", "series")

    def __init__(self, series: dict[SeriesRef, list[tuple[datetime, float]]]) -> None:
        #: Each series' new readings as ``(at, value)``, oldest first.
        self.series = series
        self._count = sum(len(v) for v in series.values())
        self._flat: list[StoredReading] | None = None

    def _readings(self) -> list[StoredReading]:
        if self._flat is None:
            self._flat = [StoredReading(r.indicator_id, r.indicator_code, r.series_key, r.area_code, r.area_path,
                                        r.device_code, at, value)
                          for r, points in self.series.items() for at, value in points]
        return self._flat

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> StoredReading: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[StoredReading]: ...
    def __getitem__(self, index: int | slice) -> StoredReading | Sequence[StoredReading]:
        return self._readings()[index]

    def __iter__(self) -> Iterator[StoredReading]:
        return iter(self._readings())


def group_by_series(readings: Iterable[StoredReading]) -> dict[SeriesRef, list[tuple[datetime, float]]]:
    """Readings grouped as in :attr:`ReadingBatch.series` (each series sorted by time)."""
    if isinstance(readings, ReadingBatch):
        return readings.series
    out: dict[SeriesRef, list[tuple[datetime, float]]] = {}
    for r in readings:
        ref = SeriesRef(r.indicator_id, r.indicator_code, r.series_key, r.area_code, r.area_path, r.device_code)
        out.setdefault(ref, []).append((r.at, r.value))
    for points in out.values():
        points.sort(key=_at)
    return out


def _at(point: tuple[datetime, float]) -> datetime:
    return point[0]


@dataclass(frozen=True, slots=True)
class Receipt:
    """How a message whose readings carry no time of their own was received (MQTT): ``digest``
    identifies the message across redeliveries, ``redelivered`` is the broker's DUP flag. A redelivered
    message keeps the time its first delivery got, so its readings are stored once. Not JSON: a batch
    posted over HTTP cannot carry one."""

    digest: str
    redelivered: bool
