"""Ledger items: the "四合一" (task, responsibility, measures, time limit), sub-items assigned down the
levels, and the one door every state change passes (:func:`move_item`), writing the item timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_ledgers import (
    Ledger,
    LedgerAttachment,
    LedgerItem,
    LedgerItemAssist,
    LedgerTimelineEntry,
)
from shuzhi.domain import ledgers as d
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.ledgers import access, clocks
from shuzhi.services.ledgers.books import columns_of
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

MAX_DEPTH = 4  # district → department/town → board/village → grid


class ItemCommand(BaseModel):
    title: str = Field(min_length=2, max_length=500, description="the task (任务) or the problem's title")
    number: str | None = Field(default=None, max_length=40, description="number in the ledger; default: next")
    lead_unit: str = Field(description="code of the lead unit (牵头单位)")
    assist_units: list[str] = Field(default_factory=list, description="codes of the assisting units (配合单位)")
    leader: str | None = Field(default=None, max_length=50, description="responsible leader (责任领导)")
    person: str | None = Field(default=None, max_length=50, description="responsible person (责任人)")
    milestones: list[dict[str, Any]] = Field(default_factory=list, description="measures: [{title, due, done_on}]")
    time_limit: str | None = Field(default=None, description="完成时限: 2024-06-30, 2024年6月底, 2024年第三季度 …")
    fields: dict[str, Any] = Field(default_factory=dict, description="custom columns by key")
    source: d.ProblemSource | None = None
    finding: str | None = Field(default=None, max_length=4000)
    proposer: str | None = Field(default=None, max_length=100)
    proposal_kind: d.ProposalKind | None = None
    reply_due: str | None = None
    sign_off_unit: str | None = Field(default=None, description="the raising body that signs a problem off")
    parent_id: int | None = Field(default=None, description="the item this sub-item belongs to")


class ActionCommand(BaseModel):
    action: d.ItemAction
    reason: str | None = Field(default=None, max_length=2000)
    satisfaction: d.Satisfaction | None = Field(default=None, description="the proposer's satisfaction (sign-off)")
    expected_version: int | None = None


def note(session: Session, item: LedgerItem, actor: Actor, action: str, at: datetime, *,
         from_state: str | None = None, to_state: str | None = None, reason: str | None = None,
         payload: dict[str, Any] | None = None) -> None:
    """Append one immutable line to the item's timeline (also for changes that keep the state)."""
    session.add(LedgerTimelineEntry(item_id=item.id, ledger_id=item.ledger_id, at=at, actor_id=actor.person_id,
                                    actor=actor.label, action=action, from_state=from_state, to_state=to_state,
                                    reason=reason, payload=payload or {}))


def move_item(session: Session, item: LedgerItem, ledger: Ledger, action: d.ItemAction, actor: Actor,
              at: datetime, *, reason: str | None = None, payload: dict[str, Any] | None = None) -> None:
    """The one door of every item state change: the table refuses what it does not allow (409), the
    timeline records it, the clocks are replanned."""
    before = d.ItemState(item.state)
    try:
        after = d.next_item_state(before, action)
    except d.IllegalItemTransition as exc:
        raise Conflict(str(exc), field="action", details={"state": before.value, "action": action.value}) from None
    item.state = after.value
    item.updated_at = at
    if action is d.ItemAction.REOPEN:
        item.reopen_count += 1
        item.closed_at = None
        item.closed_by = None
    if after is d.ItemState.CLOSED:
        item.closed_at = at
        item.closed_by = actor.label
    if action is d.ItemAction.SUBMIT:
        item.submitted_at = at
    note(session, item, actor, f"item.{action.value}", at, from_state=before.value, to_state=after.value,
         reason=reason, payload=payload)
    clocks.sync(session, item, ledger, at)


# --- reading --------------------------------------------------------------------------------------


class ItemView(BaseModel):
    id: int
    ledger: str
    number: str
    kind: str
    title: str
    state: str
    colour: str | None
    overdue: bool
    stalled: bool
    progress: int
    own_progress: int
    lead_unit: str
    lead_unit_name: str
    assist_units: list[dict[str, str]]
    leader: str | None
    person: str | None
    milestones: list[dict[str, Any]]
    time_limit: date | None
    fields: dict[str, Any]
    source: str | None
    finding: str | None
    proposer: str | None
    proposal_kind: str | None
    reply_due: date | None
    reply_attachment_id: int | None
    satisfaction: str | None
    sign_off_unit: str
    parent_id: int | None
    depth: int
    children: int
    reopen_count: int
    created_at: datetime
    last_progress_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    version: int
    actions: list[str] = Field(default_factory=list, description="what the caller may do now")


def facts(item: LedgerItem) -> d.ItemFacts:
    return d.ItemFacts(d.ItemState(item.state), item.time_limit, item.progress, clocks.local_day(item.created_at),
                       clocks.local_day(item.last_progress_at) if item.last_progress_at else None)


def allowed_for(actor: Actor, item: LedgerItem, ledger: Ledger, acc: access.LedgerAccess) -> list[str]:
    out = []
    for action in d.allowed_item_actions(d.ItemState(item.state)):
        try:
            if action in d.RESPONSIBLE_ACTIONS:
                access.require_responsible(actor, item)
            elif action in (d.ItemAction.SIGN_OFF, d.ItemAction.REJECT, d.ItemAction.REOPEN):
                access.require_sign_off(actor, item, ledger)
            else:
                access.require_manage(actor, acc)
        except authz.Forbidden:
            continue
        out.append(action.value)
    return out


def view(session: Session, item: LedgerItem, ledger: Ledger, *, actor: Actor | None = None,
         acc: access.LedgerAccess | None = None, today: date | None = None,
         units: dict[int, Unit] | None = None, children: int | None = None,
         assist_ids: list[int] | None = None) -> ItemView:
    day = today or clocks.local_day(datetime.now(UTC))
    f = facts(item)
    schedule = d.Schedule(ledger.schedule)
    colour = d.colour(f, day, schedule)

    def unit(uid: int) -> Unit:
        u = units.get(uid) if units is not None else None
        if u is None:
            u = session.get(Unit, uid)
            assert u is not None
        return u

    if assist_ids is None:
        assist_ids = list(session.scalars(select(LedgerItemAssist.unit_id).where(LedgerItemAssist.item_id == item.id)))
    assists = [unit(uid) for uid in assist_ids]
    if children is None:
        children = session.scalar(select(func.count()).select_from(LedgerItem)
                                  .where(LedgerItem.parent_id == item.id)) or 0
    lead = unit(item.lead_unit_id)
    return ItemView(
        id=item.id, ledger=ledger.code, number=item.number, kind=item.kind, title=item.title, state=item.state,
        colour=colour.value if colour else None, overdue=d.is_overdue(f, day), stalled=d.is_stalled(f, day, schedule),
        progress=item.progress, own_progress=item.own_progress, lead_unit=lead.code, lead_unit_name=lead.name,
        assist_units=[{"code": u.code, "name": u.name} for u in assists], leader=item.leader_name,
        person=item.person_name, milestones=list(item.milestones or []), time_limit=item.time_limit,
        fields=dict(item.fields or {}), source=item.source, finding=item.finding, proposer=item.proposer,
        proposal_kind=item.proposal_kind, reply_due=item.reply_due, reply_attachment_id=item.reply_attachment_id,
        satisfaction=item.satisfaction, sign_off_unit=unit(access.sign_off_unit_id(item, ledger)).code,
        parent_id=item.parent_id, depth=item.depth, children=children, reopen_count=item.reopen_count,
        created_at=item.created_at, last_progress_at=item.last_progress_at, closed_at=item.closed_at,
        closed_by=item.closed_by, version=item.version,
        actions=allowed_for(actor, item, ledger, acc) if actor is not None and acc is not None else [])


# --- creating and changing items ------------------------------------------------------------------


def _unit_by_code(session: Session, code: str, field: str) -> Unit:
    u = session.scalar(select(Unit).where(Unit.code == code))
    if u is None or not u.active:
        raise Invalid(f"unknown unit '{code}'", field=field)
    return u


def _date(text: str | None, field: str) -> date | None:
    if text is None or not str(text).strip():
        return None
    parsed = d.parse_loose_date(str(text))
    if parsed is None:
        raise Invalid(f"“{text}”不是可识别的日期（如 2024-06-30、2024年6月底）", field=field)
    return parsed


def _person_id(session: Session, name: str | None, unit_id: int) -> int | None:
    if not name:
        return None
    return session.scalar(select(Person.id).where(Person.name == name, Person.unit_id == unit_id,
                                                  Person.active.is_(True)).limit(1))


def _next_number(session: Session, ledger: Ledger, parent: LedgerItem | None) -> str:
    if parent is not None:
        n = session.scalar(select(func.count()).select_from(LedgerItem).where(LedgerItem.parent_id == parent.id)) or 0
        return f"{parent.number}-{n + 1}"
    n = session.scalar(select(func.count()).select_from(LedgerItem).where(
        LedgerItem.ledger_id == ledger.id, LedgerItem.parent_id.is_(None))) or 0
    return str(n + 1)


def apply_command(session: Session, item: LedgerItem, ledger: Ledger, cmd: ItemCommand) -> None:
    """Check and copy the command's fields onto ``item`` (custom columns against their types)."""
    kind = d.ITEM_KIND_OF[d.LedgerKind(ledger.kind)]
    lead = _unit_by_code(session, cmd.lead_unit, "lead_unit")
    try:
        fields = d.coerce_fields(columns_of(ledger), cmd.fields)
        milestones = d.parse_milestones(cmd.milestones)
    except d.LedgerError as exc:
        raise Invalid(str(exc), field=exc.field) from None
    if kind is d.ItemKind.PROBLEM and (cmd.source is None or not (cmd.finding or "").strip()):
        raise Invalid("a problem item needs its source (巡视/审计/督察) and the finding", field="finding"
                      if cmd.source is not None else "source")
    if kind is d.ItemKind.SUGGESTION and (not (cmd.proposer or "").strip() or cmd.proposal_kind is None):
        raise Invalid("a suggestion or proposal needs its proposer and kind (建议/提案)",
                      field="proposer" if not (cmd.proposer or "").strip() else "proposal_kind")
    item.kind = kind.value
    item.title = cmd.title.strip()
    item.lead_unit_id = lead.id
    item.area_path = access.unit_path(session, lead.id)
    item.leader_name = (cmd.leader or "").strip() or None
    item.leader_person_id = _person_id(session, item.leader_name, ledger.owner_unit_id) or _person_id(
        session, item.leader_name, lead.id)
    item.person_name = (cmd.person or "").strip() or None
    item.person_id = _person_id(session, item.person_name, lead.id)
    item.milestones = [m.to_mapping() for m in milestones]
    item.time_limit = _date(cmd.time_limit, "time_limit")
    if item.time_limit is not None:
        problem = d.limit_problem(item.time_limit, clocks.local_day(datetime.now(UTC)))
        if problem:
            raise Invalid(problem, field="time_limit")
    item.fields = fields
    item.source = cmd.source.value if cmd.source else None
    item.finding = (cmd.finding or "").strip() or None
    item.proposer = (cmd.proposer or "").strip() or None
    item.proposal_kind = cmd.proposal_kind.value if cmd.proposal_kind else None
    item.reply_due = _date(cmd.reply_due, "reply_due")
    if kind is d.ItemKind.SUGGESTION and item.time_limit is None:
        item.time_limit = item.reply_due
    item.sign_off_unit_id = _unit_by_code(session, cmd.sign_off_unit, "sign_off_unit").id \
        if cmd.sign_off_unit else None
    own = d.milestone_progress(milestones)
    if own is not None and own > item.own_progress:
        item.own_progress = own


def _set_assists(session: Session, item: LedgerItem, codes: list[str]) -> None:
    ids = []
    for i, code in enumerate(dict.fromkeys(codes)):
        u = _unit_by_code(session, code, f"assist_units[{i}]")
        if u.id == item.lead_unit_id:
            raise Invalid("the lead unit cannot also assist", field=f"assist_units[{i}]")
        ids.append(u.id)
    session.query(LedgerItemAssist).filter(LedgerItemAssist.item_id == item.id).delete()
    session.add_all(LedgerItemAssist(item_id=item.id, unit_id=uid) for uid in ids)


def insert_item(session: Session, ledger: Ledger, cmd: ItemCommand, actor: Actor, at: datetime,
                parent: LedgerItem | None = None, *, action: str = "item.create",
                extra: dict[str, Any] | None = None) -> LedgerItem:
    """Create an item (no permission check: the callers check theirs) and start its clocks."""
    number = (cmd.number or "").strip() or _next_number(session, ledger, parent)
    if session.scalar(select(LedgerItem.id).where(LedgerItem.ledger_id == ledger.id,
                                                  LedgerItem.number == number)) is not None:
        raise Conflict(f"ledger {ledger.code} already has an item numbered {number}", field="number")
    item = LedgerItem(ledger_id=ledger.id, number=number, state=d.ItemState.OPEN.value, created_at=at,
                      updated_at=at, progress=0, own_progress=0, reopen_count=0,
                      parent_id=parent.id if parent else None, depth=parent.depth + 1 if parent else 0)
    apply_command(session, item, ledger, cmd)
    item.progress = item.own_progress
    session.add(item)
    session.flush()
    item.path = f"{parent.path if parent else '/'}{item.id}/"
    _set_assists(session, item, cmd.assist_units)
    note(session, item, actor, action, at, to_state=item.state,
         payload={"number": item.number, "lead_unit": cmd.lead_unit, "time_limit":
                  item.time_limit.isoformat() if item.time_limit else None, "parent": parent.id if parent else None,
                  **(extra or {})})
    clocks.sync(session, item, ledger, at)
    return item


def create_item(uow: UnitOfWork, ledger_code: str, cmd: ItemCommand, actor: Actor, *,
                now: datetime | None = None) -> ItemView:
    """A new item (the ledger's runner), or a sub-item assigned down the levels: by the runner, or by
    the parent's lead unit to a unit within its own area (a town gives part of its task to a village)."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        acc = access.load_ledger(s, actor, ledger_code)
        ledger = acc.ledger
        parent: LedgerItem | None = None
        if cmd.parent_id is not None:
            try:
                parent, _ = access.load_item(s, actor, cmd.parent_id)
            except NotFound:
                raise Invalid(f"ledger item {cmd.parent_id} not found", field="parent_id") from None
            if parent.ledger_id != ledger.id:
                raise Invalid("the parent item belongs to another ledger", field="parent_id")
            if parent.depth + 1 >= MAX_DEPTH:
                raise Invalid(f"items go at most {MAX_DEPTH} levels down", field="parent_id")
            if d.ItemState(parent.state) not in d.ACTIVE_STATES:
                raise Conflict(f"the parent item is {parent.state}; sub-items go to active items", field="parent_id")
        if parent is not None and not acc.manages:
            access.require_responsible(actor, parent)
            lead = _unit_by_code(s, cmd.lead_unit, "lead_unit")
            if not access.unit_path(s, lead.id).startswith(parent.area_path) or lead.id == parent.lead_unit_id:
                raise Invalid("a sub-item goes down the levels: to a unit within your own area", field="lead_unit")
        else:
            access.require_manage(actor, acc)
        item = insert_item(s, ledger, cmd, actor, at, parent)
        if parent is not None:
            note(s, parent, actor, "item.assign_down", at, payload={"child": item.id, "number": item.number,
                                                                   "lead_unit": cmd.lead_unit})
            roll_up(s, parent)
        uow.commit()
        return view(s, item, ledger, actor=actor, acc=acc)


def update_item(uow: UnitOfWork, item_id: int, cmd: ItemCommand, actor: Actor, *, expected_version: int | None = None,
                now: datetime | None = None) -> ItemView:
    """Change an item's "四合一" (the runner only); every change is a timeline line with before/after."""
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        item, acc = access.load_item(s, actor, item_id)
        access.require_manage(actor, acc)
        ledger = acc.ledger
        if expected_version is not None and expected_version != item.version:
            raise Conflict(f"the item was changed by someone else (version {item.version}); reload and retry",
                           field="expected_version")
        if d.ItemState(item.state) in d.ENDED_STATES:
            raise Conflict(f"the item is {item.state}; reopen it first", field="state")
        before = {"title": item.title, "lead_unit_id": item.lead_unit_id, "time_limit":
                  item.time_limit.isoformat() if item.time_limit else None, "leader": item.leader_name,
                  "person": item.person_name}
        if cmd.number and cmd.number != item.number:
            raise Invalid("an item's number does not change", field="number")
        apply_command(s, item, ledger, cmd)
        _set_assists(s, item, cmd.assist_units)
        item.updated_at = at
        after = {"title": item.title, "lead_unit_id": item.lead_unit_id, "time_limit":
                 item.time_limit.isoformat() if item.time_limit else None, "leader": item.leader_name,
                 "person": item.person_name}
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        note(s, item, actor, "item.update", at, payload={"changed": changed})
        clocks.sync(s, item, ledger, at)
        roll_up(s, item)
        uow.commit()
        return view(s, item, ledger, actor=actor, acc=acc)


def roll_up(session: Session, item: LedgerItem) -> None:
    """Progress rolls up the levels: each ancestor's figure is the mean of its live children's."""
    current: LedgerItem | None = item
    while current is not None:
        kids = session.execute(select(LedgerItem.progress, LedgerItem.state)
                               .where(LedgerItem.parent_id == current.id)).all()
        current.progress = d.rollup_progress(current.own_progress, [
            (p, st != d.ItemState.CANCELLED.value) for p, st in kids])
        session.flush()
        current = session.get(LedgerItem, current.parent_id) if current.parent_id else None


def act(uow: UnitOfWork, item_id: int, cmd: ActionCommand, actor: Actor, *, now: datetime | None = None) -> ItemView:
    """start, submit (申请销号, with evidence), sign_off (销账机关, with evidence; a proposal's satisfaction),
    reject, reopen (counted), suspend, resume, cancel — each checked for who may, and recorded."""
    at = now or datetime.now(UTC)
    a = cmd.action
    if a is d.ItemAction.REPORT:
        raise Invalid("progress is reported with POST /api/ledger-items/{id}/reports", field="action")
    if a in (d.ItemAction.REJECT, d.ItemAction.REOPEN, d.ItemAction.SUSPEND, d.ItemAction.CANCEL) \
            and not (cmd.reason or "").strip():
        raise Invalid("give the reason", field="reason")
    with uow:
        s = uow.session
        item, acc = access.load_item(s, actor, item_id)
        ledger = acc.ledger
        if a in d.RESPONSIBLE_ACTIONS:
            access.require_responsible(actor, item)
        elif a in (d.ItemAction.SIGN_OFF, d.ItemAction.REJECT, d.ItemAction.REOPEN):
            access.require_sign_off(actor, item, ledger)
        else:
            access.require_manage(actor, acc)
        if cmd.expected_version is not None and cmd.expected_version != item.version:
            raise Conflict(f"the item was changed by someone else (version {item.version}); reload and retry",
                           field="expected_version")
        payload: dict[str, Any] = {}
        if a in (d.ItemAction.SUBMIT, d.ItemAction.SIGN_OFF):
            _require_evidence(s, item)
            open_children = s.scalar(select(func.count()).select_from(LedgerItem).where(
                LedgerItem.parent_id == item.id, LedgerItem.state.notin_([st.value for st in d.ENDED_STATES])))
            if open_children:
                raise Conflict(f"{open_children} sub-item(s) are not closed off yet", field="action")
        if a is d.ItemAction.SIGN_OFF and item.kind == d.ItemKind.SUGGESTION.value:
            if cmd.satisfaction is None:
                raise Invalid("record the proposer's satisfaction (满意/基本满意/不满意)", field="satisfaction")
            item.satisfaction = cmd.satisfaction.value
            payload["satisfaction"] = cmd.satisfaction.value
        if a is d.ItemAction.SUBMIT:
            item.own_progress = 100
            payload["progress"] = 100
        move_item(s, item, ledger, a, actor, at, reason=cmd.reason, payload=payload)
        if a is d.ItemAction.SUBMIT:
            roll_up(s, item)
        uow.commit()
        return view(s, item, ledger, actor=actor, acc=acc)


def _require_evidence(session: Session, item: LedgerItem) -> None:
    purposes = ["evidence", "reply"] if item.kind == d.ItemKind.SUGGESTION.value else ["evidence"]
    if item.kind == d.ItemKind.SUGGESTION.value and item.reply_attachment_id is None:
        raise Conflict("upload the reply document (答复件) first", field="attachments")
    has = session.scalar(select(LedgerAttachment.id).where(LedgerAttachment.item_id == item.id,
                                                           LedgerAttachment.purpose.in_(purposes)).limit(1))
    if has is None:
        raise Conflict("closing off needs evidence (佐证材料): upload it first", field="attachments")
