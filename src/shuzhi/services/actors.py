"""Who is acting: a person of a unit, or the system itself (the worker, a rule, an import)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Person
from shuzhi.services.errors import Invalid


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


def resolve_actor(session: Session, code: str | None) -> Actor:
    """The person acting, by staff code; until sign-in exists the API takes it from ``X-Actor``."""
    if not code or code == SYSTEM.code:
        return SYSTEM
    person = session.scalar(select(Person).where(Person.code == code, Person.active.is_(True)))
    if person is None:
        raise Invalid(f"unknown or inactive person '{code}'", field="X-Actor")
    return Actor(code=person.code, name=person.name, person_id=person.id, unit_id=person.unit_id, role=person.role)
