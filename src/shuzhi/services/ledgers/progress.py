"""按期对账: progress reports by the responsible unit, evidence and reply documents, links to events,
and the item's history."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.db.tables_ledgers import (
    LedgerAttachment,
    LedgerEventLink,
    LedgerItem,
    LedgerReport,
    LedgerReportSlot,
    LedgerTimelineEntry,
)
from shuzhi.domain import ledgers as d
from shuzhi.services.actors import Actor
from shuzhi.services.attachments import ALLOWED_TYPES
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.ledgers import access, items
from shuzhi.services.ledgers.clocks import local_day
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

#: Besides photos and PDFs, offices send Word and Excel files as evidence and replies.
OFFICE_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
LEDGER_TYPES = {**ALLOWED_TYPES, **OFFICE_TYPES}


class ReportCommand(BaseModel):
    narrative: str = Field(min_length=2, max_length=4000, description="进展情况")
    progress: int | None = Field(default=None, ge=0, le=100, description="percentage done")
    milestones_done: list[int] = Field(default_factory=list, description="indexes of milestones now done")
    attachment_ids: list[int] = Field(default_factory=list, description="evidence uploaded for this report")
    expected_version: int | None = None


class ReportView(BaseModel):
    id: int
    at: datetime
    by: str
    progress: int
    narrative: str
    milestones_done: list[int]
    attachment_ids: list[int]
    periods: list[dict[str, Any]]


def report_progress(uow: UnitOfWork, item_id: int, cmd: ReportCommand, actor: Actor, *,
                    now: datetime | None = None) -> items.ItemView:
    """The lead unit reports progress on an item; the report answers every reporting period owed so
    far (on time or late), the progress rolls up the levels, and the clocks move on."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        item, acc = access.load_item(s, actor, item_id)
        access.require_responsible(actor, item)
        ledger = acc.ledger
        if cmd.expected_version is not None and cmd.expected_version != item.version:
            raise Conflict(f"the item was changed by someone else (version {item.version}); reload and retry",
                           field="expected_version")
        if d.ItemState(item.state) not in d.RUNNING_STATES:
            raise Conflict(f"the item is {item.state}; progress is reported on open items", field="state")
        milestones = d.parse_milestones(item.milestones)
        today = local_day(at)
        for i, idx in enumerate(cmd.milestones_done):
            if not 0 <= idx < len(milestones):
                raise Invalid(f"the item has no milestone {idx}", field=f"milestones_done[{i}]")
        if cmd.milestones_done:
            milestones = [m if i not in cmd.milestones_done or m.done_on else
                          d.Milestone(m.title, m.due, today) for i, m in enumerate(milestones)]
            item.milestones = [m.to_mapping() for m in milestones]
        for i, aid in enumerate(cmd.attachment_ids):
            att = s.get(LedgerAttachment, aid)
            if att is None or att.item_id != item.id:
                raise Invalid(f"attachment {aid} is not an attachment of this item", field=f"attachment_ids[{i}]")
        figure = cmd.progress
        if figure is None:
            figure = d.milestone_progress(milestones)
        if figure is None:
            figure = item.own_progress
        if figure >= 100:
            raise Invalid("100% is closing off: submit the item for sign-off (申请销号) with evidence",
                          field="progress")
        slots = list(s.scalars(select(LedgerReportSlot).where(
            LedgerReportSlot.item_id == item.id, LedgerReportSlot.reported_at.is_(None),
            LedgerReportSlot.period_start <= today).order_by(LedgerReportSlot.due_at)))
        report = LedgerReport(item_id=item.id, unit_id=item.lead_unit_id, at=at, by=actor.label, progress=figure,
                              milestones_done=sorted(set(cmd.milestones_done)), narrative=cmd.narrative.strip(),
                              attachment_ids=list(cmd.attachment_ids),
                              periods=[{"period": sl.period, "on_time": at <= sl.due_at} for sl in slots])
        s.add(report)
        s.flush()
        for sl in slots:
            sl.reported_at = at
            sl.report_id = report.id
        item.own_progress = figure
        item.last_progress_at = at
        items.move_item(s, item, ledger, d.ItemAction.REPORT, actor, at, reason=cmd.narrative.strip()[:500],
                        payload={"progress": figure, "report": report.id, "periods": report.periods})
        items.roll_up(s, item)
        uow.commit()
        return items.view(s, item, ledger, actor=actor, acc=acc)


def list_reports(uow: UnitOfWork, item_id: int, actor: Actor) -> list[ReportView]:
    with uow:
        s = uow.session
        item, _ = access.load_item(s, actor, item_id)
        return [ReportView(id=r.id, at=r.at, by=r.by, progress=r.progress, narrative=r.narrative,
                           milestones_done=list(r.milestones_done), attachment_ids=list(r.attachment_ids),
                           periods=list(r.periods))
                for r in s.scalars(select(LedgerReport).where(LedgerReport.item_id == item.id)
                                   .order_by(LedgerReport.id.desc()))]


class AttachmentView(BaseModel):
    id: int
    purpose: str
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    created_at: datetime


def add_attachment(uow: UnitOfWork, item_id: int, purpose: str, filename: str, content_type: str, data: bytes,
                   actor: Actor, *, max_bytes: int, now: datetime | None = None) -> AttachmentView:
    """Evidence (佐证材料) or a report's annex from the lead unit; a reply document (答复件) from the lead
    unit of a suggestion. Types are checked against their first bytes, as for events."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        # scope first: someone who cannot see the item learns nothing from a check of the file
        item, _acc = access.load_item(s, actor, item_id)
        access.require_responsible(actor, item)
        if purpose not in ("evidence", "reply", "report"):
            raise Invalid("purpose: evidence, reply or report", field="purpose")
        if content_type not in LEDGER_TYPES:
            raise Invalid(f"file type '{content_type}' is not accepted; use JPEG, PNG, WebP, PDF, DOCX or XLSX",
                          field="file")
        if not data:
            raise Invalid("the file is empty", field="file")
        if len(data) > max_bytes:
            raise Invalid(f"the file is {len(data)} bytes; the limit is {max_bytes}", field="file")
        if not data.startswith(LEDGER_TYPES[content_type]):
            raise Invalid(f"the file's content is not {content_type}", field="file")
        if purpose == "reply" and item.kind != d.ItemKind.SUGGESTION.value:
            raise Invalid("a reply document belongs to a suggestion or proposal", field="purpose")
        if d.ItemState(item.state) in d.ENDED_STATES:
            raise Conflict(f"the item is {item.state}", field="state")
        att = LedgerAttachment(item_id=item.id, purpose=purpose, filename=filename[:200] or "file",
                               content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                               data=data, uploaded_by=actor.label, created_at=at)
        s.add(att)
        s.flush()
        if purpose == "reply":
            item.reply_attachment_id = att.id
            item.updated_at = at
        items.note(s, item, actor, f"item.attach_{purpose}", at, payload={"attachment": att.id,
                                                                          "filename": att.filename})
        uow.commit()
        return AttachmentView(id=att.id, purpose=purpose, filename=att.filename, content_type=content_type,
                              size=att.size, uploaded_by=att.uploaded_by, created_at=at)


def list_attachments(uow: UnitOfWork, item_id: int, actor: Actor) -> list[AttachmentView]:
    with uow:
        s = uow.session
        item, _ = access.load_item(s, actor, item_id)
        return [AttachmentView(id=a.id, purpose=a.purpose, filename=a.filename, content_type=a.content_type,
                               size=a.size, uploaded_by=a.uploaded_by, created_at=a.created_at)
                for a in s.scalars(select(LedgerAttachment).where(LedgerAttachment.item_id == item.id)
                                   .order_by(LedgerAttachment.id))]


def get_attachment(uow: UnitOfWork, attachment_id: int, actor: Actor) -> LedgerAttachment:
    with uow:
        s = uow.session
        att = s.get(LedgerAttachment, attachment_id)
        if att is None:
            raise NotFound(f"attachment {attachment_id} not found")
        try:
            access.load_item(s, actor, att.item_id)
        except NotFound:
            raise NotFound(f"attachment {attachment_id} not found") from None
        _ = att.data
        return att


class LinkCommand(BaseModel):
    event_number: str = Field(description="the event's number")
    relation: str = Field(pattern="^(arose_from|pattern)$", description="arose_from: a case from this task; "
                          "pattern: one of the events whose pattern made this a problem")
    note: str = Field(default="", max_length=1000)


class LinkView(BaseModel):
    event_number: str
    event_title: str
    event_state: str
    relation: str
    note: str
    created_by: str
    created_at: datetime


def link_event(uow: UnitOfWork, item_id: int, cmd: LinkCommand, actor: Actor, *,
               now: datetime | None = None) -> list[LinkView]:
    """Link an item to an event both sides can see (the runner or the lead unit)."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        item, acc = access.load_item(s, actor, item_id)
        if not acc.manages:
            access.require_responsible(actor, item)
        event = s.scalar(select(Event).where(Event.number == cmd.event_number))
        if event is None:
            raise Invalid(f"event {cmd.event_number} not found", field="event_number")
        try:
            authz.ensure_event_visible(actor, event)
        except NotFound:
            raise Invalid(f"event {cmd.event_number} not found", field="event_number") from None
        if s.get(LedgerEventLink, (item.id, event.id)) is not None:
            raise Conflict("the item is already linked to this event", field="event_number")
        s.add(LedgerEventLink(item_id=item.id, event_id=event.id, relation=cmd.relation, note=cmd.note,
                              created_by=actor.label, created_at=at))
        items.note(s, item, actor, "item.link_event", at, payload={"event": event.number, "relation": cmd.relation})
        uow.commit()
    return list_links(uow, item_id, actor)


def list_links(uow: UnitOfWork, item_id: int, actor: Actor) -> list[LinkView]:
    with uow:
        s = uow.session
        item, _ = access.load_item(s, actor, item_id)
        rows = s.execute(select(Event, LedgerEventLink).join(LedgerEventLink, LedgerEventLink.event_id == Event.id)
                         .where(LedgerEventLink.item_id == item.id).order_by(LedgerEventLink.created_at)).all()
        out = []
        for event, link in rows:
            try:
                authz.ensure_event_visible(actor, event)
            except NotFound:
                continue
            out.append(LinkView(event_number=event.number, event_title=event.title, event_state=event.state,
                                relation=link.relation, note=link.note, created_by=link.created_by,
                                created_at=link.created_at))
        return out


class TimelineView(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    payload: dict[str, Any]


def timeline(uow: UnitOfWork, item_id: int, actor: Actor) -> list[TimelineView]:
    """The item's history, oldest first (closed items keep all of it)."""
    with uow:
        s = uow.session
        item, _ = access.load_item(s, actor, item_id)
        return [TimelineView(at=t.at, actor=t.actor, action=t.action, from_state=t.from_state, to_state=t.to_state,
                             reason=t.reason, payload=dict(t.payload or {}))
                for t in s.scalars(select(LedgerTimelineEntry).where(LedgerTimelineEntry.item_id == item.id)
                                   .order_by(LedgerTimelineEntry.id))]


def get_item(uow: UnitOfWork, item_id: int, actor: Actor) -> items.ItemView:
    with uow:
        s = uow.session
        item, acc = access.load_item(s, actor, item_id)
        return items.view(s, item, acc.ledger, actor=actor, acc=acc)


def children(uow: UnitOfWork, item_id: int, actor: Actor) -> list[items.ItemView]:
    """The sub-items the actor may see."""
    with uow:
        s = uow.session
        item, acc = access.load_item(s, actor, item_id)
        q = select(LedgerItem).where(LedgerItem.parent_id == item.id, access.item_clause(acc, actor))
        return [items.view(s, c, acc.ledger, actor=actor, acc=acc) for c in s.scalars(q.order_by(LedgerItem.id))]
