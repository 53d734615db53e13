"""The FastAPI application: routers, error translation, database binding."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from shuzhi import __version__
from shuzhi.config import Settings, get_settings
from shuzhi.entrypoints.api import errors
from shuzhi.entrypoints.api.limits import BodyLimit

DESCRIPTION = """
数治 shuzhi — the API of a digital city operation and governance centre.

Every state change of an event is checked against the transition table and written to the event's
timeline. Every route but sign-in and health needs a credential: the `shuzhi_session` cookie from
`POST /api/auth/login` (changes also send `X-CSRF-Token`), `Authorization: Bearer <token>` from
`POST /api/auth/tokens`, or a connected system's `X-API-Key`. What a person may do comes from their
role; what they may see is their area (town, village, grid) plus the tasks of their unit.
Changes accept `expected_version`: a stale version gets 409 instead of overwriting someone's work.
"""


def create_app(session_factory: sessionmaker[Session] | None = None, settings: Settings | None = None) -> FastAPI:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.entrypoints.api.routers import ROUTERS
    from shuzhi.entrypoints.api.uploads import document_uploads
    from shuzhi.entrypoints.serving import tune_gc
    from shuzhi.services.bootstrap import bootstrap

    tune_gc()
    settings = settings or get_settings()
    bootstrap(settings)  # the in-process worker sends notices through this app's gateway settings
    if session_factory is None:
        url = settings.resolved_database_url()
        pool = {} if url.startswith("sqlite") else {"pool_size": settings.api_db_pool_size, "max_overflow": 10}
        session_factory = make_session_factory(make_engine(url, **pool))
    otel = settings.opentelemetry
    app = FastAPI(title="shuzhi 数治", version=__version__, description=DESCRIPTION,
                  telemetry={"tracing": otel, "metrics": otel, "logs": otel})
    app.state.session_factory = session_factory
    app.state.settings = settings
    app.state.ready = True
    errors.install(app)
    app.add_middleware(BodyLimit, settings=settings)
    for router in ROUTERS:
        document_uploads(router.routes)
        app.include_router(router)
    from shuzhi.entrypoints.api.observability import Observer
    from shuzhi.entrypoints.web import pages

    pages.install(app)
    app.add_middleware(Observer, log=settings.access_log)
    return app
