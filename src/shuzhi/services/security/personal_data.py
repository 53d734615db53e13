"""Revealing a reporter's personal data: an explicit, reasoned, audited act.

Every response masks the reporter's name, phone and ID number (:mod:`shuzhi.domain.personal_data`);
a person with ``personal_data.reveal`` who needs them (to call the reporter back) asks for them with
a reason, and the audit log keeps who saw whose data, when and why (个人信息保护法 art. 51, 54).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from shuzhi.domain.permissions import PERSONAL_DATA_REVEAL
from shuzhi.domain.personal_data import mask_text
from shuzhi.services.actors import Actor
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork


class Reveal(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=500, description="why the data is needed (kept in the audit log)")


@dataclass(frozen=True)
class Revealed:
    number: str
    reporter_name: str | None
    reporter_phone: str | None
    reporter_id_number: str | None
    #: The description as written (responses mask phone and ID numbers in it).
    description: str | None


def reveal(uow: UnitOfWork, ref: str, cmd: Reveal, actor: Actor, *, ip: str | None = None) -> Revealed:
    """The reporter's data of an event in the actor's scope, written to the audit log first."""
    authz.require(actor, PERSONAL_DATA_REVEAL)
    with uow:
        s = uow.session
        event = load_visible_event(s, ref, actor)
        fields = [f for f in ("reporter_name", "reporter_phone", "reporter_id_number") if getattr(event, f)]
        if mask_text(event.description) != event.description:
            fields.append("description")
        audit.record(s, actor, "personal_data.reveal", f"event:{event.number}",
                     {"reason": cmd.reason, "fields": fields}, ip=ip)
        uow.commit()
        return Revealed(event.number, event.reporter_name, event.reporter_phone, event.reporter_id_number,
                        event.description)
