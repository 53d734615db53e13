"""The grid's people (issue #20, second slice): grid teams "1+3+N", the dual grid's layer, the duty lists
"6+1" with the due items they generate, and the urban chain of contacts 五长制.

- The **city** names the team roles (``PUT /api/grid-team-roles``; the four of "1+3" stay) and the
  recurring duties per role (``PUT /api/grid-duties``).
- A **town's administrator** (``reference.write`` in the town's scope) edits the teams of his own
  grids, each grid's layer and its chain of contacts; anyone else's town is *not found*.
- Serving in a grid's team or being a link of its chain makes a person a member of the grid's unit
  (:func:`shuzhi.services.assignees.is_member`): its tasks may be assigned to him by name. Whoever
  leaves a team or the chain gives his open tasks of the grid back to its leader (网格长).
- The **duty clock** (:func:`generate_due_items`, a periodic job, and lazily when a worker opens his
  phone) turns each duty into one due item per member and period; a worker does an item on the phone
  by a patrol or a visit (:func:`do_item`); the town sees the overdue ones; evaluation counts the
  completion rate per person and per grid team (:func:`duty_counts`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.adapters.db.tables_patrols import Patrol
from shuzhi.adapters.db.tables_town import AreaContact, DutyItem, GridDuty, GridTeamMember, GridTeamRole
from shuzhi.domain import grid_teams as d
from shuzhi.domain import permissions as P
from shuzhi.services import assignees
from shuzhi.services.actors import Actor, forget_people
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.town import _require_edit, _town
from shuzhi.services.unit_of_work import UnitOfWork

#: The phone lists the items open now and those overdue within this many days.
OVERDUE_WINDOW = timedelta(days=31)
LEFT_TEAM = "责任人已不在本网格队伍或五长名单，任务退回网格长"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RoleIn(_In):
    key: str = Field(min_length=2, max_length=30)
    name: str = Field(min_length=1, max_length=50)


class RolesIn(_In):
    roles: list[RoleIn] = Field(min_length=4, max_length=30)


class DutyIn(_In):
    id: int | None = Field(default=None, ge=1)
    role: str = Field(min_length=2, max_length=30)
    title: str = Field(min_length=1, max_length=200)
    frequency: Literal["daily", "weekly", "monthly"]
    place: str = Field(default="", max_length=300)
    done_by: Literal["patrol", "visit", "either"] = "either"


class DutiesIn(_In):
    duties: list[DutyIn] = Field(max_length=200)


class MemberIn(_In):
    person_code: str = Field(min_length=1, max_length=40)
    role: str = Field(min_length=2, max_length=30)
    primary: bool = False


class TeamIn(_In):
    """A grid's team as its town saves it (the members replace the stored ones) and the grid's layer."""

    layer: str | None = Field(default=None, max_length=12)
    members: list[MemberIn] = Field(default_factory=list, max_length=100)


class ContactIn(_In):
    link: str = Field(min_length=2, max_length=12)
    place: str = Field(min_length=1, max_length=100)
    person_code: str = Field(min_length=1, max_length=40)
    #: index in the list of the link above (a building's block), or None for the top of the chain
    parent: int | None = Field(default=None, ge=0)


class ContactsIn(_In):
    contacts: list[ContactIn] = Field(default_factory=list, max_length=300)


class DoItem(_In):
    """A due item done on the phone: by a patrol (its id) or a visit (whom or what, where)."""

    patrol_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=500)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)


# --- the city's roles and duties ---------------------------------------------------------------------


def role_names(s: Session) -> list[tuple[str, str]]:
    rows = s.execute(select(GridTeamRole.key, GridTeamRole.name).order_by(GridTeamRole.sort)).all()
    return [(k, n) for k, n in rows] or list(d.DEFAULT_ROLES)


def get_roles(uow: UnitOfWork, actor: Actor) -> list[dict[str, str]]:
    authz.require(actor, P.EVENT_READ)
    with uow:
        return [{"key": k, "name": n} for k, n in role_names(uow.session)]


def put_roles(uow: UnitOfWork, actor: Actor, cmd: RolesIn) -> list[dict[str, str]]:
    """Name the city's grid team roles ("1+3" stay; the city adds its N). Installation-wide, audited;
    a role someone serves in or a duty names stays."""
    authz.require(actor, P.REFERENCE_WRITE)
    authz.ensure_config_in_scope(actor, None, "the city's grid team roles", field="roles")
    keys = [r.key for r in cmd.roles]
    if (problem := d.roles_problem(keys)) is not None:
        i, text = problem
        raise Invalid(text, field=f"roles[{i}].key" if i < len(keys) else "roles")
    with uow:
        s = uow.session
        before = role_names(s)
        used = set(s.scalars(select(GridTeamMember.role).distinct())) | set(
            s.scalars(select(GridDuty.role).where(GridDuty.active.is_(True)).distinct()))
        if missing := sorted(used - set(keys)):
            raise Invalid(f"roles in use stay: {', '.join(missing)}", field="roles")
        s.execute(delete(GridTeamRole))
        s.add_all(GridTeamRole(key=r.key, name=r.name, sort=i) for i, r in enumerate(cmd.roles))
        audit.record(s, actor, "grid.roles", "grid_team_roles", {
            "before": [{"key": k, "name": n} for k, n in before], "after": [r.model_dump() for r in cmd.roles]})
        uow.commit()
        return [r.model_dump() for r in cmd.roles]


def _duty_out(du: GridDuty) -> dict[str, Any]:
    return {"id": du.id, "role": du.role, "title": du.title, "frequency": du.frequency, "place": du.place,
            "done_by": du.done_by}


def get_duties(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    authz.require(actor, P.EVENT_READ)
    with uow:
        return [_duty_out(du) for du in uow.session.scalars(
            select(GridDuty).where(GridDuty.active.is_(True)).order_by(GridDuty.role, GridDuty.sort, GridDuty.id))]


def put_duties(uow: UnitOfWork, actor: Actor, cmd: DutiesIn) -> list[dict[str, Any]]:
    """Replace the city's duty lists: a duty with an ``id`` is changed, one without is new, an active one
    left out is retired (its past items stay, counted in their periods). Installation-wide, audited."""
    authz.require(actor, P.REFERENCE_WRITE)
    authz.ensure_config_in_scope(actor, None, "the city's grid duty lists", field="duties")
    with uow:
        s = uow.session
        roles = dict(role_names(s))
        stored = {du.id: du for du in s.scalars(select(GridDuty))}
        for i, x in enumerate(cmd.duties):
            if x.role not in roles:
                raise Invalid(f"'{x.role}' is not one of the city's grid roles", field=f"duties[{i}].role")
            if x.id is not None and x.id not in stored:
                raise Invalid(f"duty {x.id} does not exist", field=f"duties[{i}].id")
        before = [_duty_out(du) for du in stored.values() if du.active]
        kept: set[int] = set()
        for i, x in enumerate(cmd.duties):
            du = stored.get(x.id) if x.id is not None else None
            if du is None:
                du = GridDuty(active=True)
                s.add(du)
            du.role, du.title, du.frequency, du.place, du.done_by, du.sort, du.active = (
                x.role, x.title, x.frequency, x.place, x.done_by, i, True)
            s.flush()
            kept.add(du.id)
        for du in stored.values():
            if du.id not in kept:
                du.active = False
        s.flush()
        after = [_duty_out(du) for du in s.scalars(select(GridDuty).where(GridDuty.active.is_(True))
                                                    .order_by(GridDuty.role, GridDuty.sort))]
        audit.record(s, actor, "grid.duties", "grid_duties", {"before": before, "after": after})
        uow.commit()
        return after


# --- a town's grids -------------------------------------------------------------------------------------


def _grid(s: Session, town: Area, grid_code: str) -> tuple[Area, Unit]:
    grid = s.scalar(select(Area).where(Area.code == grid_code, Area.level == "grid",
                                       Area.path.startswith(town.path, autoescape=True)))
    unit = s.scalar(select(Unit).where(Unit.area_id == grid.id, Unit.kind == "grid", Unit.active.is_(True))
                    .order_by(Unit.id).limit(1)) if grid is not None else None
    if grid is None or unit is None:
        raise NotFound(f"grid {grid_code} of {town.name} not found", field="grid_code")
    return grid, unit


def _people(s: Session, codes: list[str], field: str) -> dict[str, Person]:
    found = {p.code: p for p in s.scalars(select(Person).where(Person.code.in_(set(codes)),
                                                               Person.active.is_(True)))}
    for i, c in enumerate(codes):
        if c not in found:
            raise Invalid(f"'{c}' is not an active person", field=field.format(i=i))
    return found


def grids(uow: UnitOfWork, actor: Actor, town_code: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The town's grids with their layer, team, chain of contacts and this period's duty figures; the
    overdue items; the city's roles, duties and layers; whether the actor may edit."""
    authz.require(actor, P.EVENT_READ)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        town, _centre = _town(s, actor, town_code)
        rows = s.execute(select(Area, Unit).join(Unit, and_(Unit.area_id == Area.id, Unit.kind == "grid"))
                         .where(Area.level == "grid", Area.path.startswith(town.path, autoescape=True))
                         .order_by(Area.code)).all()
        unit_ids = [u.id for _, u in rows]
        roles = dict(role_names(s))
        members: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if unit_ids:
            for m, p in s.execute(select(GridTeamMember, Person).join(Person, Person.id == GridTeamMember.person_id)
                                  .where(GridTeamMember.grid_unit_id.in_(unit_ids))
                                  .order_by(GridTeamMember.sort, GridTeamMember.id)).all():
                members[m.grid_unit_id].append({"code": p.code, "name": p.name, "role": m.role,
                                                "role_name": roles.get(m.role, m.role), "primary": m.is_primary,
                                                "active": p.active})
        area_ids = [a.id for a, _ in rows]
        contacts: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if area_ids:
            cs = s.execute(select(AreaContact, Person).join(Person, Person.id == AreaContact.person_id)
                           .where(AreaContact.area_id.in_(area_ids)).order_by(AreaContact.sort, AreaContact.id)).all()
            for c, p in cs:
                contacts[c.area_id].append({"id": c.id, "link": c.link, "link_name": dict(d.CHAIN)[c.link],
                                            "place": c.place, "person": {"code": p.code, "name": p.name},
                                            "parent_id": c.parent_id})
        figures = _grid_figures(s, unit_ids, at)
        overdue = s.execute(
            select(DutyItem.id, DutyItem.due_at, GridDuty.title, Person.code, Person.name, Unit.code, Unit.name)
            .join(GridDuty, GridDuty.id == DutyItem.duty_id).join(Person, Person.id == DutyItem.person_id)
            .join(Unit, Unit.id == DutyItem.grid_unit_id)
            .where(DutyItem.area_path.startswith(town.path, autoescape=True), DutyItem.done_at.is_(None),
                   DutyItem.due_at <= at, DutyItem.due_at > at - OVERDUE_WINDOW)
            .order_by(DutyItem.due_at.desc(), DutyItem.id).limit(200)).all()
        return {
            "town": {"code": town.code, "name": town.name},
            "grids": [{"code": a.code, "name": a.name, "layer": a.layer, "layer_name": d.LAYERS.get(a.layer, a.layer),
                       "unit_code": u.code, "members": members[u.id], "contacts": contacts[a.id],
                       "duties": figures.get(u.id, _empty_counts())} for a, u in rows],
            "overdue": [{"id": i, "due_at": due, "title": title, "person": {"code": pc, "name": pn},
                         "grid": {"code": gc, "name": gn}} for i, due, title, pc, pn, gc, gn in overdue],
            "roles": [{"key": k, "name": n} for k, n in roles.items()],
            "layers": [{"key": k, "name": n} for k, n in d.LAYERS.items()],
            "chain": [{"key": k, "name": n} for k, n in d.CHAIN],
            "can_edit": authz.can(actor, P.REFERENCE_WRITE) and authz.path_visible(actor, town.path),
        }


def _empty_counts() -> dict[str, Any]:
    return {"due": 0, "on_time": 0, "late": 0, "overdue": 0, "open": 0, "completion_rate": None}


def _grid_figures(s: Session, unit_ids: list[int], at: datetime) -> dict[int, dict[str, Any]]:
    """This month's items per grid team (due so far, done on time, late, overdue, still open)."""
    if not unit_ids:
        return {}
    start = d.period_of("monthly", at).start
    return duty_counts(s, start, at + timedelta(days=31), at, by="grid",
                       extra=[DutyItem.grid_unit_id.in_(unit_ids)])


def save_team(uow: UnitOfWork, actor: Actor, town_code: str, grid_code: str, cmd: TeamIn, *,
              now: datetime | None = None) -> dict[str, Any]:
    """Replace a grid's team (and set its layer). A person who leaves the team (and is no longer a
    member of the grid's unit otherwise) gives his open tasks of the grid back to its 网格长."""
    at = now or datetime.now(UTC)
    if cmd.layer is not None and (problem := d.layer_problem(cmd.layer)) is not None:
        raise Invalid(problem, field="layer")
    with uow:
        s = uow.session
        town, _centre = _town(s, actor, town_code)
        _require_edit(actor, town)
        grid, unit = _grid(s, town, grid_code)
        people = _people(s, [m.person_code for m in cmd.members], "members[{i}].person_code")
        lines = [d.MemberLine(people[m.person_code].id, m.role, m.primary) for m in cmd.members]
        if (bad := d.team_problem(lines, {k for k, _ in role_names(s)})) is not None:
            i, field, text = bad
            raise Invalid(text, field=f"members[{i}].{field}")
        asked_primary = {people[m.person_code].id for m in cmd.members if m.primary}
        old = s.scalars(select(GridTeamMember).where(GridTeamMember.grid_unit_id == unit.id)
                        .order_by(GridTeamMember.sort, GridTeamMember.id)).all()
        old_people = {m.person_id for m in old}
        before = {"layer": grid.layer, "members": [{"person_id": m.person_id, "role": m.role,
                                                   "primary": m.is_primary} for m in old]}
        s.execute(delete(GridTeamMember).where(GridTeamMember.grid_unit_id == unit.id))
        s.add_all(GridTeamMember(grid_unit_id=unit.id, person_id=line.person_id, role=line.role, sort=i,
                                 is_primary=False) for i, line in enumerate(lines))
        s.flush()
        for pid in old_people | {line.person_id for line in lines}:
            _settle_primary(s, pid, unit.id if pid in asked_primary else None)
        if cmd.layer is not None and cmd.layer != grid.layer:
            grid.layer = cmd.layer
            grid.updated_at = at  # the point → grid index is rebuilt from the areas' newest change
        s.flush()
        after = {"layer": grid.layer, "members": [{"person_id": line.person_id, "role": line.role,
                                                  "primary": line.person_id in asked_primary} for line in lines]}
        for pid in sorted(old_people - {line.person_id for line in lines}):
            assignees.return_open_tasks(s, pid, actor, at, LEFT_TEAM, unit_id=unit.id)
        audit.record(s, actor, "grid.team_save", f"grid:{grid.code}", {"before": before, "after": after})
        uow.commit()
    forget_people()
    return grids(uow, actor, town_code, now=at)


def _settle_primary(s: Session, person_id: int, asked_unit: int | None) -> None:
    """Exactly one of the person's memberships is primary (:func:`shuzhi.domain.grid_teams.primary_grid`)."""
    mine = s.scalars(select(GridTeamMember).where(GridTeamMember.person_id == person_id)
                     .order_by(GridTeamMember.id)).all()
    if not mine:
        return
    current = next((m.grid_unit_id for m in mine if m.is_primary), None)
    chosen = d.primary_grid(current, sorted({m.grid_unit_id for m in mine}), asked_unit)
    done = False
    for m in mine:
        m.is_primary = m.grid_unit_id == chosen and not done
        done = done or m.is_primary


def save_contacts(uow: UnitOfWork, actor: Actor, town_code: str, grid_code: str, cmd: ContactsIn, *,
                  now: datetime | None = None) -> dict[str, Any]:
    """Replace a grid's chain of contacts (五长制): each link under the one above it. A person who leaves
    the chain gives his open tasks of the grid back to its 网格长."""
    at = now or datetime.now(UTC)
    for i, c in enumerate(cmd.contacts):
        parent_link = None
        if c.parent is not None:
            if c.parent >= i:
                raise Invalid("a contact's parent comes before it in the list", field=f"contacts[{i}].parent")
            parent_link = cmd.contacts[c.parent].link
        if (problem := d.chain_problem(c.link, parent_link)) is not None:
            raise Invalid(problem, field=f"contacts[{i}].link" if parent_link is None or c.link not in d.CHAIN_LINKS
                          else f"contacts[{i}].parent")
    with uow:
        s = uow.session
        town, _centre = _town(s, actor, town_code)
        _require_edit(actor, town)
        grid, unit = _grid(s, town, grid_code)
        people = _people(s, [c.person_code for c in cmd.contacts], "contacts[{i}].person_code")
        old = s.scalars(select(AreaContact).where(AreaContact.area_id == grid.id)).all()
        old_people = {c.person_id for c in old}
        before = [{"link": c.link, "place": c.place, "person_id": c.person_id} for c in old]
        s.execute(delete(AreaContact).where(AreaContact.area_id == grid.id))
        made: list[AreaContact] = []
        for i, c in enumerate(cmd.contacts):
            row = AreaContact(area_id=grid.id, link=c.link, place=c.place, person_id=people[c.person_code].id,
                              parent_id=made[c.parent].id if c.parent is not None else None, sort=i)
            s.add(row)
            s.flush()
            made.append(row)
        for pid in sorted(old_people - {r.person_id for r in made}):
            assignees.return_open_tasks(s, pid, actor, at, LEFT_TEAM, unit_id=unit.id)
        audit.record(s, actor, "grid.contacts_save", f"grid:{grid.code}", {
            "before": before, "after": [{"link": r.link, "place": r.place, "person_id": r.person_id} for r in made]})
        uow.commit()
    forget_people()
    return grids(uow, actor, town_code, now=at)


def import_teams(uow: UnitOfWork, actor: Actor, rows: list[dict[str, Any]]) -> int:
    """Many grids' members at once (a roster import; the demo): ``{"grid_code", "person_code", "role",
    }`` rows added to the teams (a row already there is left), checked like :func:`save_team`."""
    authz.require(actor, P.REFERENCE_WRITE)
    with uow:
        s = uow.session
        roles = {k for k, _ in role_names(s)}
        units = {code: (uid, path) for code, uid, path in s.execute(
            select(Area.code, Unit.id, Area.path).join(Unit, Unit.area_id == Area.id)
            .where(Area.code.in_({r["grid_code"] for r in rows}), Unit.kind == "grid")).all()}
        people = dict(s.execute(select(Person.code, Person.id).where(
            Person.code.in_({r["person_code"] for r in rows}), Person.active.is_(True))).all())
        have: set[tuple[int, int, str]] = {(u, p, r) for u, p, r in s.execute(
            select(GridTeamMember.grid_unit_id, GridTeamMember.person_id, GridTeamMember.role)).all()}
        primary = set(s.scalars(select(GridTeamMember.person_id).where(GridTeamMember.is_primary.is_(True))))
        leaders = set(s.scalars(select(GridTeamMember.grid_unit_id).where(GridTeamMember.role == d.GRID_LEADER)))
        new = []
        for i, r in enumerate(rows):
            unit_id, path = units.get(r["grid_code"], (None, ""))
            pid, role = people.get(r["person_code"]), r["role"]
            # another town's grid is answered like a missing one
            if unit_id is None or not authz.path_visible(actor, path) or not _configurable(actor, path):
                raise NotFound(f"grid {r['grid_code']} not found", field=f"rows[{i}].grid_code")
            if pid is None:
                raise Invalid(f"'{r['person_code']}' is not an active person", field=f"rows[{i}].person_code")
            if role not in roles:
                raise Invalid(f"'{role}' is not one of the city's grid roles", field=f"rows[{i}].role")
            if (unit_id, pid, role) in have:
                continue
            if role == d.GRID_LEADER:
                if unit_id in leaders:
                    raise Invalid("a grid has one 网格长", field=f"rows[{i}].role")
                leaders.add(unit_id)
            is_primary = pid not in primary  # his first membership is his primary one
            if is_primary:
                primary.add(pid)
            have.add((unit_id, pid, role))
            new.append({"grid_unit_id": unit_id, "person_id": pid, "role": role, "is_primary": is_primary,
                        "sort": i})
        if new:
            s.execute(insert(GridTeamMember), new)
        audit.record(s, actor, "grid.teams_import", "grid_team_members", {"rows": len(rows), "added": len(new)})
        uow.commit()
    forget_people()
    return len(new)


def _configurable(actor: Actor, path: str) -> bool:
    try:
        authz.ensure_config_in_scope(actor, path)
    except authz.Forbidden:
        return False
    return True


# --- the duty clock -------------------------------------------------------------------------------------


def _generate(s: Session, at: datetime, person_id: int | None = None) -> int:
    """Insert the missing due items of the periods holding ``at`` (for one person, or everyone)."""
    duties = s.scalars(select(GridDuty).where(GridDuty.active.is_(True))).all()
    if not duties:
        return 0
    by_role: dict[str, list[GridDuty]] = defaultdict(list)
    for du in duties:
        by_role[du.role].append(du)
    q = (select(GridTeamMember.person_id, GridTeamMember.grid_unit_id, GridTeamMember.role, Area.path)
         .join(Person, Person.id == GridTeamMember.person_id).join(Unit, Unit.id == GridTeamMember.grid_unit_id)
         .join(Area, Area.id == Unit.area_id)
         .where(Person.active.is_(True), Unit.active.is_(True), GridTeamMember.role.in_(list(by_role))))
    if person_id is not None:
        q = q.where(GridTeamMember.person_id == person_id)
    members = s.execute(q).all()
    if not members:
        return 0
    periods = {f: d.period_of(f, at) for f in d.FREQUENCIES}
    starts = {p.start for p in periods.values()}
    have_q = select(DutyItem.duty_id, DutyItem.person_id, DutyItem.grid_unit_id, DutyItem.period_start).where(
        DutyItem.period_start.in_(starts))
    if person_id is not None:
        have_q = have_q.where(DutyItem.person_id == person_id)
    have = {(a, b, c, _utc(e)) for a, b, c, e in s.execute(have_q).all()}
    new: list[dict[str, Any]] = []
    seen: set[tuple[int, int, int, datetime]] = set()
    for pid, unit_id, role, path in members:
        for du in by_role[role]:
            p = periods[du.frequency]
            key = (du.id, pid, unit_id, p.start)
            if key in have or key in seen:
                continue
            seen.add(key)
            new.append({"duty_id": du.id, "person_id": pid, "grid_unit_id": unit_id, "area_path": path,
                        "period_start": p.start, "due_at": p.due, "created_at": at})
    for i in range(0, len(new), 5000):
        s.execute(insert(DutyItem), new[i:i + 5000])
    return len(new)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def generate_due_items(uow: UnitOfWork, now: datetime | None = None) -> int:
    """The duty clock (a periodic job): every member's items of the current day, week and month."""
    at = now or datetime.now(UTC)
    with uow:
        n = _generate(uow.session, at)
        uow.commit()
        return n


def _item_out(i: DutyItem, du: GridDuty, grid_code: str, grid_name: str, at: datetime) -> dict[str, Any]:
    return {"id": i.id, "title": du.title, "frequency": du.frequency, "place": du.place, "done_by": du.done_by,
            "grid": {"code": grid_code, "name": grid_name}, "period_start": i.period_start, "due_at": i.due_at,
            "done_at": i.done_at, "done_kind": i.done_kind, "patrol_id": i.patrol_id, "note": i.note,
            "state": d.item_state(_utc(i.due_at), _utc(i.done_at) if i.done_at else None, at)}


def my_items(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The worker's due items (履职清单): this period's (open or done) and the overdue ones of the last
    month, the soonest due first. Opening the list makes the current period's items if the clock has not."""
    authz.require(actor, P.EVENT_READ)
    if actor.person_id is None:
        raise Invalid("duty items are a person's: sign in as one", field="actor")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        if _generate(s, at, actor.person_id):
            s.flush()
        rows = s.execute(select(DutyItem, GridDuty, Area.code, Area.name)
                         .join(GridDuty, GridDuty.id == DutyItem.duty_id)
                         .join(Unit, Unit.id == DutyItem.grid_unit_id).join(Area, Area.id == Unit.area_id)
                         .where(DutyItem.person_id == actor.person_id, DutyItem.due_at > at - OVERDUE_WINDOW,
                                or_(DutyItem.done_at.is_(None), DutyItem.due_at > at))
                         .order_by(DutyItem.due_at, GridDuty.sort, DutyItem.id).limit(300)).all()
        out = [_item_out(i, du, c, n, at) for i, du, c, n in rows]
        uow.commit()
        return out


def do_item(uow: UnitOfWork, actor: Actor, item_id: int, cmd: DoItem, *,
            now: datetime | None = None) -> dict[str, Any]:
    """Mark one's own due item done by a patrol (one's own, run during the item's period) or a visit (a
    note; the phone's place if it has one). Done once: again is 409. Late is allowed and counted late."""
    authz.require(actor, P.PATROL_WRITE)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        item = s.get(DutyItem, item_id)
        if item is None or item.person_id != actor.person_id:
            raise NotFound(f"duty item {item_id} not found", field="item_id")
        du = s.get(GridDuty, item.duty_id)
        assert du is not None
        if item.done_at is not None:
            raise Conflict("the item is done already", field="item_id", details={"code": "done"})
        if (problem := d.done_problem(du.done_by, cmd.patrol_id is not None, cmd.note)) is not None:
            field, text = problem
            raise Invalid(text, field=field, details={"code": "missing"})
        if (cmd.lon is None) != (cmd.lat is None):
            raise Invalid("lon and lat go together", field="lat")
        if cmd.patrol_id is not None:
            patrol = s.get(Patrol, cmd.patrol_id)
            if patrol is None or patrol.person_id != actor.person_id:
                raise Invalid(f"patrol {cmd.patrol_id} is not one of yours", field="patrol_id",
                              details={"code": "unknown"})
            period = d.Period(item.period_start.date(), _utc(item.period_start), _utc(item.due_at))
            if not d.patrol_fits(period, _utc(patrol.started_at), _utc(patrol.ended_at) if patrol.ended_at else None,
                                 at):
                raise Invalid("the patrol did not run during the item's period", field="patrol_id",
                              details={"code": "outside_period"})
        item.done_at = at
        item.done_kind = "patrol" if cmd.patrol_id is not None else "visit"
        item.patrol_id, item.note, item.lon, item.lat = cmd.patrol_id, cmd.note or None, cmd.lon, cmd.lat
        s.flush()
        audit.record(s, actor, "grid.duty_done", f"duty_item:{item.id}", {
            "duty": du.title, "kind": item.done_kind, "patrol": item.patrol_id, "note": item.note,
            "due_at": _utc(item.due_at).isoformat(), "late": at > _utc(item.due_at)}, at=at)
        grid = s.scalar(select(Area).join(Unit, Unit.area_id == Area.id).where(Unit.id == item.grid_unit_id))
        out = _item_out(item, du, grid.code if grid else "", grid.name if grid else "", at)
        uow.commit()
        return out


# --- figures ----------------------------------------------------------------------------------------------


def duty_counts(s: Session, lo: datetime, hi: datetime, now: datetime, *, by: Literal["person", "grid"],
                paths: list[str] | None = None, extra: list[Any] | None = None) -> dict[int, dict[str, Any]]:
    """Per person or per grid team, the items due in [lo, hi): ``due`` counts those settled by ``now`` —
    done (on time or late) or fallen due undone (overdue); ``open`` those neither done nor due yet (not in
    the rate). The completion rate (完成率) is on time over ``due``."""
    key = DutyItem.person_id if by == "person" else DutyItem.grid_unit_id
    done = DutyItem.done_at.is_not(None)
    fell_due = DutyItem.due_at <= now
    stmt = (select(key,
                   func.sum(case((or_(done, fell_due), 1), else_=0)),
                   func.sum(case((and_(done, DutyItem.done_at <= DutyItem.due_at), 1), else_=0)),
                   func.sum(case((and_(done, DutyItem.done_at > DutyItem.due_at), 1), else_=0)),
                   func.sum(case((and_(fell_due, DutyItem.done_at.is_(None)), 1), else_=0)),
                   func.sum(case((and_(DutyItem.due_at > now, DutyItem.done_at.is_(None)), 1), else_=0)))
            .where(DutyItem.due_at >= lo, DutyItem.due_at < hi).group_by(key))
    if paths is not None:
        stmt = stmt.where(or_(*[DutyItem.area_path.startswith(p, autoescape=True) for p in paths]))
    for clause in extra or []:
        stmt = stmt.where(clause)
    out: dict[int, dict[str, Any]] = {}
    for k, due, on_time, late, overdue, still_open in s.execute(stmt).all():
        due, on_time = int(due or 0), int(on_time or 0)
        out[int(k)] = {"due": due, "on_time": on_time, "late": int(late or 0), "overdue": int(overdue or 0),
                       "open": int(still_open or 0), "completion_rate": d.completion_rate(due, on_time)}
    return out


def team_of(s: Session, unit_ids: list[int]) -> dict[int, int]:
    """How many serve in each grid team."""
    if not unit_ids:
        return {}
    return {int(u): int(n) for u, n in s.execute(select(GridTeamMember.grid_unit_id, func.count())
                                                 .where(GridTeamMember.grid_unit_id.in_(unit_ids))
                                                 .group_by(GridTeamMember.grid_unit_id)).all()}
