"""The unit of work: one database transaction per use case; only services commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import database_key

log = logging.getLogger(__name__)

#: ``session.info`` key of the work that follows a commit (:func:`after_commit`).
_AFTER_COMMIT = "shuzhi.after_commit"

#: Set by :func:`shuzhi.services.bootstrap.bootstrap`. Before it, a transaction would run without the
#: session listeners and hooks (a task's supervision clock not kept in step, no plan started by a
#: warning): a unit of work refuses to open rather than leave that to chance.
_bootstrapped = False


def mark_bootstrapped() -> None:
    global _bootstrapped
    _bootstrapped = True


class UnitOfWork:
    """``with uow: … uow.commit()`` — anything not committed is rolled back on exit."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._session: Session | None = None

    @property
    def database(self) -> str:
        """The database this unit of work opens sessions on (the key of per-database caches); empty
        when the factory is not bound to one engine."""
        bind = self._factory.kw.get("bind")
        return database_key(bind) if bind is not None else ""

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        if not _bootstrapped:
            raise RuntimeError("shuzhi.services.bootstrap.bootstrap() was not called in this process: "
                               "hooks and session listeners are not wired")
        self._session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        # close() rolls back whatever was not committed; unlike rollback() it leaves the objects
        # that were read loaded (detached), so a service can hand them to the entrypoint.
        self._session.close()
        self._session = None

    def commit(self) -> None:
        """Commit; then run what :func:`after_commit` queued, each in a transaction of its own."""
        s = self.session
        s.commit()
        follow: list[Callable[[UnitOfWork], object]] = s.info.pop(_AFTER_COMMIT, [])
        for work in follow:
            try:
                work(UnitOfWork(self._factory))
            except Exception:
                # what was committed stands; the follow-up has a durable fallback (see after_commit)
                log.exception("work after a commit failed; its fallback job will do it")

    def flush(self) -> None:
        self.session.flush()



def after_commit(s: Session, work: Callable[[UnitOfWork], object]) -> None:
    """Queue ``work`` to run right after this session's transaction commits, in a new unit of work.

    For a step that must not lengthen the transaction that made it due (a red warning's first
    notices after the readings that raised it), and that is already durable when it is queued: a row
    the worker's periodic job would also pick up. If the process stops between the commit and the
    work, or the work fails, that job does it moments later; a rollback drops the queue."""
    s.info.setdefault(_AFTER_COMMIT, []).append(work)
