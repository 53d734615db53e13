"""The unit of work: one database transaction per use case; only services commit."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import database_key

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
        self.session.commit()

    def flush(self) -> None:
        self.session.flush()

