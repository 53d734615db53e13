"""Translate service errors into HTTP answers with a field-level message; never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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


def install(app: FastAPI) -> None:
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
