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

#: Topics a subscription may ask for (``*`` = all of them).
TOPICS: dict[str, str] = {
    "supervision.remind": "临期提醒",
    "supervision.overdue": "超期",
    "supervision.urge": "自动催办",
    "supervision.yellow_card": "黄牌",
    "supervision.red_card": "红牌通报",
    "supervision.accept_timeout": "超时未签收上报",
    "supervision.leader_urge": "领导督办",
    "supervision.escalate": "超出能力上报",
}


def emit_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write messages: each a dict with topic, event_id, area_path, class_code, payload, created_at."""
    if rows:
        conn.execute(insert(OutboxMessage), [{**r, "fanned_out": False} for r in rows])


def message(topic: str, at: datetime, payload: dict[str, Any], *, event_id: int | None = None,
            area_path: str | None = None, class_code: str | None = None) -> dict[str, Any]:
    return {"topic": topic, "event_id": event_id, "area_path": area_path, "class_code": class_code,
            "payload": {"topic": topic, "at": at.isoformat(), **payload}, "created_at": at}
