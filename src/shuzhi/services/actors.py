"""Who is acting: a person of a unit, or the system itself (the worker, a rule, an import).

An actor carries what the service layer needs to decide, without another query, whether it may act
(``permissions``) and what it may see (``area_paths``: the area subtrees of its centre, village or
grid, or the areas its department covers; ``None`` for the whole installation). Tasks assigned to
its unit are visible whatever their area — see :mod:`shuzhi.services.security.authz`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.engine import database_key
from shuzhi.adapters.db.tables import Area, Person, Unit
from shuzhi.domain.permissions import GLOBAL_ROLES, KNOWN_PERMISSIONS, Role, permissions_of
from shuzhi.services.errors import Invalid
from shuzhi.services.ttl_cache import TTLCache

ALL_PERMISSIONS: frozenset[str] = KNOWN_PERMISSIONS


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
    #: How the actor proved who it is: ``system`` (worker, demo, CLI), ``session`` (browser cookie),
    #: ``bearer`` (API token) or ``api_key`` (a connected system).
    credential: str = field(default="system", compare=False)
    #: The sources a connected system may submit events as; ``None`` = any (people and the system).
    sources: frozenset[str] | None = field(default=None, compare=False)
    #: An initial or demo password not yet changed (outside demo mode only the auth routes answer).
    must_change_password: bool = field(default=False, compare=False)
    #: The session or bearer token (``auth_tokens.id``) or API key (``api_keys.id``) in use.
    credential_id: int | None = field(default=None, compare=False)

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

    Centres, villages and grids see their own area's subtree. A department sees no area as such —
    only the events its unit owns or has a task in (issue #5: "a department its own tasks"); a
    district bureau covering the whole district must not read every town's cases. Administrators and
    auditors see everything.
    """
    if role in {r.value for r in GLOBAL_ROLES}:
        return None
    unit_kind, own_path = session.execute(
        select(Unit.kind, Area.path).join(Area, Area.id == Unit.area_id).where(Unit.id == unit_id)
    ).one()
    if unit_kind == "department":
        return ()
    return (own_path,)


def forget_people() -> None:
    """Drop cached actors (after people, roles or units changed), so the change holds at once here."""
    _actors.clear()


def cached_actor(database: str, code: str) -> Actor | None:
    """The person behind ``code`` if this process resolved them within the cache's time, else ``None``
    (for a caller that must not query now; it then calls :func:`resolve_actor`)."""
    if code == SYSTEM.code:
        return SYSTEM
    return _actors.peek((database, code))


def resolve_actor(session: Session, code: str | None) -> Actor:
    """The person acting, by staff code, for trusted callers (the demo, the CLI, tests, the sign-in
    service once a credential was checked). The API never takes a staff code from a client."""
    if not code or code == SYSTEM.code:
        return SYSTEM

    def load() -> Actor | None:
        row = session.execute(select(Person.code, Person.name, Person.id, Person.unit_id, Person.role)
                              .where(Person.code == code, Person.active.is_(True))).first()
        if row is None:
            return None
        return Actor(code=row[0], name=row[1], person_id=row[2], unit_id=row[3], role=row[4],
                     permissions=permissions_of(row[4]), area_paths=scope_paths(session, row[3], row[4]))

    actor = _actors.get((database_key(session), code), load)
    if actor is None:
        raise Invalid(f"unknown or inactive person '{code}'", field="code")
    return actor


__all__ = ["SYSTEM", "Actor", "Role", "cached_actor", "forget_people", "resolve_actor", "scope_paths"]
