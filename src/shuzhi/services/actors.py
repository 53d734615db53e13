"""Who is acting: a person of a unit, or the system itself (the worker, a rule, an import).

An actor carries what the service layer needs to decide, without another query, whether it may act
(``permissions``) and what it may see (``area_paths``: the area subtrees of its centre, village or
grid, or the areas its department covers; ``None`` for the whole installation). Tasks assigned to
its unit are visible whatever their area — see :mod:`shuzhi.services.authz`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Person, Unit, UnitCoverage
from shuzhi.domain.permissions import GLOBAL_ROLES, ROLE_PERMISSIONS, Role, permissions_of
from shuzhi.services.errors import Invalid
from shuzhi.services.ttl_cache import TTLCache

ALL_PERMISSIONS: frozenset[str] = frozenset().union(*ROLE_PERMISSIONS.values())


@dataclass(frozen=True)
class Actor:
    code: str
    name: str
    person_id: int | None = None
    unit_id: int | None = None
    role: str | None = None
    permissions: frozenset[str] = field(default=frozenset(), compare=False)
    #: Materialised area paths the actor sees (subtrees); ``None`` = everything.
    area_paths: tuple[str, ...] | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.name}({self.code})" if self.person_id else self.code

    @property
    def is_global(self) -> bool:
        return self.area_paths is None


SYSTEM = Actor(code="system", name="系统", permissions=ALL_PERMISSIONS, area_paths=None)
# A deactivated person is refused within this many seconds on every process.
_actors: TTLCache[Actor | None] = TTLCache(ttl=30)


def scope_paths(session: Session, unit_id: int, role: str | None) -> tuple[str, ...] | None:
    """The area subtrees a person of this unit in this role sees (``None`` = all).

    Centres, villages and grids see their own area's subtree; a department sees the areas it covers
    (its own area when it covers none). Administrators and auditors see everything.
    """
    if role in {r.value for r in GLOBAL_ROLES}:
        return None
    unit_kind, own_path = session.execute(
        select(Unit.kind, Area.path).join(Area, Area.id == Unit.area_id).where(Unit.id == unit_id)
    ).one()
    if unit_kind == "department":
        covered = session.scalars(
            select(Area.path).join(UnitCoverage, UnitCoverage.area_id == Area.id)
            .where(UnitCoverage.unit_id == unit_id).order_by(Area.path)
        ).all()
        if covered:
            return tuple(covered)
    return (own_path,)


def resolve_actor(session: Session, code: str | None) -> Actor:
    """The person acting, by staff code; until sign-in exists the API takes it from ``X-Actor``."""
    if not code or code == SYSTEM.code:
        return SYSTEM

    def load() -> Actor | None:
        row = session.execute(select(Person.code, Person.name, Person.id, Person.unit_id, Person.role)
                              .where(Person.code == code, Person.active.is_(True))).first()
        if row is None:
            return None
        return Actor(code=row[0], name=row[1], person_id=row[2], unit_id=row[3], role=row[4],
                     permissions=permissions_of(row[4]), area_paths=scope_paths(session, row[3], row[4]))

    actor = _actors.get((str(session.get_bind().engine.url), code), load)
    if actor is None:
        raise Invalid(f"unknown or inactive person '{code}'", field="X-Actor")
    return actor


__all__ = ["SYSTEM", "Actor", "Role", "resolve_actor", "scope_paths"]
