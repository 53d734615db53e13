"""Reading a service case (办件): the case in the reader's scope, with its shares, materials and the
applicant masked (revealing goes through the event, audited)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, TimelineEntry, Unit
from shuzhi.adapters.db.tables_public_services import (
    ServiceCase,
    ServiceCaseMaterial,
    ServiceCaseShare,
    ServiceWindow,
)
from shuzhi.domain import permissions as P
from shuzhi.domain.personal_data import mask_id_number, mask_name, mask_phone
from shuzhi.services.actors import Actor
from shuzhi.services.errors import NotFound
from shuzhi.services.handling import load_visible_event
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork


def case_for(s: Session, number: str, actor: Actor) -> tuple[ServiceCase, Event]:
    event = load_visible_event(s, number, actor)  # out of scope reads as missing (404)
    case = s.scalar(select(ServiceCase).where(ServiceCase.event_id == event.id))
    if case is None:
        raise NotFound("case not found")
    return case, event




@dataclass(frozen=True)
class CaseView:
    number: str
    title: str
    state: str
    event_state: str
    kind: str
    mode: str
    window: str
    clerk: str
    applicant: dict[str, str | None]
    proxy: dict[str, str | None] | None
    accepted_at: datetime
    promised_at: datetime
    completed_at: datetime | None
    notified_at: datetime | None
    delivered_at: datetime | None
    overdue: bool
    stages: int
    current_stage: int
    skipped: list[str]
    shares: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    rated: bool
    #: 一枚印章管审批: each approval under the bureau's seal, with its electronic decision (Word)
    approvals: list[dict[str, Any]] = field(default_factory=list)


def case_view(s: Session, case: ServiceCase, event: Event) -> CaseView:
    from shuzhi.adapters.db.tables_public_services import ServiceRating

    units = {u.id: u for u in s.scalars(select(Unit).join(ServiceCaseShare, ServiceCaseShare.unit_id == Unit.id)
                                        .where(ServiceCaseShare.case_id == case.id))}
    tasks = {t.id: t for t in event.tasks}
    shares = []
    for sh in s.scalars(select(ServiceCaseShare).where(ServiceCaseShare.case_id == case.id)
                        .order_by(ServiceCaseShare.stage, ServiceCaseShare.id)):
        t = tasks.get(sh.task_id) if sh.task_id else None
        shares.append({"stage": sh.stage, "department": units[sh.unit_id].name, "unit_code": units[sh.unit_id].code,
                       "matters": sh.matter_codes, "state": sh.state, "task_id": sh.task_id,
                       "task_state": t.state if t else None, "handle_due_at": t.handle_due_at if t else None})
    materials = [{"id": m.id, "matter": m.matter_code, "code": m.material_code, "name": m.name,
                  "required": m.required, "status": m.status, "due_at": m.due_at, "supplied_at": m.supplied_at}
                 for m in s.scalars(select(ServiceCaseMaterial).where(ServiceCaseMaterial.case_id == case.id)
                                    .order_by(ServiceCaseMaterial.id))]
    window = s.get(ServiceWindow, case.window_id)
    end = case.completed_at or datetime.now(UTC)
    proxy = None if case.proxy is None else {"name": mask_name(case.proxy.get("name")),
                                             "id_number": mask_id_number(case.proxy.get("id_number")),
                                             "relation": case.proxy.get("relation")}
    rated = s.scalar(select(ServiceRating.id).where(ServiceRating.case_id == case.id)) is not None
    approvals = [{"seal_unit": e.payload.get("seal_unit_name"), "document_number": e.payload.get("document_number"),
                  "matters": e.payload.get("matters"), "at": e.at,
                  "url": f"/api/attachments/{e.payload.get('attachment')}"}
                 for e in s.scalars(select(TimelineEntry).where(TimelineEntry.event_id == event.id,
                                                                TimelineEntry.action == "case.approve")
                                    .order_by(TimelineEntry.id))]
    return CaseView(case.number, case.title, case.state, event.state, case.kind, case.mode,
                    window.name if window else "", case.clerk,
                    {"kind": case.applicant_kind, "name": mask_name(case.applicant_name),
                     "id_number": mask_id_number(case.applicant_id_number), "phone": mask_phone(case.applicant_phone)},
                    proxy, case.accepted_at, case.promised_at, case.completed_at, case.notified_at,
                    case.delivered_at, end > case.promised_at, case.stages, case.current_stage, list(case.skipped),
                    shares, materials, rated, approvals)


def get_case(uow: UnitOfWork, number: str, actor: Actor) -> CaseView:
    """A case with its shares and materials; the applicant masked (reveal goes through the event)."""
    authz.require(actor, P.EVENT_READ)
    with uow:
        s = uow.session
        case, event = case_for(s, number, actor)
        return case_view(s, case, event)
