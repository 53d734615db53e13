"""Every action a ledger item's timeline can hold has a Chinese label in the message catalogue."""

from __future__ import annotations

from shuzhi.domain.ledgers import ItemAction
from shuzhi.entrypoints.web.messages_zh import MESSAGES
from shuzhi.services.ledgers import clocks


def test_every_ledger_timeline_action_has_a_chinese_label() -> None:
    actions = {f"item.{a.value}" for a in ItemAction}
    actions |= {"item.create", "item.import", "item.update", "item.assign_down", "item.link_event",
                "item.from_events"}
    actions |= {f"item.attach_{p}" for p in ("evidence", "reply", "report")}
    actions |= {f"ledger.{kind}.{base}" for kind, base in clocks._TITLES}
    missing = sorted(a for a in actions if f"ledgers.tl.{a}" not in MESSAGES)
    assert not missing, missing
