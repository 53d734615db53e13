"""CPU cost of the write-scope checks of issue #15 on intake and dispatch, in process (no HTTP).

Over the test world on SQLite, per call, in CPU time (``time.process_time``):

- **intake**: ``submit_event`` as it is, against the same with the new check of ``received_at``
  turned into a no-op;
- **dispatch**: ``handling.dispatch`` of a fresh event to a department, as it is, against the same
  with the standing check (:func:`shuzhi.services.security.authz.ensure_can_act_on_event`) and the
  unit-fits-the-area check turned into no-ops.

The two variants alternate in rounds (the order flips each round) and the median per-call CPU of each
is compared. Because a side-by-side difference of a few per cent drowns in the noise of a shared
machine, the checks are also timed alone (best of 5 × ``--calls``) and reported as a share of the
per-call CPU. The record (``_results.py``) notes the machine's load with each figure; ``--quick`` (2 rounds
of 30 calls) writes to ``results-quick.json`` only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _results import finish, record


def _cpu_per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200, help="intakes and dispatches per round and variant")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="a smoke run (2 rounds of 30 calls) to results-quick.json")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.calls = 2, 30

    from tests.factories import World, build_world

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base, Event, Unit
    from shuzhi.services import commands as c
    from shuzhi.services import handling, intake
    from shuzhi.services.actors import resolve_actor
    from shuzhi.services.security import authz
    from shuzhi.services.unit_of_work import UnitOfWork

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(engine)
        factory = make_session_factory(engine)
        with factory() as s:
            build_world(s)
        uow = UnitOfWork(factory)
        with factory() as s:
            alice = resolve_actor(s, "alice")
        body = c.SubmitEvent(source="hotline", request_type="complain", event_class_code="0101", title="井盖破损",
                             lon=World.A1[0], lat=World.A1[1])
        dated = body.model_copy(update={"received_at": datetime.now(UTC) - timedelta(minutes=5)})
        send = c.Dispatch(units=[c.UnitAssignment(unit_code="D500111-CGJ", role="lead")])

        real_received, real_act, real_fits = intake._check_received_at, authz.ensure_can_act_on_event, \
            handling.unit_fits_area

        def checks(on: bool) -> None:
            intake._check_received_at = real_received if on else (lambda *a, **k: None)  # type: ignore[assignment]
            authz.ensure_can_act_on_event = real_act if on else (lambda *a, **k: None)  # type: ignore[assignment]
            handling.unit_fits_area = real_fits if on else (lambda *a, **k: True)  # type: ignore[assignment]

        pending: list[str] = []

        def one_intake() -> None:
            pending.append(intake.submit_event(uow, dated, alice).number)

        def one_dispatch() -> None:
            handling.dispatch(uow, pending.pop(), send, alice)

        per: dict[tuple[str, bool], list[float]] = {}
        for rnd in range(args.rounds):
            for on in ((True, False) if rnd % 2 == 0 else (False, True)):
                checks(on)
                per.setdefault(("intake", on), []).append(_cpu_per_call(one_intake, args.calls))
                per.setdefault(("dispatch", on), []).append(_cpu_per_call(one_dispatch, args.calls))
        checks(True)

        # the checks alone, on a dispatched event loaded as the services load it
        number = intake.submit_event(uow, dated, alice).number
        handling.dispatch(uow, number, send, alice)
        with factory() as s:
            from sqlalchemy import select

            ev = s.scalar(select(Event).where(Event.number == number))
            unit = s.scalar(select(Unit).where(Unit.code == "D500111-CGJ"))
            assert ev is not None and unit is not None
            _ = [t.unit for t in ev.tasks], unit.area
            now = datetime.now(UTC)
            alone_intake = min(_cpu_per_call(lambda: real_received(dated, alice, now), 20 * args.calls)
                               for _ in range(5))
            alone_dispatch = min(_cpu_per_call(lambda: (real_act(alice, ev), real_fits(s, unit, ev.area_path)),
                                               20 * args.calls) for _ in range(5))

    for what, alone in (("intake", alone_intake), ("dispatch", alone_dispatch)):
        with_checks = statistics.median(per[(what, True)])
        without = statistics.median(per[(what, False)])
        side_by_side = 100.0 * (with_checks - without) / without
        share = 100.0 * alone / with_checks
        print(f"{what}: {with_checks * 1e3:.2f} ms CPU per call with the checks, {without * 1e3:.2f} ms without "
              f"(side by side {side_by_side:+.1f} %); the checks alone {alone * 1e6:.1f} µs = {share:.2f} %")
        record(f"write_scope_checks_{what}_cpu_share", round(share, 3), "%", 5.0, "lower",
               samples=[round(100.0 * alone / x, 3) for x in per[(what, True)]],
               database="sqlite:///bench.db (a temporary file)",
               volume={"world": "tests.factories.build_world", "rounds": args.rounds, "calls_per_round": args.calls},
               checks_alone_us=round(alone * 1e6, 2), cpu_per_call_ms_with=round(with_checks * 1e3, 3),
               cpu_per_call_ms_without=round(without * 1e3, 3), side_by_side_pct=round(side_by_side, 2))
    return finish()


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    sys.exit(main())
