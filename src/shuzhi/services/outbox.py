"""The transactional outbox: facts for outside systems, written in the transaction that made them.

A webhook can only report what really happened because the message and the change commit (or roll
back) together; the worker fans committed messages out to subscriptions afterwards
(:mod:`shuzhi.services.webhooks`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from shuzhi.adapters.db.tables_supervision import OutboxMessage
from shuzhi.domain.labels import OUTBOX_TOPICS

#: Topics a subscription may ask for (``*`` = all of them), with their labels: the one catalogue's.
TOPICS: dict[str, str] = OUTBOX_TOPICS


def emit_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write messages: each a dict with topic, event_id, area_path, class_code, payload, created_at."""
    if rows:
        conn.execute(insert(OutboxMessage), [{**r, "fanned_out": False} for r in rows])


def message(topic: str, at: datetime, payload: dict[str, Any], *, event_id: int | None = None,
            area_path: str | None = None, class_code: str | None = None) -> dict[str, Any]:
    return {"topic": topic, "event_id": event_id, "area_path": area_path, "class_code": class_code,
            "payload": {"topic": topic, "at": at.isoformat(), **payload}, "created_at": at}
