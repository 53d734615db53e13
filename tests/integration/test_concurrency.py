"""Concurrent edits answer 409, never 500; the sign-in lockout counts every parallel failure once (#15)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.adapters.db.tables import Person
from shuzhi.adapters.db.tables_security import AuditEntry, Credential
from shuzhi.config import Settings
from shuzhi.entrypoints.api import errors
from shuzhi.services.errors import ServiceError
from shuzhi.services.security.passwords import set_password
from shuzhi.services.security.sessions import login
from shuzhi.services.unit_of_work import UnitOfWork
from tests.conftest import PG_URL
from tests.factories import World


def test_ten_parallel_wrong_passwords_lock_the_account_after_exactly_the_configured_number(
        session_factory: sessionmaker[Session], world: World, tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("the lost update of the failure counter is PostgreSQL's (SQLite serialises writers)")
    with session_factory() as s:
        set_password(s, "bob", "Longgang-2024!", must_change=False)
        s.commit()
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, login_max_failures=5)
    start = threading.Barrier(10)
    answers: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        start.wait()
        try:
            login(UnitOfWork(session_factory), settings, "bob", f"wrong-{i}")
            status = 200
        except ServiceError as exc:
            status = exc.status
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # four failures are counted, the fifth locks, the five after it find the account locked
    assert sorted(answers) == [401] * 4 + [423] * 6, answers
    with session_factory() as s:
        locks = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "auth.locked",
                                                                         AuditEntry.object == "person:bob"))
        cred = s.scalar(select(Credential).join(Person, Person.id == Credential.person_id)
                        .where(Person.code == "bob"))
    assert locks == 1 and cred is not None and cred.locked_until is not None


class _Race(Exception):
    sqlstate = "40001"


@pytest.mark.parametrize("raised", [
    StaleDataError("UPDATE statement on table 'events' expected to update 1 row(s); 0 were matched."),
    sa_exc.IntegrityError("INSERT INTO plan_runs …", {}, Exception("duplicate key value violates unique constraint")),
    sa_exc.OperationalError("UPDATE tasks …", {}, _Race("could not serialize access due to concurrent update")),
])
def test_a_write_that_lost_a_race_answers_409_not_500(raised: Exception) -> None:
    """Whatever service lost the race (coordination, supervision, plans …), the client is told to reload
    and retry — the translation lives in one place, the API's error handlers."""
    app = FastAPI()
    errors.install(app)

    @app.post("/edit")
    def edit() -> dict[str, Any]:
        raise raised

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/edit")
    assert r.status_code == 409 and "reload and retry" in r.json()["detail"], r.text


def test_the_database_being_away_is_still_a_503() -> None:
    app = FastAPI()
    errors.install(app)

    @app.get("/x")
    def x() -> None:
        raise sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/x").status_code == 503
