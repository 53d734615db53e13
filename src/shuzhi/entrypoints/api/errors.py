"""Translate service errors into HTTP answers with a field-level message; never a 500 for bad input."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from shuzhi.services.errors import ServiceError


def _body(message: str, field: str | None = None, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": message}
    if field:
        body["field"] = field
    if details is not None:
        body["details"] = details
    return body


_WHERE = {"body", "query", "path", "header", "cookie"}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "units", 1, "unit_code")`` → ``units[1].unit_code``; ``("query", "limit")`` → ``limit``."""
    parts = list(loc[1:] if loc and loc[0] in _WHERE else loc)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


log = logging.getLogger("shuzhi.api")

MAX_INT = 2**63 - 1


def _oversized(request: Request) -> str | None:
    """The path or query parameter holding an integer too large for the database, if any."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        text = str(value).strip().lstrip("+-")
        if text.isdecimal() and int(text) > MAX_INT:
            return name
    return None

#: The database is away (restarting, fail-over, out of connections): the request may be retried as it
#: is — a client with an Idempotency-Key loses and doubles nothing — so it is a 503, not a 500.
DATABASE_AWAY = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
RETRY_AFTER_S = 2


#: PostgreSQL's answers to two writers meeting on the same rows: serialization failure, deadlock,
#: lock not available. The request lost a race, the database is fine: 409, reload and retry.
_RACE_SQLSTATES = {"40001", "40P01", "55P03"}
CONCURRENT = ("it was changed by someone else at the same time; reload and retry")


def _lost_race(exc: Exception) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _RACE_SQLSTATES


def install(app: FastAPI) -> None:
    async def _conflict(request: Request, exc: Exception) -> JSONResponse:
        # A concurrent edit (a stale version, a unique key taken a moment ago, a deadlock) anywhere —
        # coordination, supervision, plans — is the client's 409, never a 500 (#15).
        log.info("concurrent edit on %s %s: %s", request.method, request.url.path,
                 str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
        return JSONResponse(_body(CONCURRENT), status_code=409)

    app.add_exception_handler(StaleDataError, _conflict)
    app.add_exception_handler(sa_exc.IntegrityError, _conflict)

    async def _database_away(request: Request, exc: Exception) -> JSONResponse:
        if _lost_race(exc):
            return await _conflict(request, exc)
        # pool_pre_ping replaces the dead connections on the next checkout, so the process recovers
        # by itself once the server is back; meanwhile the client is told to come back shortly.
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0][:200])
        return JSONResponse({"detail": "the database is not available at the moment; retry shortly",
                             "field": None}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})

    for kind in DATABASE_AWAY:
        app.add_exception_handler(kind, _database_away)

    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # An id or count beyond a 64-bit integer cannot name a stored row: SQLite's driver refuses to
        # bind it (OverflowError), PostgreSQL refuses to compare it with a BIGINT (DataError, as for
        # any value the column type cannot hold). Whatever route it reached, it is bad input.
        field = _oversized(request)
        if field or isinstance(exc, OverflowError):
            message = f"{field or 'a number'}: out of range (at most {MAX_INT})"
        else:
            message = "a value does not fit its field: " + str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        return JSONResponse(_body(message, field), status_code=422)

    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(sa_exc.DataError, _out_of_range)

    @app.exception_handler(sa_exc.StatementError)
    async def _statement_error(request: Request, exc: sa_exc.StatementError) -> JSONResponse:
        # A parameter that cannot even be bound (a date at the end of the calendar shifted by the
        # time zone: "date value out of range") is bad input; anything else stays a server error.
        if isinstance(exc.orig, OverflowError):
            return await _out_of_range(request, exc.orig)
        raise exc

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        # Retry-After for lockouts and rate limits, WWW-Authenticate for 401s.
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="shuzhi"')
        return JSONResponse(_body(exc.message, exc.field, exc.details), status_code=exc.status,
                            headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return JSONResponse(
            {"detail": f"{first['field']}: {first['message']}", "field": first["field"], "errors": errors},
            status_code=422,
        )
