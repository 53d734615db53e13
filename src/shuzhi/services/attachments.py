"""Photos and documents attached to an event (on intake, report-back or verification)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select

from shuzhi.adapters.db.tables import Attachment, Event
from shuzhi.domain.permissions import EVENT_READ, EVENT_SUBMIT, EVENT_VERIFY, TASK_HANDLE
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork

#: What a phone or a scanner produces; anything else is refused (no executables, no HTML).
ALLOWED_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF",),
}


def add_attachment(uow: UnitOfWork, ref: str, filename: str, content_type: str, data: bytes, actor: Actor,
                   *, max_bytes: int, task_id: int | None = None) -> Attachment:
    """Store a file after checking its declared type against its first bytes (a renamed .exe is no photo).

    Whoever reports, handles or verifies may attach evidence to an event in their scope.
    """
    authz.require_any(actor, EVENT_SUBMIT, TASK_HANDLE, EVENT_VERIFY)
    if content_type not in ALLOWED_TYPES:
        raise Invalid(f"file type '{content_type}' is not accepted; use JPEG, PNG, WebP or PDF", field="file")
    if not data:
        raise Invalid("the file is empty", field="file")
    if len(data) > max_bytes:
        raise Invalid(f"the file is {len(data)} bytes; the limit is {max_bytes}", field="file")
    if not data.startswith(ALLOWED_TYPES[content_type]):
        raise Invalid(f"the file's content is not {content_type}", field="file")
    now = datetime.now(UTC)
    with uow:
        s = uow.session
        event = load_visible_event(s, ref, actor)
        # adding to the record is acting: the event's centre, or a unit on its own live task
        authz.ensure_can_contribute(actor, event)
        if task_id is not None and task_id not in {t.id for t in event.tasks}:
            raise Invalid(f"task {task_id} does not belong to event {event.number}", field="task_id")
        att = Attachment(event_id=event.id, task_id=task_id, filename=filename[:200] or "file",
                         content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                         data=data, uploaded_by=actor.label, created_at=now)
        s.add(att)
        s.flush()
        note(s, event, actor, "event.attach", now, payload={"attachment": att.id, "filename": att.filename,
                                                            "task": task_id, "size": att.size})
        uow.commit()
        return att


def list_attachments(uow: UnitOfWork, ref: str, actor: Actor) -> list[Attachment]:
    authz.require(actor, EVENT_READ)
    with uow:
        event = load_visible_event(uow.session, ref, actor)
        return list(uow.session.scalars(
            select(Attachment).where(Attachment.event_id == event.id).order_by(Attachment.id)))


def get_attachment(uow: UnitOfWork, attachment_id: int, actor: Actor) -> Attachment:
    """A file of an event in the actor's scope; any other is *not found*, like a missing one."""
    authz.require(actor, EVENT_READ)
    with uow:
        att = uow.session.get(Attachment, attachment_id)
        event = uow.session.get(Event, att.event_id) if att is not None else None
        if att is None or event is None:
            raise NotFound(f"attachment {attachment_id} not found")
        try:
            authz.ensure_event_visible(actor, event)
        except NotFound:
            raise NotFound(f"attachment {attachment_id} not found") from None
        _ = att.data  # load the deferred bytes before the session closes
        return att
