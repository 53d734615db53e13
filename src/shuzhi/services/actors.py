"""Who is acting: a person of a unit, or the system itself (the worker, a rule, an import)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Person
from shuzhi.services.errors import Invalid
from shuzhi.services.ttl_cache import TTLCache


@dataclass(frozen=True)
class Actor:
    code: str
    name: str
    person_id: int | None = None
    unit_id: int | None = None
    role: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}({self.code})" if self.person_id else self.code


SYSTEM = Actor(code="system", name="系统")
# A deactivated person is refused within this many seconds on every process.
_actors: TTLCache[Actor | None] = TTLCache(ttl=30)


def resolve_actor(session: Session, code: str | None) -> Actor:
    """The person acting, by staff code; until sign-in exists the API takes it from ``X-Actor``."""
    if not code or code == SYSTEM.code:
        return SYSTEM

    def load() -> Actor | None:
        row = session.execute(select(Person.code, Person.name, Person.id, Person.unit_id, Person.role)
                              .where(Person.code == code, Person.active.is_(True))).first()
        return Actor(code=row[0], name=row[1], person_id=row[2], unit_id=row[3], role=row[4]) if row else None

    actor = _actors.get((str(session.get_bind().engine.url), code), load)
    if actor is None:
        raise Invalid(f"unknown or inactive person '{code}'", field="X-Actor")
    return actor
