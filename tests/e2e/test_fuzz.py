"""Fuzzing the whole OpenAPI document with schemathesis: no input may produce a 5xx.

Every operation gets generated requests (valid and invalid bodies, query strings, path parameters) as
the administrator, against the small test world. A 5xx is a bug: bad input must be a 4xx with a
message. Run with ``make fuzz`` (``SHUZHI_FUZZ=1``; ``SHUZHI_FUZZ_EXAMPLES`` cases per operation);
skipped in the ordinary suite, where it would take minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.migrate import upgrade
from shuzhi.config import Settings
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.security.tokens import mint_token_for
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import build_world

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.environ.get("SHUZHI_FUZZ") != "1",
                                                   reason="fuzzing runs with make fuzz (SHUZHI_FUZZ=1)")]
EXAMPLES = int(os.environ.get("SHUZHI_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    upgrade(f"sqlite:///{path}")  # at the migration head, so that /readyz is 200 too
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    with factory() as s:
        build_world(s)
        s.commit()
    settings = Settings(data_dir=path.parent, database_url=f"sqlite:///{path}", intake_rate_per_s=1e6,
                        intake_burst=1_000_000, login_rate_per_minute=1e6, login_burst=1_000_000)
    app = create_app(factory, settings)
    yield app, mint_token_for(UnitOfWork(factory), "admin", days=1)
    engine.dispose()


def test_no_operation_answers_5xx(fuzz_app: tuple[FastAPI, str]) -> None:
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis.checks import not_a_server_error

    app, token = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # signing out would end the fuzzer's own session
        if operation.path == "/api/auth/logout":
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: "
                                f"{response.text[:300]}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            operation.as_strategy()  # fail early on an operation schemathesis cannot generate for
            from hypothesis import given

            given(case=operation.as_strategy())(run)()
        except (Exception, BaseExceptionGroup) as exc:  # keep it, and go on with the other operations
            failures.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, "\n".join(sorted(set(failures))[:50])
