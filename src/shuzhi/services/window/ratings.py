"""好差评: rating a case or a visit, verifying every 差评, and the rates.

* A rating is stored once per case or visit and never changed (unique keys; an ORM guard refuses an
  update). It is recorded at the window's rating device (评价器) with the clerk's session, or online.
* A 差评 opens a verification for the unit that accepted the case (the one window answers for the
  whole service and works with the departments): call back within the installation's call-back limit,
  classify, rectify, reply and close within its answer limit (1–15 working days, ``service_settings``).
  Every step is a line of ``service_timeline``; a 差评 of a case also goes on the case's timeline.
* The rates — 好评率, 差评整改率, on-time rectification — per window, department, town and clerk:
  :mod:`shuzhi.services.window.rating_figures`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, Unit
from shuzhi.adapters.db.tables_public_services import (
    ServiceCase,
    ServiceEnterprise,
    ServiceMatter,
    ServiceRating,
    ServiceSettings,
    ServiceTimeline,
    ServiceVerification,
    ServiceVisit,
    ServiceWhistle,
    ServiceWhistleRating,
    ServiceWindow,
)
from shuzhi.adapters.db.tables_supervision import Notification
from shuzhi.domain import permissions as P
from shuzhi.domain.events import IllegalTransition
from shuzhi.domain.personal_data import mask_name, mask_phone
from shuzhi.domain.ratings import (
    LEVEL_LABELS,
    LEVEL_SCORES,
    Classification,
    Grade,
    Level,
    VAction,
    VState,
    check_limit_days,
    check_rating,
    next_verification_state,
    on_time,
)
from shuzhi.domain.service_cases import RATEABLE_CASE_STATES, CaseState
from shuzhi.domain.time_limits import TimeLimit
from shuzhi.services.actors import Actor
from shuzhi.services.calendars import calendar_for
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.transitions import note
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window.case_views import case_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_LIMIT_DAYS = 15  # 国办发〔2019〕51号: 差评整改反馈 at most 15 working days
DEFAULT_CALLBACK_DAYS = 1


def _log(s: Session, subject: str, subject_id: int, actor: Actor, action: str, at: datetime, *,
         before: str | None = None, after: str | None = None, reason: str | None = None,
         payload: dict[str, Any] | None = None) -> None:
    s.add(ServiceTimeline(subject=subject, subject_id=subject_id, at=at, actor_id=actor.person_id,
                          actor=actor.label, action=action, from_state=before, to_state=after, reason=reason,
                          payload=payload or {}))


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    bad_rating_limit_days: int
    callback_limit_days: int


def _settings(s: Session) -> Settings:
    row = s.get(ServiceSettings, 1)
    if row is None:
        return Settings(DEFAULT_LIMIT_DAYS, DEFAULT_CALLBACK_DAYS)
    return Settings(row.bad_rating_limit_days, row.callback_limit_days)


def get_settings(uow: UnitOfWork, actor: Actor) -> Settings:
    authz.require(actor, P.EVALUATION_READ)
    with uow:
        return _settings(uow.session)


def put_settings(uow: UnitOfWork, bad_rating_limit_days: Any, callback_limit_days: Any, actor: Actor, *,
                 now: datetime | None = None) -> Settings:
    """The installation's limits: answer a 差评 within 1–15 working days, call back no later."""
    authz.require(actor, P.EVALUATION_WRITE)
    problems = check_limit_days(bad_rating_limit_days, "bad_rating_limit_days") + \
        check_limit_days(callback_limit_days, "callback_limit_days")
    if problems:
        raise Invalid(problems[0][1], field=problems[0][0])
    if callback_limit_days > bad_rating_limit_days:
        raise Invalid("the call-back limit cannot be longer than the answer limit", field="callback_limit_days")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        row = s.get(ServiceSettings, 1)
        before = None if row is None else {"bad_rating_limit_days": row.bad_rating_limit_days,
                                           "callback_limit_days": row.callback_limit_days}
        if row is None:
            row = ServiceSettings(id=1)
            s.add(row)
        row.bad_rating_limit_days, row.callback_limit_days = bad_rating_limit_days, callback_limit_days
        row.updated_by, row.updated_at = actor.label, at
        _log(s, "settings", 1, actor, "settings.update", at,
             payload={"bad_rating_limit_days": bad_rating_limit_days, "callback_limit_days": callback_limit_days})
        audit.record_change(s, actor, "service.settings.update", "service_settings", before,
                            {"bad_rating_limit_days": bad_rating_limit_days,
                             "callback_limit_days": callback_limit_days})
        uow.commit()
        return _settings(s)


# --- rating --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingOut:
    id: int
    grade: str
    level: str
    level_label: str
    rated_at: datetime
    verification_id: int | None
    verification_due_at: datetime | None


def _store_rating(s: Session, actor: Actor, at: datetime, raw: dict[str, Any], *, case: ServiceCase | None,
                  visit: ServiceVisit | None, window: ServiceWindow, rater_name: str | None,
                  rater_phone: str | None, subject_code: str | None, event: Event | None) -> RatingOut:
    checked, problems = check_rating(raw.get("channel", "window"), raw.get("levels"), raw.get("comment"),
                                     raw.get("named", False))
    if checked is None:
        raise Invalid(problems[0][1], field=problems[0][0], details=[{"field": f, "message": m} for f, m in problems])
    r = ServiceRating(case_id=case.id if case else None, visit_id=visit.id if visit else None,
                      channel=checked.channel.value, level=checked.overall.value, grade=checked.grade.value,
                      levels={k: v.value for k, v in checked.levels.items()}, comment=checked.comment,
                      named=checked.named, rater_name=rater_name if checked.named else None,
                      rater_phone=rater_phone if checked.named else None, window_id=window.id,
                      clerk_person_id=(case.clerk_person_id if case else visit.clerk_person_id if visit else None),
                      area_path=window.area_path, subject_code=subject_code, rated_at=at)
    s.add(r)
    try:
        s.flush()
    except IntegrityError:
        raise Conflict("this service has already been rated; a rating is given once and never changed") from None
    _log(s, "rating", r.id, actor, "rating.create", at, payload={
        "grade": r.grade, "level": r.level, "channel": r.channel, "named": r.named,
        "case": case.number if case else None, "visit": visit.id if visit else None})
    if event is not None:
        note(s, event, actor, "case.rated", at, reason=LEVEL_LABELS[Level(r.level)],
             payload={"rating": r.id, "grade": r.grade})
    v = None
    if checked.grade is Grade.BAD:
        v = _open_verification(s, r, window, actor, at, event)
    return RatingOut(r.id, r.grade, r.level, LEVEL_LABELS[Level(r.level)], at, v.id if v else None,
                     v.due_at if v else None)


def _open_verification(s: Session, r: ServiceRating, window: ServiceWindow, actor: Actor, at: datetime,
                       event: Event | None) -> ServiceVerification:
    conf = _settings(s)
    cal = calendar_for(s, window.unit_id)
    v = ServiceVerification(
        rating_id=r.id, unit_id=window.unit_id, area_path=window.area_path, named=r.named,
        state=VState.OPEN.value, opened_at=at, limit_days=conf.bad_rating_limit_days,
        callback_due_at=cal.deadline(at, TimeLimit.parse(f"{conf.callback_limit_days}wd")),
        due_at=cal.deadline(at, TimeLimit.parse(f"{conf.bad_rating_limit_days}wd")))
    s.add(v)
    s.flush()
    _log(s, "verification", v.id, actor, "verification.open", at, after=v.state, payload={
        "rating": r.id, "named": r.named, "due_at": v.due_at.isoformat(),
        "callback_due_at": v.callback_due_at.isoformat()})
    what = f"办件{event.number}" if event is not None else f"窗口{window.name}"
    s.add(Notification(unit_id=window.unit_id, event_id=event.id if event else None, kind="service.bad_rating",
                       title=f"差评待核实整改：{what}"[:200], body=r.comment,
                       payload={"verification": v.id, "due_at": v.due_at.isoformat(), "named": r.named},
                       created_at=at))
    return v


def open_whistle_verification(s: Session, r: ServiceWhistleRating, event: Event, enterprise_name: str,
                              actor: Actor, at: datetime) -> ServiceVerification:
    """An enterprise's 差评 of its call's handling (政企双向评价) opens a verification like a service 差评:
    the centre that owns the call answers for it (it routed the call and works with the departments), on
    the installation's limits and that unit's calendar. The enterprise is known by name, so it is called
    back always (100 % 回访, no ``unreachable`` exit)."""
    conf = _settings(s)
    cal = calendar_for(s, event.owner_unit_id)
    v = ServiceVerification(
        whistle_rating_id=r.id, unit_id=event.owner_unit_id, area_path=event.area_path, named=True,
        state=VState.OPEN.value, opened_at=at, limit_days=conf.bad_rating_limit_days,
        callback_due_at=cal.deadline(at, TimeLimit.parse(f"{conf.callback_limit_days}wd")),
        due_at=cal.deadline(at, TimeLimit.parse(f"{conf.bad_rating_limit_days}wd")))
    s.add(v)
    s.flush()
    _log(s, "verification", v.id, actor, "verification.open", at, after=v.state, payload={
        "whistle_rating": r.id, "call": event.number, "enterprise": enterprise_name, "named": True,
        "due_at": v.due_at.isoformat(), "callback_due_at": v.callback_due_at.isoformat()})
    note(s, event, actor, "whistle.verification_opened", at, reason=f"企业差评待核实整改（{enterprise_name}）",
         payload={"verification": v.id, "due_at": v.due_at.isoformat()})
    return v


def rate_case(uow: UnitOfWork, number: str, body: dict[str, Any], actor: Actor, *, now: datetime | None = None
              ) -> RatingOut:
    """The applicant rates a completed case (at the window's device, or online): once, for good."""
    authz.require(actor, P.EVENT_SUBMIT)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        case, event = case_for(s, number, actor)
        if CaseState(case.state) not in RATEABLE_CASE_STATES:
            raise Conflict(f"case {number} is {case.state}: it can be rated once it is completed")
        window = s.get(ServiceWindow, case.window_id)
        assert window is not None
        out = _store_rating(s, actor, at, body, case=case, visit=None, window=window,
                            rater_name=case.applicant_name, rater_phone=case.applicant_phone,
                            subject_code=case.bundle_code or case.matter_code, event=event)
        uow.commit()
        return out


def record_visit(uow: UnitOfWork, window_code: str, purpose: str, actor: Actor, *, matter_code: str | None = None,
                 now: datetime | None = None) -> int:
    """A window visit that is not a case (咨询, 查询): it can be rated on its own."""
    authz.require(actor, P.EVENT_SUBMIT)
    if not purpose.strip() or len(purpose) > 200:
        raise Invalid("what the visit was for, 1 to 200 characters", field="purpose")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        w = s.scalar(select(ServiceWindow).where(ServiceWindow.code == window_code))
        if w is None or not (w.unit_id == actor.unit_id or authz.path_visible(actor, w.area_path)):
            raise Invalid(f"unknown window '{window_code}'", field="window_code")
        if matter_code is not None and s.scalar(select(ServiceMatter.id).where(ServiceMatter.code == matter_code)) \
                is None:
            raise Invalid(f"unknown matter '{matter_code}'", field="matter_code")
        v = ServiceVisit(window_id=w.id, clerk_person_id=actor.person_id, clerk=actor.label, area_path=w.area_path,
                         matter_code=matter_code, purpose=purpose.strip(), at=at)
        s.add(v)
        s.flush()
        _log(s, "visit", v.id, actor, "visit.create", at, payload={"window": w.code, "matter": matter_code})
        uow.commit()
        return v.id


def rate_visit(uow: UnitOfWork, visit_id: int, body: dict[str, Any], actor: Actor, *, now: datetime | None = None
               ) -> RatingOut:
    authz.require(actor, P.EVENT_SUBMIT)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        visit = s.get(ServiceVisit, visit_id)
        if visit is None or not (authz.path_visible(actor, visit.area_path)
                                 or visit.clerk_person_id == actor.person_id):
            raise NotFound("visit not found")
        window = s.get(ServiceWindow, visit.window_id)
        assert window is not None
        raw = body.get("rater")
        rater: dict[str, Any] = raw if isinstance(raw, dict) else {}
        out = _store_rating(s, actor, at, body, case=None, visit=visit, window=window,
                            rater_name=rater.get("name"), rater_phone=rater.get("phone"),
                            subject_code=visit.matter_code, event=None)
        uow.commit()
        return out


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationOut:
    id: int
    state: str
    named: bool
    grade: str
    level_label: str
    comment: str
    rater: dict[str, str | None]
    case: str | None
    window: str
    opened_at: datetime
    callback_due_at: datetime
    due_at: datetime
    overdue: bool
    classification: str | None
    appeal: str | None
    appeal_decision: str | None
    rectification: str | None
    reply: str | None
    replied_at: datetime | None
    on_time: bool | None
    outcome: str | None
    version: int
    timeline: list[dict[str, Any]]
    #: ``service`` (a case's or a visit's 差评) or ``whistle`` (an enterprise's 差评 of its call's handling)
    kind: str = "service"


_TEXT_NEEDED = {VAction.CALL_BACK: "callback_note", VAction.UNREACHABLE: "callback_note",
                VAction.CLASSIFY_MISTAKEN: "appeal", VAction.CLASSIFY_MALICIOUS: "appeal",
                VAction.RECTIFY: "rectification", VAction.REPLY: "reply", VAction.CLOSE: "outcome",
                VAction.UPHOLD_APPEAL: "note", VAction.REJECT_APPEAL: "note"}


def _visible(s: Session, vid: int, actor: Actor) -> ServiceVerification:
    v = s.get(ServiceVerification, vid)
    if v is None or not (authz.path_visible(actor, v.area_path) or v.unit_id == actor.unit_id):
        raise NotFound("verification not found")
    return v


def act(uow: UnitOfWork, vid: int, action: str, body: dict[str, Any], actor: Actor, *,
        now: datetime | None = None) -> VerificationOut:
    """One step of a 差评's verification; the appeal is decided by the rating office (evaluation.write)."""
    try:
        a = VAction(action)
    except ValueError:
        raise NotFound(f"no action '{action}'") from None
    authz.require(actor, P.EVALUATION_WRITE if a in (VAction.UPHOLD_APPEAL, VAction.REJECT_APPEAL)
                  else P.EVENT_VERIFY)
    key = _TEXT_NEEDED.get(a)
    text = body.get(key) if key else body.get("note")
    if key and (not isinstance(text, str) or not text.strip()):
        raise Invalid(f"'{key}' is required for {a.value}", field=key)
    if isinstance(text, str) and len(text) > 2000:
        raise Invalid("longer than 2000 characters", field=key or "note")
    satisfied = body.get("rater_satisfied")
    if a is VAction.CLOSE and not isinstance(satisfied, bool):
        raise Invalid("did the rater accept the answer? true or false", field="rater_satisfied")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        v = _visible(s, vid, actor)
        expected = body.get("expected_version")
        if expected is not None and expected != v.version:
            raise Conflict("the verification was changed meanwhile; reload and retry")
        before = VState(v.state)
        try:
            after = next_verification_state(before, a, named=v.named)
        except IllegalTransition as exc:
            raise Conflict(str(exc), details={"state": before.value, "action": a.value}) from None
        _apply(v, a, text.strip() if isinstance(text, str) else None, satisfied, at)
        v.state = after.value
        _log(s, "verification", v.id, actor, f"verification.{a.value}", at, before=before.value, after=after.value,
             reason=text if isinstance(text, str) else None)
        uow.commit()
        return _verification_out(s, v)


def _apply(v: ServiceVerification, a: VAction, text: str | None, satisfied: Any, at: datetime) -> None:
    if a in (VAction.CALL_BACK, VAction.UNREACHABLE):
        v.called_back_at, v.callback_note = at, text
    elif a is VAction.CLASSIFY_REAL:
        v.classification = Classification.REAL.value
    elif a in (VAction.CLASSIFY_MISTAKEN, VAction.CLASSIFY_MALICIOUS):
        v.classification = (Classification.MISTAKEN if a is VAction.CLASSIFY_MISTAKEN else Classification.MALICIOUS
                             ).value
        v.appeal = text
    elif a is VAction.UPHOLD_APPEAL:
        v.appeal_decision = "upheld"
        v.rectification = f"申诉成立：{text}"
        v.rectified_at = at
    elif a is VAction.REJECT_APPEAL:
        v.appeal_decision = "rejected"
        v.classification = Classification.REAL.value
    elif a is VAction.RECTIFY:
        v.rectification, v.rectified_at = text, at
    elif a is VAction.REPLY:
        v.reply, v.replied_at = text, at
    elif a is VAction.CLOSE:
        v.outcome, v.rater_satisfied, v.closed_at = text, satisfied, at


def _whistle_verification_out(s: Session, v: ServiceVerification, lines: list[dict[str, Any]]) -> VerificationOut:
    """An enterprise's 差评 of its call: the call's number where a case's would be, the enterprise by name
    (an enterprise, not a person: nothing to mask)."""
    wr = s.get(ServiceWhistleRating, v.whistle_rating_id)
    assert wr is not None
    w = s.get(ServiceWhistle, wr.whistle_id)
    ent = s.get(ServiceEnterprise, wr.enterprise_id)
    event = s.get(Event, w.event_id) if w is not None else None
    now = datetime.now(UTC)
    return VerificationOut(
        v.id, v.state, v.named, wr.grade, LEVEL_LABELS[Level(wr.level)], wr.comment,
        {"name": ent.name if ent else None, "phone": None}, event.number if event else None, "企业吹哨",
        v.opened_at, v.callback_due_at, v.due_at,
        (v.replied_at or now) > v.due_at, v.classification, v.appeal, v.appeal_decision, v.rectification, v.reply,
        v.replied_at, on_time(v.replied_at, v.due_at) if v.replied_at else None, v.outcome, v.version, lines,
        kind="whistle")


def _verification_out(s: Session, v: ServiceVerification) -> VerificationOut:
    if v.whistle_rating_id is not None:
        return _whistle_verification_out(s, v, _lines(s, v))
    r = s.get(ServiceRating, v.rating_id)
    assert r is not None
    case = s.get(ServiceCase, r.case_id) if r.case_id else None
    w = s.get(ServiceWindow, r.window_id)
    lines = _lines(s, v)
    now = datetime.now(UTC)
    return VerificationOut(
        v.id, v.state, v.named, r.grade, LEVEL_LABELS[Level(r.level)], r.comment,
        {"name": mask_name(r.rater_name), "phone": mask_phone(r.rater_phone)}, case.number if case else None,
        w.name if w else "", v.opened_at, v.callback_due_at, v.due_at,
        (v.replied_at or now) > v.due_at, v.classification, v.appeal, v.appeal_decision, v.rectification, v.reply,
        v.replied_at, on_time(v.replied_at, v.due_at) if v.replied_at else None, v.outcome, v.version, lines)


def _lines(s: Session, v: ServiceVerification) -> list[dict[str, Any]]:
    return [{"at": t.at, "actor": t.actor, "action": t.action, "from": t.from_state, "to": t.to_state,
             "reason": t.reason} for t in s.scalars(select(ServiceTimeline).where(
                 ServiceTimeline.subject == "verification", ServiceTimeline.subject_id == v.id)
                 .order_by(ServiceTimeline.id))]


def get_verification(uow: UnitOfWork, vid: int, actor: Actor) -> VerificationOut:
    authz.require(actor, P.EVENT_READ)
    with uow:
        return _verification_out(uow.session, _visible(uow.session, vid, actor))


def list_verifications(uow: UnitOfWork, actor: Actor, *, open_only: bool = True, limit: int = 50
                       ) -> list[VerificationOut]:
    """The 差评 the actor's unit or area answers for, the most urgent first."""
    authz.require(actor, P.EVENT_READ)
    if not 1 <= limit <= 200:
        raise Invalid("limit must be between 1 and 200", field="limit")
    with uow:
        s = uow.session
        q = select(ServiceVerification).where(authz.area_clause(actor, ServiceVerification.area_path,
                                                                ServiceVerification.unit_id))
        if open_only:
            q = q.where(ServiceVerification.state != VState.CLOSED.value)
        return [_verification_out(s, v) for v in s.scalars(q.order_by(ServiceVerification.due_at).limit(limit))]


# --- the public page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicRating:
    code: str
    name: str
    department: str
    ratings: int
    good_rate: float | None
    average: float | None


def public_ratings(uow: UnitOfWork, *, q: str = "", limit: int = 50) -> list[PublicRating]:
    """Each matter's (and bundle's) ratings as the public sees them (政务服务评价公开): counts, 好评率,
    average score — no rater, no comment, no case number."""
    if not 1 <= limit <= 200:
        raise Invalid("limit must be between 1 and 200", field="limit")
    if len(q) > 50:
        raise Invalid("at most 50 characters", field="q")
    from shuzhi.adapters.db.tables_public_services import ServiceBundle

    with uow:
        s = uow.session
        rows = s.execute(select(ServiceRating.subject_code, ServiceRating.grade, ServiceRating.level,
                                func.count(ServiceRating.id))
                         .where(ServiceRating.subject_code.is_not(None))
                         .group_by(ServiceRating.subject_code, ServiceRating.grade, ServiceRating.level)).all()
        agg: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # count, good, score sum
        for code, grade_, level, n in rows:
            a = agg[str(code)]
            a[0] += n
            a[1] += n if grade_ == Grade.GOOD.value else 0
            a[2] += n * LEVEL_SCORES[Level(level)]
        names: dict[str, tuple[str, str]] = {}
        mq = select(ServiceMatter.code, ServiceMatter.name, Unit.name).join(Unit, Unit.id == ServiceMatter.unit_id)
        bq = select(ServiceBundle.code, ServiceBundle.name)
        if q.strip():
            mq = mq.where(ServiceMatter.search_text.contains(q.strip().lower(), autoescape=True))
            bq = bq.where(ServiceBundle.search_text.contains(q.strip().lower(), autoescape=True))
        for code, name, dept in s.execute(mq.where(ServiceMatter.code.in_(list(agg)))):
            names[code] = (name, dept)
        for code, name in s.execute(bq.where(ServiceBundle.code.in_(list(agg)))):
            names[code] = (name, "一件事一次办")
        out = [PublicRating(code, names[code][0], names[code][1], a[0], round(a[1] / a[0], 4) if a[0] else None,
                            round(a[2] / a[0], 2) if a[0] else None) for code, a in agg.items() if code in names]
        return sorted(out, key=lambda p: (-p.ratings, p.code))[:limit]


# --- the deadlines of a verification -------------------------------------------------------------

_LATE = (("verification.callback_overdue", "差评超过回访时限未回访"), ("verification.overdue", "差评超过整改反馈时限"))


def remind_verifications(uow: UnitOfWork, now: datetime) -> int:
    """The periodic job: a verification not called back by its call-back moment, or not answered by its
    due moment, is told to its unit's inbox and written on its timeline — once each (the timeline line
    is the mark, so a rerun after a crash adds nothing)."""
    with uow:
        s = uow.session
        open_ = list(s.scalars(select(ServiceVerification).where(
            ServiceVerification.state.not_in([VState.REPLIED.value, VState.CLOSED.value]),
            ServiceVerification.callback_due_at <= now)))
        if not open_:
            return 0
        done = set(s.execute(select(ServiceTimeline.subject_id, ServiceTimeline.action).where(
            ServiceTimeline.subject == "verification", ServiceTimeline.subject_id.in_([v.id for v in open_]),
            ServiceTimeline.action.in_([a for a, _ in _LATE]))).tuples())
        system = Actor(code="system", name="系统")
        n = 0
        for v in open_:
            late = []
            if v.called_back_at is None:
                late.append(_LATE[0])
            if v.due_at <= now:
                late.append(_LATE[1])
            for action, text in late:
                if (v.id, action) in done:
                    continue
                _log(s, "verification", v.id, system, action, now, reason=text,
                     payload={"due_at": (v.callback_due_at if action == _LATE[0][0] else v.due_at).isoformat()})
                s.add(Notification(unit_id=v.unit_id, kind="service.bad_rating_overdue", title=text,
                                   body=f"差评核实编号 {v.id}", payload={"verification": v.id}, created_at=now))
                n += 1
        uow.commit()
        return n

