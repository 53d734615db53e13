"""Engine and session factory for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the dialect.

    SQLite runs in WAL mode with a busy timeout so that the demo's API, its event generator and its
    worker can share one file; foreign keys are switched on because SQLite leaves them off.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling defers BEGIN, which would let two writers both read
            # before either writes; we issue BEGIN IMMEDIATE ourselves in the 'begin' hook below.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    # JSON columns (plan steps, rules, payloads) parsed by orjson: the standard library's parser was a
    # third of the run board's time. PostgreSQL never stores NaN, the one thing only ``json`` accepts.
    kwargs.setdefault("json_deserializer", orjson.loads)
    ping = kwargs.pop("pool_pre_ping", None)
    engine = create_engine(url, pool_pre_ping=bool(ping), **kwargs)
    if ping is None:
        _ping_after_idle(engine)
    return engine


#: A pooled connection idle this long is pinged before it is handed out.
PING_AFTER_IDLE_S = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle, not for every checkout.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout — on intake, one in four of
    its round trips. A connection returned less than a second ago was working a second ago; if the
    server went away since, the statement fails, SQLAlchemy invalidates the whole pool, and the next
    request gets fresh connections — what pre-ping would have given one request earlier.
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("returned_at", 0.0) < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except dbapi_error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc  # the pool retries


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def database_key(bind: Session | Engine | Connection) -> str:
    """The database's URL (password masked) as the key of per-database caches; rendered once per
    engine and kept on it, as the hottest paths ask for it several times a request."""
    engine = bind.get_bind().engine if isinstance(bind, Session) else bind.engine
    key: str | None = getattr(engine, "_shuzhi_database_key", None)
    if key is None:
        key = str(engine.url)
        engine._shuzhi_database_key = key  # type: ignore[attr-defined]
    return key
