"""A reading as it passes from ingest to threshold evaluation (plain data, no I/O).

Ingest (HTTP, files, MQTT) validates and stores readings, then hands the accepted ones of a batch to
the reading hooks (:mod:`shuzhi.services.hooks`), where threshold evaluation turns them into warnings.
A series is one indicator measured at one place: a device when the reading names one, else an area.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
