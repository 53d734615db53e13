"""Demo sign-in: every demo person gets the same initial password (listed in the README).

The password is hashed once with argon2 and the hash shared: thousands of grid workers would
otherwise take minutes of hashing, and a demo password is public anyway. Outside demo mode
(``SHUZHI_DEMO_MODE`` unset) the password is an *initial* one: each person must change it first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_security import Credential
from shuzhi.services.security.passwords import hash_password

DEMO_PASSWORD = "shuzhi-demo-2024"


def give_demo_passwords(factory: sessionmaker[Session], password: str = DEMO_PASSWORD) -> int:
    """A credential for every person who has none; returns how many were created."""
    hashed = hash_password(password)
    now = datetime.now(UTC)
    with factory() as s:
        missing = s.scalars(select(Person.id).where(Person.id.not_in(select(Credential.person_id)))).all()
        if missing:
            s.execute(insert(Credential), [
                {"person_id": pid, "password_hash": hashed, "must_change": True, "changed_at": now,
                 "failed_count": 0} for pid in missing])
        s.commit()
        return len(missing)
