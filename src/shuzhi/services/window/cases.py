"""Accepting an application at a window and following it to the result (受理 → 办理 → 办结 → 出件).

A case is an event of the loop (source ``service``) at the window's area, owned by the centre there;
each department's share is an ordinary lead task with the working-time clocks the loop already runs
(accept within :data:`ACCEPT_LIMIT`, handle within the matter's promised limit), so reminders,
overdue notices, urging, cards and escalation apply unchanged and the department works it in the same
inbox as any event. Shares of a later stage wait in ``service_case_shares`` and are dispatched when
the earlier stage is done (a ``TASK_HOOKS`` entry, in the same transaction as the report-back).

When the last required task is reported back the case completes: the tasks are verified and the event
closed on the timeline, and the applicant is told once through :data:`NOTIFIER` (the outbox, where an
SMS channel subscribes). A material accepted under 容缺 keeps the result back until it is supplied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.approval_documents import DOCX_TYPE, ApprovalDecision, decision_docx
from shuzhi.adapters.db.tables import Area, Attachment, Event, Task, Unit
from shuzhi.adapters.db.tables_notices import Notice
from shuzhi.adapters.db.tables_public_services import (
    ServiceBundle,
    ServiceCase,
    ServiceCaseMaterial,
    ServiceCaseShare,
    ServiceMatter,
    ServiceWindow,
)
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import notices as notice_rules
from shuzhi.domain import permissions as P
from shuzhi.domain.events import EventAction, EventState, IllegalTransition, TaskAction, TaskRole, TaskState
from shuzhi.domain.personal_data import mask_id_number, mask_name, mask_phone
from shuzhi.domain.self_rating import check_digest, new_check_code
from shuzhi.domain.service_applications import (
    ApplicationPlan,
    check_answers,
    plan_application,
    single_matter_plan,
    valid_id_number,
)
from shuzhi.domain.service_cases import (
    CaseAction,
    CaseState,
    MaterialStatus,
    case_action_after_task_change,
    check_checklist,
    next_case_state,
)
from shuzhi.domain.services_catalogue import PLACE_LABELS, MatterGuide, Place, Problem
from shuzhi.domain.time_limits import TimeLimit
from shuzhi.services import outbox
from shuzhi.services.actors import SYSTEM, Actor
from shuzhi.services.areas_lookup import ancestors, centre_for, single_district_centre
from shuzhi.services.calendars import calendar_for
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.intake import event_number
from shuzhi.services.notices.escalation import SMS_MAX_ATTEMPTS, new_code
from shuzhi.services.security import authz
from shuzhi.services.transitions import move_event, move_task, note, sync_event
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window.case_views import CaseView, case_for, case_view
from shuzhi.services.window.catalogue import invalid, load_bundle, load_matters

SOURCE = "service"
#: a department signs for a service task within this (an installation could make it data)
ACCEPT_LIMIT = TimeLimit.parse("4wh")
MODES = ("window", "nearest", "proxy", "dedicated")
_PHONE = re.compile(r"^1\d{10}$")
_CREDIT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

# --- the applicant is told once ------------------------------------------------------------------


class ApplicantNotifier(Protocol):
    """Port: tell the applicant their case is done and where to collect the result."""

    def case_completed(self, s: Session, case: ServiceCase, event: Event, text: str, at: datetime) -> None: ...


class OutboxNotifier:
    """Tells the applicant once, in the completing transaction: an SMS to the applicant's phone queued for
    the notice sender (``notices``: the Kannel gateway, retries, delivery reports, a failure reported to
    the window's inbox — the same durable path as the centre's own SMS), and one
    ``service.case_completed`` outbox message for other channels subscribed by webhook (it carries the
    phone masked, as every message fanned out to webhooks must; a subscriber looks it up by ``case_id``)."""

    def case_completed(self, s: Session, case: ServiceCase, event: Event, text: str, at: datetime) -> None:
        outbox.emit_many(s.connection(), [outbox.message(
            "service.case_completed", at,
            {"case_id": case.id, "number": case.number, "title": case.title, "text": text,
             "recipient": {"kind": "service_case_applicant", "case_id": case.id,
                           "phone_masked": mask_phone(case.applicant_phone)},
             "collect_at": case.collect_at},
            event_id=event.id, area_path=event.area_path)])
        phone = (case.applicant_phone or "").strip()
        if not _MOBILE.match(phone):
            return  # a landline cannot take an SMS: the outbox message and the window's inbox remain
        window = s.get(ServiceWindow, case.window_id)
        s.add(Notice(event_id=event.id, person_id=None, unit_id=window.unit_id if window else None, who="applicant",
                     channel="sms", address=phone, kind="service.case_completed", title="办件办结通知",
                     body=text, parts=notice_rules.sms_parts(text), code=new_code(), state="queued", attempts=0,
                     max_attempts=SMS_MAX_ATTEMPTS, next_attempt_at=at,
                     dedup_key=f"service.case_completed:{case.number}:sms:{phone}", created_at=at))


_MOBILE = re.compile(r"^1\d{10}$")


NOTIFIER: ApplicantNotifier = OutboxNotifier()


# --- accepting -----------------------------------------------------------------------------------


@dataclass
class Applicant:
    kind: str = "person"  # person|enterprise
    name: str = ""
    id_number: str | None = None
    phone: str | None = None
    #: 统一社会信用代码 of an enterprise applicant
    credit_code: str | None = None


@dataclass
class Proxy:
    name: str
    id_number: str
    phone: str | None = None
    relation: str = ""


@dataclass
class Apply:
    window_code: str
    applicant: Applicant
    matter_code: str | None = None
    bundle_code: str | None = None
    mode: str = "window"
    proxy: Proxy | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)
    #: matter code → material code → provided|deferred|not_provided
    materials: dict[str, dict[str, str]] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Receipt:
    """What the window hands the applicant (受理回执)."""

    number: str
    title: str
    accepted_at: datetime
    promised_at: datetime
    promised_days: int
    window: str
    departments: list[dict[str, Any]]
    skipped: list[str]
    deferred: list[dict[str, Any]]
    applicant: dict[str, str | None]
    #: printed on the receipt, shown once: with the number it lets the applicant rate the case unsigned
    check_code: str = ""


def _problems(problems: list[Problem], what: str) -> Invalid:
    return invalid(problems, what)


def _check_applicant(cmd: Apply) -> list[Problem]:
    a, out = cmd.applicant, []
    if a.kind not in ("person", "enterprise"):
        out.append(Problem("applicant.kind", "person or enterprise"))
    if not a.name.strip() or len(a.name) > 100:
        out.append(Problem("applicant.name", "a name of 1 to 100 characters"))
    if a.kind == "person" and (not a.id_number or not valid_id_number(a.id_number)):
        out.append(Problem("applicant.id_number", "a valid 18-digit resident ID number (check digit)"))
    if a.kind == "enterprise" and (not a.credit_code or not _CREDIT.match(a.credit_code.upper())):
        out.append(Problem("applicant.credit_code", "an 18-character unified social credit code"))
    if a.phone is not None and not _PHONE.match(a.phone):
        out.append(Problem("applicant.phone", "an 11-digit mobile number"))
    if a.phone is None:
        out.append(Problem("applicant.phone", "a mobile number to tell the applicant the result"))
    if cmd.mode not in MODES:
        out.append(Problem("mode", f"one of {', '.join(MODES)}"))
    if cmd.mode == "proxy":
        p = cmd.proxy
        if p is None:
            out.append(Problem("proxy", "帮代办 records who applied on the applicant's behalf"))
        else:
            if not p.name.strip():
                out.append(Problem("proxy.name", "is required"))
            if not valid_id_number(p.id_number):
                out.append(Problem("proxy.id_number", "a valid 18-digit resident ID number"))
            if not p.relation.strip():
                out.append(Problem("proxy.relation", "e.g. 代办员, 子女, 村干部"))
    elif cmd.proxy is not None:
        out.append(Problem("proxy", "only with mode 'proxy'"))
    if (cmd.matter_code is None) == (cmd.bundle_code is None):
        out.append(Problem("matter_code", "name either a matter or a bundle"))
    return out


def _window(s: Session, code: str, actor: Actor) -> ServiceWindow:
    w = s.scalar(select(ServiceWindow).where(ServiceWindow.code == code, ServiceWindow.active.is_(True)))
    # a window of another town reads as unknown, as any object outside the actor's scope
    if w is None or not (w.unit_id == actor.unit_id or authz.path_visible(actor, w.area_path)):
        raise Invalid(f"unknown window '{code}'", field="window_code")
    return w


def _plan(s: Session, cmd: Apply, w: ServiceWindow) -> tuple[str, ApplicationPlan, dict[str, MatterGuide]]:
    if cmd.bundle_code is not None:
        row = s.scalar(select(ServiceBundle).where(ServiceBundle.code == cmd.bundle_code,
                                                   ServiceBundle.active.is_(True)))
        if row is None:
            raise Invalid(f"unknown bundle '{cmd.bundle_code}'", field="bundle_code")
        b = load_bundle(s, row)
        problems = check_answers(b, cmd.answers, cmd.form)
        if problems:
            raise _problems(problems, "the application")
        matters = load_matters(s, [it.matter_code for it in b.items])
        plan = plan_application(b, matters, cmd.answers, cmd.form)
        title = f"【一件事】{b.name}"
    else:
        found = load_matters(s, [cmd.matter_code or ""])
        if cmd.matter_code not in found:
            raise Invalid(f"unknown matter '{cmd.matter_code}'", field="matter_code")
        matters = found
        plan = single_matter_plan(found[cmd.matter_code or ""])
        title = found[cmd.matter_code or ""].name
    if not plan.shares:
        raise Invalid("the answers skip every matter of the bundle: nothing to apply for", field="answers")
    place = Place(w.kind)
    for sh in plan.shares:
        for code in sh.matter_codes:
            if place not in matters[code].places:
                raise Invalid(f"「{matters[code].name}」 cannot be accepted at a {PLACE_LABELS[place]} "
                              f"(it can at: {'、'.join(PLACE_LABELS[p] for p in matters[code].places)})",
                              field="window_code")
    return title, plan, matters


def _materials(cmd: Apply, plan: ApplicationPlan, matters: dict[str, MatterGuide]) -> list[Problem]:
    problems: list[Problem] = []
    included = {c for sh in plan.shares for c in sh.matter_codes}
    for code in cmd.materials:
        if code not in included:
            problems.append(Problem(f"materials.{code}", "not a matter of this application"))
    for code in sorted(included):
        g = matters[code]
        given = cmd.materials.get(code, {})
        for mcode, msg in check_checklist([(m.code, m.required, m.deferrable) for m in g.materials], given):
            problems.append(Problem(f"materials.{code}.{mcode}", msg))
    return problems


def _note_case(s: Session, event: Event, actor: Actor, action: str, at: datetime, before: str | None,
               after: str | None, reason: str | None = None, payload: dict[str, Any] | None = None) -> None:
    note(s, event, actor, f"case.{action}", at, from_state=before, to_state=after, reason=reason,
         payload=payload)


def move_case(s: Session, case: ServiceCase, event: Event, action: CaseAction, actor: Actor, at: datetime, *,
              reason: str | None = None, payload: dict[str, Any] | None = None) -> None:
    """The one door every change of a case's state passes, with its timeline line (on the event's)."""
    before = CaseState(case.state)
    try:
        after = next_case_state(before, action)
    except IllegalTransition as exc:
        raise Conflict(str(exc), details={"state": before.value, "action": action.value}) from None
    case.state = after.value
    _note_case(s, event, actor, action.value, at, before.value, after.value, reason, payload)


def _instruction(share: ServiceCaseShare, names: dict[str, str], labels: dict[str, str]) -> str:
    lines = ["【一窗受理】" + "、".join(names.get(c, c) for c in share.matter_codes)]
    lines += [f"{labels.get(k, k)}：{v}" for k, v in share.fields.items()]
    return "\n".join(lines)


def _dispatch(s: Session, case: ServiceCase, event: Event, shares: list[ServiceCaseShare], actor: Actor,
              at: datetime, by_unit: int | None, labels: dict[str, str]) -> None:
    """One lead task per share, through the ORM so the supervision clock is planned at the flush —
    one flush for all of them (a round trip per task was most of a bundle's acceptance time)."""
    names = {m.code: m.name for m in s.scalars(select(ServiceMatter).where(
        ServiceMatter.code.in_([c for sh in shares for c in sh.matter_codes])))}
    units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_([sh.unit_id for sh in shares])))}
    tasks = []
    for sh in shares:
        cal = calendar_for(s, sh.unit_id)
        task = Task(event_id=event.id, unit_id=sh.unit_id, unit=units[sh.unit_id], role=TaskRole.LEAD.value,
                    state=TaskState.DISPATCHED.value, dispatched_by_unit_id=by_unit,
                    dispatched_by=actor.label, instruction=_instruction(sh, names, labels), dispatched_at=at,
                    accept_due_at=cal.deadline(at, ACCEPT_LIMIT),
                    handle_due_at=cal.deadline(at, TimeLimit.parse(f"{sh.promised_days}wd")),
                    rework_count=0, updated_at=at, version=1)
        event.tasks.append(task)
        tasks.append(task)
    s.flush()
    for sh, task in zip(shares, tasks, strict=True):
        sh.task_id, sh.state = task.id, "dispatched"
        u = units[sh.unit_id]
        note(s, event, actor, "task.create", at, task=task, to_state=task.state, payload={
            "unit": u.code, "unit_name": u.name, "role": task.role, "case": case.number, "stage": sh.stage,
            "matters": list(sh.matter_codes), "fields": sorted(sh.fields),
            "accept_due_at": task.accept_due_at.isoformat() if task.accept_due_at else None,
            "handle_due_at": task.handle_due_at.isoformat() if task.handle_due_at else None})


def apply(uow: UnitOfWork, cmd: Apply, actor: Actor, *, now: datetime | None = None) -> Receipt:
    """Accept an application at a window: one case, its first stage dispatched, a receipt.

    Refused (422, with the field) for an unknown window, matter or bundle, a matter that cannot be
    accepted at this kind of point, an unanswered question, a missing or malformed form field, a
    required material neither provided nor deferrable, a proxy application without the proxy."""
    authz.require(actor, P.EVENT_SUBMIT)
    at = now or datetime.now(UTC)
    problems = _check_applicant(cmd)
    if problems:
        raise _problems(problems, "the application")
    with uow:
        s = uow.session
        w = _window(s, cmd.window_code, actor)
        if cmd.mode == "nearest" and w.kind == "district_hall":
            raise Invalid("就近办 is accepting at a town or village point, not the district hall", field="mode")
        title, plan, matters = _plan(s, cmd, w)
        problems = _materials(cmd, plan, matters)
        if problems:
            raise _problems(problems, "the materials")
        depts = {u.code: u for u in s.scalars(select(Unit).where(
            Unit.code.in_([sh.department_code for sh in plan.shares])))}
        area = s.get(Area, w.area_id)
        assert area is not None
        owner = centre_for(s, area.path) or single_district_centre(s)
        codes = ancestors(area.path)
        district = codes[1] if len(codes) >= 2 else codes[0]
        a = cmd.applicant
        event = Event(number=event_number(s, district, at), source=SOURCE, request_type="apply",
                      title=title[:200], description=cmd.note or "", area_id=area.id, area_path=area.path,
                      address=w.name, reporter_name=a.name, reporter_phone=a.phone,
                      reporter_id_number=a.id_number, urgency="normal", mode="handle",
                      state=EventState.REGISTERED.value, owner_unit_id=owner.id if owner else None,
                      self_handled=False, rework_count=0, return_count=0, received_at=at, updated_at=at)
        s.add(event)
        s.flush()
        note(s, event, actor, "event.register", at, to_state=event.state,
             payload={"source": SOURCE, "window": w.code, "mode": cmd.mode})
        cal = calendar_for(s, w.unit_id)
        receipt_code = new_check_code()
        case = ServiceCase(
            check_digest=check_digest(event.number, receipt_code), event_id=event.id, number=event.number,
            kind="bundle" if cmd.bundle_code else "matter",
            matter_code=cmd.matter_code, bundle_code=cmd.bundle_code, title=title[:200], window_id=w.id,
            clerk_person_id=actor.person_id, clerk=actor.label, area_path=area.path, mode=cmd.mode,
            applicant_kind=a.kind, applicant_name=a.name, applicant_id_number=a.id_number or a.credit_code,
            applicant_phone=a.phone, proxy=None if cmd.proxy is None else {
                "name": cmd.proxy.name, "id_number": cmd.proxy.id_number, "phone": cmd.proxy.phone,
                "relation": cmd.proxy.relation},
            answers=dict(cmd.answers), form={k: str(v) for k, v in cmd.form.items()}, skipped=list(plan.skipped),
            stages=plan.stages, current_stage=1, promised_days=plan.promised_days,
            state=CaseState.ACCEPTED.value, accepted_at=at,
            promised_at=cal.deadline(at, TimeLimit.parse(f"{plan.promised_days}wd")),
            collect_at=w.name)
        s.add(case)
        s.flush()
        _note_case(s, event, actor, "accept", at, None, CaseState.ACCEPTED.value, payload={
            "window": w.code, "mode": cmd.mode, "proxy": bool(cmd.proxy), "skipped": list(plan.skipped),
            "promised_days": plan.promised_days})
        shares = [ServiceCaseShare(case_id=case.id, stage=sh.stage, unit_id=depts[sh.department_code].id,
                                   matter_codes=list(sh.matter_codes), fields=dict(sh.fields),
                                   promised_days=sh.promised_days, state="waiting") for sh in plan.shares]
        s.add_all(shares)
        deferred = []
        for code in sorted({c for sh in plan.shares for c in sh.matter_codes}):
            g = matters[code]
            given = cmd.materials.get(code, {})
            for m in g.materials:
                status = given.get(m.code, MaterialStatus.NOT_PROVIDED.value)
                due = cal.deadline(at, TimeLimit.parse(f"{g.deferral_days}wd")) \
                    if status == MaterialStatus.DEFERRED else None
                s.add(ServiceCaseMaterial(case_id=case.id, matter_code=code, material_code=m.code, name=m.name,
                                          required=m.required, status=status, due_at=due))
                if due is not None:
                    deferred.append({"matter": g.name, "material": m.name, "due_at": due})
        move_event(s, event, EventAction.DISPATCH, actor, at, reason="一窗受理，分送部门办理",
                   payload={"case": case.number, "stages": plan.stages})
        event.dispatched_at = at
        labels = _labels(s, case)
        _dispatch(s, case, event, [sh for sh in shares if sh.stage == 1], actor, at, w.unit_id, labels)
        move_case(s, case, event, CaseAction.DISPATCH, actor, at,
                  payload={"stage": 1, "tasks": sum(1 for sh in shares if sh.stage == 1)})
        uow.commit()
        unit_names = {u.id: u.name for u in depts.values()}
        return Receipt(case.number, case.title, at, case.promised_at, case.promised_days, w.name,
                       [{"department": unit_names[sh.unit_id], "stage": sh.stage, "matters": sh.matter_codes}
                        for sh in shares], list(plan.skipped), deferred,
                       {"name": mask_name(a.name), "id_number": mask_id_number(a.id_number or a.credit_code),
                        "phone": mask_phone(a.phone)}, receipt_code)


def _labels(s: Session, case: ServiceCase) -> dict[str, str]:
    if case.bundle_code is None:
        return {}
    row = s.scalar(select(ServiceBundle).where(ServiceBundle.code == case.bundle_code))
    if row is None:
        return {}
    return {f["key"]: f["label"] for f in row.document.get("fields", [])}


# --- following the tasks -------------------------------------------------------------------------

_DONE = (TaskState.REPORTED_BACK.value, TaskState.VERIFIED.value)
_GONE = (TaskState.RETURNED.value, TaskState.CANCELLED.value, TaskState.ESCALATED.value)


def on_task_change(s: Session, event: Event, task: Task, action: str) -> None:
    """TASK_HOOKS: a service task reported back may finish its stage (release the next) or the case."""
    if event.source != SOURCE or action != TaskAction.REPORT_BACK.value:
        return
    case = s.scalar(select(ServiceCase).where(ServiceCase.event_id == event.id))
    if case is None:
        return
    at = task.updated_at
    share = s.scalar(select(ServiceCaseShare).where(ServiceCaseShare.task_id == task.id))
    if share is not None:
        share.state = "done"
        _seal(s, case, event, task, share)
    live = [t for t in event.tasks if t.role != TaskRole.NOTIFY.value and t.state not in _GONE]
    stage_done = bool(live) and all(t.state in _DONE for t in live)
    owed = _materials_owed(s, case)
    decision = case_action_after_task_change(CaseState(case.state), case.stages - case.current_stage, stage_done,
                                             owed)
    if decision is CaseAction.RELEASE_STAGE:
        case.current_stage += 1
        nxt = list(s.scalars(select(ServiceCaseShare).where(ServiceCaseShare.case_id == case.id,
                                                            ServiceCaseShare.stage == case.current_stage)))
        move_case(s, case, event, CaseAction.RELEASE_STAGE, SYSTEM, at, reason=f"第{case.current_stage - 1}阶段已办结",
                  payload={"stage": case.current_stage, "tasks": len(nxt)})
        window = s.get(ServiceWindow, case.window_id)
        _dispatch(s, case, event, nxt, SYSTEM, at, window.unit_id if window else None, _labels(s, case))
    elif decision in (CaseAction.TASKS_DONE, CaseAction.WAIT_MATERIALS):
        _finish_tasks(s, event, at)
        move_case(s, case, event, decision, SYSTEM, at,
                  reason="各部门均已办结" + ("，待补齐容缺材料后出证" if decision is CaseAction.WAIT_MATERIALS else ""))
        if decision is CaseAction.TASKS_DONE:
            _complete(s, case, event, at)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def _seal(s: Session, case: ServiceCase, event: Event, task: Task, share: ServiceCaseShare) -> None:
    """一枚印章管审批: the approval bureau reported its share back — the matters it approves on the
    departments' behalf are approved under its one seal: a ``case.approve`` line on the case's timeline
    naming the seal's unit, and the electronic decision (准予行政许可决定书, Word) with the case number
    attached to the case's event."""
    unit = s.get(Unit, task.unit_id)
    if unit is None:
        return
    guides = load_matters(s, share.matter_codes)
    approved = [g for g in guides.values() if g.approved_by == unit.code]
    if not approved:
        return
    at = task.updated_at
    depts = {u.code: u.name for u in s.scalars(select(Unit).where(
        Unit.code.in_({g.department_code for g in approved})))}
    local = at.astimezone(SHANGHAI)
    doc_number = f"{unit.name.removeprefix('重庆市')[:2]}审批〔{local.year}〕{case.number}号"
    data = decision_docx(ApprovalDecision(
        doc_number, case.number, case.applicant_name,
        tuple((g.name, g.legal_basis, depts.get(g.department_code, g.department_code)) for g in approved),
        task.result or "准予许可", unit.name, local.date()))
    att = Attachment(event_id=event.id, task_id=task.id, filename=f"准予行政许可决定书-{case.number}.docx",
                     content_type=DOCX_TYPE, size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
                     uploaded_by=unit.name[:60], created_at=at)
    s.add(att)
    s.flush()
    # the timeline names the seal, not a person: the bureau's one seal stands for the approval
    seal_name = f"{unit.name}（行政审批专用章）"[:60]
    seal = Actor(code=seal_name, name=seal_name, unit_id=unit.id)
    note(s, event, seal, "case.approve", at, task=task, reason=f"准予许可：{'、'.join(g.name for g in approved)}",
         payload={"seal_unit": unit.code, "seal_unit_name": unit.name, "document_number": doc_number,
                  "attachment": att.id, "matters": [g.code for g in approved],
                  "on_behalf_of": sorted({g.department_code for g in approved})})


def _finish_tasks(s: Session, event: Event, at: datetime) -> None:
    """The departments' work is done: their tasks verified, the event verified and closed."""
    for t in event.tasks:
        if t.state == TaskState.REPORTED_BACK.value:
            move_task(s, event, t, TaskAction.VERIFY, SYSTEM, at, reason="一件事各部门办结")
            t.verified_at = at
    sync_event(s, event, SYSTEM, at)
    if event.state == EventState.REPORTED_BACK.value:
        move_event(s, event, EventAction.VERIFY, SYSTEM, at, reason="各部门均已办结")
        move_event(s, event, EventAction.CLOSE, SYSTEM, at, reason="办件办结")
        event.closed_at = at


def _materials_owed(s: Session, case: ServiceCase) -> bool:
    return s.scalar(select(ServiceCaseMaterial.id).where(
        ServiceCaseMaterial.case_id == case.id, ServiceCaseMaterial.status == MaterialStatus.DEFERRED.value)
        .limit(1)) is not None


def _complete(s: Session, case: ServiceCase, event: Event, at: datetime) -> None:
    """Completed: tell the applicant once, and the window that a result waits to be handed out."""
    case.completed_at = at
    if case.notified_at is not None:
        return
    text = f"您办理的「{case.title}」（办件号{case.number}）已办结，请携带身份证件到{case.collect_at}领取结果。"
    NOTIFIER.case_completed(s, case, event, text, at)
    case.notified_at = at
    _note_case(s, event, SYSTEM, "notify_applicant", at, None, None, reason=text,
               payload={"phone": mask_phone(case.applicant_phone)})
    window = s.get(ServiceWindow, case.window_id)
    if window is not None:
        s.add(Notification(unit_id=window.unit_id, event_id=event.id, kind="service.completed",
                           title=f"办件已办结待出件：{case.title}"[:200], body=text,
                           payload={"case": case.number}, created_at=at))



# --- the window's later steps --------------------------------------------------------------------


def supply_material(uow: UnitOfWork, number: str, material_id: int, actor: Actor, *,
                    attachment_id: int | None = None, now: datetime | None = None) -> CaseView:
    """A material accepted under 容缺 is handed in; the last one releases a waiting result."""
    authz.require(actor, P.EVENT_SUBMIT)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        case, event = case_for(s, number, actor)
        m = s.get(ServiceCaseMaterial, material_id)
        if m is None or m.case_id != case.id:
            raise Invalid(f"material {material_id} is not part of case {number}", field="material_id")
        if m.status != MaterialStatus.DEFERRED.value:
            raise Conflict(f"material 「{m.name}」 is {m.status}, not owed")
        if CaseState(case.state) not in (CaseState.ACCEPTED, CaseState.HANDLING, CaseState.AWAITING_MATERIALS):
            raise Conflict(f"case {number} is {case.state}")
        if attachment_id is not None and s.scalar(select(Attachment.id).where(
                Attachment.id == attachment_id, Attachment.event_id == event.id)) is None:
            raise Invalid(f"attachment {attachment_id} is not a scan of case {number}", field="attachment_id")
        m.status, m.supplied_at, m.attachment_id = MaterialStatus.SUPPLIED.value, at, attachment_id
        _note_case(s, event, actor, "material_supplied", at, None, None, reason=m.name,
                   payload={"material": m.material_code, "matter": m.matter_code,
                            "late": bool(m.due_at and at > m.due_at)})
        s.flush()
        if case.state == CaseState.AWAITING_MATERIALS.value and not _materials_owed(s, case):
            move_case(s, case, event, CaseAction.MATERIALS_SUPPLIED, actor, at, reason="容缺材料已补齐")
            _complete(s, case, event, at)
        uow.commit()
        return case_view(s, case, event)


def deliver(uow: UnitOfWork, number: str, actor: Actor, *, how: str = "window", now: datetime | None = None
            ) -> CaseView:
    """The result is handed over (窗口取件) or posted (邮寄)."""
    authz.require(actor, P.EVENT_SUBMIT)
    if how not in ("window", "post"):
        raise Invalid("window or post", field="how")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        case, event = case_for(s, number, actor)
        move_case(s, case, event, CaseAction.DELIVER, actor, at, payload={"how": how})
        case.delivered_at = at
        uow.commit()
        return case_view(s, case, event)


def withdraw(uow: UnitOfWork, number: str, reason: str, actor: Actor, *, now: datetime | None = None) -> CaseView:
    """The applicant withdraws: open tasks cancelled, the event cancelled, the case ended."""
    authz.require(actor, P.EVENT_SUBMIT)
    if not reason.strip():
        raise Invalid("say why", field="reason")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        case, event = case_for(s, number, actor)
        move_case(s, case, event, CaseAction.WITHDRAW, actor, at, reason=reason)
        for t in event.tasks:
            if t.state not in _GONE and t.state not in (TaskState.VERIFIED.value, TaskState.READ.value):
                move_task(s, event, t, TaskAction.CANCEL, actor, at, reason=f"申请人撤回：{reason}")
                t.ended_at, t.end_reason = at, reason
        for sh in s.scalars(select(ServiceCaseShare).where(ServiceCaseShare.case_id == case.id,
                                                           ServiceCaseShare.state == "waiting")):
            sh.state = "cancelled"
        if EventState(event.state) in (EventState.REGISTERED, EventState.DISPATCHED, EventState.HANDLING,
                                       EventState.REPORTED_BACK):
            move_event(s, event, EventAction.CANCEL, actor, at, reason=f"申请人撤回：{reason}")
        uow.commit()
        return case_view(s, case, event)
