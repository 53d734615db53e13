"""The one label catalogue: every timeline action the code writes has a Chinese label, and the pages,
the outbox and supervision read theirs from it."""

from __future__ import annotations

import ast
from pathlib import Path

from shuzhi.domain import labels
from shuzhi.domain.events import EventAction, TaskAction
from shuzhi.domain.plan_runs import RunAction
from shuzhi.domain.service_cases import CaseAction
from shuzhi.entrypoints.web.messages_zh import MESSAGES

SRC = Path(__file__).resolve().parents[2] / "src" / "shuzhi"
#: Functions that write a line on the event's timeline, and where their action argument sits.
_WRITERS = {"note": 3, "timeline_note": 3, "_timeline": 3}
#: Writers that prefix what they are given.
_PREFIXED = {"_note_case": "case."}
#: Modules with timelines of their own (ledger items keep theirs, with their own labels).
_OTHER_TIMELINES = ("services/ledgers/",)


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def written_actions() -> dict[str, str]:
    """Every literal timeline action in the source, with the file that writes it."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(_OTHER_TIMELINES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                at = _WRITERS.get(name, 3 if name in _PREFIXED else None)
                if at is not None and len(node.args) > at and (code := _literal(node.args[at])):
                    found[_PREFIXED.get(name, "") + code] = rel
            elif isinstance(node, ast.Dict):
                # a timeline row built for a bulk insert: it names the actor and the action
                keys = {_literal(k) for k in node.keys if k is not None}
                if {"actor", "action", "event_id"} <= keys:
                    value = node.values[[_literal(k) if k is not None else None for k in node.keys].index("action")]
                    if code := _literal(value):
                        found[code] = rel
    return found


def test_the_scan_sees_the_writers_it_must() -> None:
    found = written_actions()
    # one of each kind of writer: note(), a bulk row, the notices' _timeline, a case line
    assert {"plan.proposed", "task.create", "notice.escalated", "case.accept", "warning.fired"} <= set(found)


def test_every_timeline_action_written_has_a_label() -> None:
    written = set(written_actions())
    written |= {f"event.{a.value}" for a in EventAction} | {f"task.{a.value}" for a in TaskAction}
    written |= {f"plan.{a.value}" for a in RunAction} | {f"case.{a.value}" for a in CaseAction}
    from shuzhi.services import open311, supervision
    from shuzhi.services.plans.transitions import STEP_LINES

    written |= set(STEP_LINES.values()) | {open311.UPDATE_ACTION}
    written |= {topic for topic, _ in supervision._TOPICS.values()} | {"supervision.remind"}
    missing = sorted(written - set(labels.TIMELINE_ACTIONS))
    assert not missing, f"timeline actions without a label in shuzhi.domain.labels: {missing}"


def test_one_code_one_label_whatever_its_prefix() -> None:
    # the event and its task both "verify", "cancel", "return": the page must not mix them up
    assert labels.TIMELINE_ACTIONS["task.cancel"] != labels.TIMELINE_ACTIONS["event.cancel"]
    assert labels.TIMELINE_ACTIONS["task.return"] != labels.TIMELINE_ACTIONS["event.return"]
    for code, label in labels.TIMELINE_ACTIONS.items():
        assert MESSAGES[f"action.{code}"] == label, code
    # keys the pages no longer read (the prefix used to be stripped) are gone
    assert "action.verify" not in MESSAGES and "action.cancel" not in MESSAGES


def test_the_outbox_and_supervision_read_the_catalogue() -> None:
    from shuzhi.services import outbox
    from shuzhi.services import supervision as sv

    assert outbox.TOPICS is labels.OUTBOX_TOPICS
    assert "service.case_completed" in labels.OUTBOX_TOPICS  # not added by importing the window's module
    for step, (action, template) in sv._TOPICS.items():
        assert template.startswith(labels.TIMELINE_ACTIONS[action] + "："), step
    # the accept timeout goes up on the timeline as supervision.escalate; a unit's own escalation
    # (beyond its capacity) goes out as the topic of that name: each label says which it is
    assert labels.TIMELINE_ACTIONS["supervision.escalate"] == "超时未签收上报"
    assert labels.OUTBOX_TOPICS["supervision.escalate"] == "超出能力上报"
    assert labels.OUTBOX_TOPICS["supervision.accept_timeout"] == labels.TIMELINE_ACTIONS["supervision.escalate"]
