"""CPU cost per request of sign-in, permission and scope checks on intake, in process (no HTTP).

Complements the side-by-side HTTP figure of ``bench_intake.py``, which on a shared 2-core machine is
dominated by noise: this one times, over the same small world on SQLite, (a) resolving the caller
from a bearer token (cache hit, the steady state) plus ``require``/``require_source`` and the
per-submitter idempotency key, against (b) resolving a staff code as before sign-in, and reports the
difference per request next to the CPU an intake costs end to end (``--quick``: fewer rounds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _results import finish, record


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    calls = 2_000 if args.quick else args.calls

    from tests.factories import World, build_world

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base
    from shuzhi.config import Settings
    from shuzhi.domain.permissions import EVENT_SUBMIT
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.commands import SubmitEvent
    from shuzhi.services.intake import scoped_intake_key, submit_event
    from shuzhi.services.security import authz
    from shuzhi.services.security.credentials import authenticate_token
    from shuzhi.services.security.tokens import mint_token_for
    from shuzhi.services.unit_of_work import UnitOfWork

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(engine)
        factory = make_session_factory(engine)
        with factory() as s:
            build_world(s)
        token = mint_token_for(UnitOfWork(factory), "bob")
        settings = Settings(data_dir=Path(tmp), database_url="sqlite://")

        def checked() -> None:
            found = authenticate_token(UnitOfWork(factory), settings, token, expected="bearer")
            authz.require(found.actor, EVENT_SUBMIT)
            authz.require_source(found.actor, "hotline")
            scoped_intake_key(found.actor, "client-key-1")

        def unchecked() -> None:
            with UnitOfWork(factory) as uow:
                resolve_actor(uow.session, "bob")

        def cpu_per_call(fn, n: int) -> float:  # type: ignore[no-untyped-def]
            fn()
            t0 = time.process_time()
            for _ in range(n):
                fn()
            return (time.process_time() - t0) / n

        rounds = [(cpu_per_call(checked, calls), cpu_per_call(unchecked, calls)) for _ in range(3)]
        extra = min(c for c, _ in rounds) - min(u for _, u in rounds)
        actor = resolve_actor(factory(), "bob")
        body = SubmitEvent(source="hotline", title="井盖", lon=World.A1[0], lat=World.A1[1])
        n = 300 if args.quick else 1000
        t0 = time.process_time()
        for _ in range(n):
            submit_event(UnitOfWork(factory), body, actor)
        intake = (time.process_time() - t0) / n
        engine.dispose()
    extras = [c - u for c, u in rounds]
    print(f"checks add {extra * 1e6:.0f} µs CPU per request; an intake costs {intake * 1e3:.2f} ms of CPU in the "
          f"service alone (the HTTP stack comes on top) → at most {extra / intake * 100:.1f} % of it")
    record("intake_security_cpu_us_per_request", round(extra * 1e6, 1), "µs", None, "lower", kind="overhead",
           samples=[round(x * 1e6, 1) for x in extras], volume={"calls": calls, "intakes": n, "rounds": 3},
           database="sqlite://",  # an in-process SQLite file: the checks' CPU, not the database's
           ratio={"numerator": {"label": "checks", "value": round(extra * 1e6, 1), "unit": "µs CPU"},
                  "denominator": {"label": "service intake", "value": round(intake * 1e6, 1), "unit": "µs CPU"}},
           share_of_service_intake_pct=round(extra / intake * 100, 2))


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
