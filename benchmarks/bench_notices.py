"""Notices through the real SMS gateway: a plan's activation to 1,000 towns and villages.

Figures (issue 19: Notices):
1. ``notices_handover_1000_s`` — 1,000 SMS notices handed to the gateway (Kannel's sendsms accepted
   each one) ≤ 5 s: the time ``send_due`` takes from the durable outbox to the last acceptance.
2. ``notices_lost_on_gateway_restart`` — none lost when the gateway (bearerbox + smsbox) is restarted
   while 1,000 more are being handed over: notices refused while it is away are retried from the
   outbox on the real clock with the product's retry policy; at the end every notice's code must have
   reached the carrier (fakesmsc). Target 0.

Setup: a database (PostgreSQL ``bench_notices`` by default, ``--sqlite`` for a file), 1,000 village
units with a desk phone, the default ``plan-activated`` policy (the unit by SMS and in-app), a private
Kannel on free ports (bearerbox + smsbox + fakesmsc) and a small HTTP responder for its delivery
reports. Each figure starts from a plan's activation through the real hook (``notify_plan_run``: one
chain per unit in one statement), then the escalation job writes the notices (timed and reported too).
Also recorded (no target): ``notices_plan_chains_to_notices_s``, the escalation job turning the plan's
chains into notices. Figures go to the record (``_results.record``: commit, machine, load, database);
``--quick`` takes 200 units into ``results-quick.json``.
Run: ``.venv/bin/python benchmarks/bench_notices.py [--sqlite] [--units 1000] [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import re
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = "bench_notices"
CODE = re.compile(r"/n/([A-Z0-9]{8})")


def database(sqlite: bool, tmp: Path) -> str:
    if sqlite:
        return f"sqlite:///{tmp / 'bench_notices.db'}"
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    return f"postgresql+psycopg://postgres@localhost/{DB}"


def seed(factory: Any, units: int) -> list[int]:
    from shuzhi.adapters.db.tables import Area, Unit

    with factory() as s:
        district = Area(code="500111", name="大足区", level="district", path="/500000/500111/")
        s.add(district)
        s.flush()
        centre = Unit(code="C500111", name="大足区城市运行和治理中心", kind="centre", level="district",
                      area_id=district.id)
        s.add(centre)
        s.flush()
        ids = []
        for i in range(units):
            code = f"500111{i // 100 + 1:03d}{i % 100 + 1:03d}"
            area = Area(code=code, name=f"第{i + 1}村", level="village", parent_id=district.id,
                        path=f"/500000/500111/{code}/")
            s.add(area)
            s.flush()
            u = Unit(code=f"V{code}", name=f"第{i + 1}村村委会", kind="village", level="village", area_id=area.id,
                     parent_id=centre.id, phone=f"139{i:08d}")
            s.add(u)
            s.flush()
            ids.append(u.id)
        s.commit()
    return ids


def activate(factory: Any, unit_ids: list[int], run_id: int, at: datetime) -> float:
    """A plan's start through the notice hook, then the escalation job writing the notices."""
    from shuzhi.services.notices import escalation
    from shuzhi.services.notices.hooks import notify_plan_run
    from shuzhi.services.unit_of_work import UnitOfWork

    with factory() as s:
        notify_plan_run(s, run_id, at, plan_name="防汛Ⅰ级响应", event_id=None, unit_ids=unit_ids)
        s.commit()
    started = time.perf_counter()
    escalation.run_due_steps(lambda: UnitOfWork(factory), at, batch=500)
    return time.perf_counter() - started


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        # Kannel hangs up once it has the status line: the report was received
        with contextlib.suppress(BrokenPipeError):
            self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def submitted(factory: Any, run_subject: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from shuzhi.adapters.db.tables_notices import Notice, NoticeChain

    with factory() as s:
        base = (select(func.count(Notice.id)).join(NoticeChain, NoticeChain.id == Notice.chain_id)
                .where(NoticeChain.subject == run_subject, Notice.channel == "sms"))
        done = s.scalar(base.where(Notice.state.in_(("submitted", "delivered")))) or 0
        total = s.scalar(base) or 0
        return int(done), int(total)


def codes_of(factory: Any, run_subject: str) -> set[str]:
    from sqlalchemy import select

    from shuzhi.adapters.db.tables_notices import Notice, NoticeChain

    with factory() as s:
        return set(s.scalars(select(Notice.code).join(NoticeChain, NoticeChain.id == Notice.chain_id)
                             .where(NoticeChain.subject == run_subject, Notice.channel == "sms")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 units, into results-quick.json")
    args = parser.parse_args()
    if args.quick:
        args.units = min(args.units, 200)

    from sqlalchemy import func, select

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Base
    from shuzhi.adapters.db.tables_notices import Notice, NoticeChain
    from shuzhi.adapters.kannel import KannelClient
    from shuzhi.adapters.kannel_local import LocalKannel, free_port
    from shuzhi.services.notices.sender import Gateways, send_due
    from shuzhi.services.unit_of_work import UnitOfWork

    tmp = Path(tempfile.mkdtemp(prefix="bench_notices_"))
    url = database(args.sqlite, tmp)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    unit_ids = seed(factory, args.units)
    uow_factory = lambda: UnitOfWork(factory)  # noqa: E731
    volume = {"units": args.units, "notices_per_activation": args.units * 2, "sms_per_activation": args.units,
              "policy": "plan-activated (unit: SMS + in-app)"}

    responder = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Ok)
    threading.Thread(target=responder.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{responder.server_address[1]}"
    kannel = LocalKannel(tmp / "kannel", mo_url=f"{base}/mo", callback_base=base).start()
    try:
        gateways = Gateways(kannel=KannelClient(kannel.config), threads=args.threads,
                            backoff_base=timedelta(milliseconds=500), backoff_cap=timedelta(seconds=2), base_url=base)
        # 1. hand-over of 1,000
        at = datetime.now(UTC)
        expand_s = activate(factory, unit_ids, 1, at)
        started = time.perf_counter()
        send_due(uow_factory, at, gateways, batch=args.units)
        handover_s = time.perf_counter() - started
        done, total = submitted(factory, "plan_run:1")
        print(f"chains expanded to notices in {expand_s:.2f} s; {done}/{total} handed over in {handover_s:.2f} s")
        gateway = "Kannel 1.4.5 bearerbox+smsbox, fakesmsc carrier"
        record("notices_handover_1000_s", round(handover_s, 3), "s", 5.0, "lower", volume=volume, database=url,
               notices=total, accepted=done, threads=args.threads, gateway=gateway,
               note=None if args.units == 1000 else f"{args.units} notices, not 1,000")
        record("notices_plan_chains_to_notices_s", round(expand_s, 3), "s", None, "lower", volume=volume,
               database=url, chains=args.units, note="the escalation job writing a plan activation's notices")

        # 2. a restart of the gateway in the middle of another 1,000
        at2 = at + timedelta(seconds=1)
        activate(factory, unit_ids, 2, at2)
        stop = threading.Event()
        restarted: dict[str, float] = {}

        def restart_midway() -> None:
            while not stop.is_set():
                got, all_ = submitted(factory, "plan_run:2")
                if got >= all_ // 3:
                    t = time.perf_counter()
                    kannel.restart_gateway()
                    restarted["after"] = got
                    restarted["took_s"] = time.perf_counter() - t
                    return
                time.sleep(0.02)

        watcher = threading.Thread(target=restart_midway)
        watcher.start()
        # On the real clock with the product's retry policy (backoff from BACKOFF_BASE doubling to
        # BACKOFF_CAP, SMS_MAX_ATTEMPTS attempts: about ten minutes): a restart of the gateway must be
        # bridged by the retries as it would be in service. (Advancing a fake clock each round, as this
        # script did before, spent all the attempts within the seconds the gateway was down.)
        product = Gateways(kannel=KannelClient(kannel.config), threads=args.threads, base_url=base)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            send_due(uow_factory, max(datetime.now(UTC), at2), product, batch=100)
            got, all_ = submitted(factory, "plan_run:2")
            if got == all_ and "after" in restarted:
                break
            time.sleep(0.2)
        stop.set()
        watcher.join()
        wanted = codes_of(factory, "plan_run:2")
        seen: set[str] = set()
        wait_until = time.monotonic() + 60
        while time.monotonic() < wait_until:
            seen = {m.group(1) for msg in kannel.received() for m in [CODE.search(msg.text)] if m}
            if wanted <= seen:
                break
            time.sleep(0.5)
        lost = len(wanted - seen)
        received = [m for m in kannel.received() if CODE.search(m.text)]
        duplicates = len(received) - len({CODE.search(m.text).group(1) for m in received})  # type: ignore[union-attr]
        print(f"restart after {restarted.get('after')} accepted ({restarted.get('took_s', 0):.1f} s); "
              f"{len(wanted)} notices, {lost} lost, {duplicates} received twice")
        with factory() as s:
            failed = s.scalar(select(func.count(Notice.id)).join(NoticeChain, NoticeChain.id == Notice.chain_id)
                              .where(NoticeChain.subject == "plan_run:2", Notice.state == "failed")) or 0
        record("notices_lost_on_gateway_restart", lost, "notices", 0, "lower", volume=volume, database=url,
               notices=len(wanted), restarted_after_accepted=restarted.get("after"), duplicates=duplicates,
               gateway=gateway, restart_s=round(restarted.get("took_s", 0), 1), failed_after_retries=int(failed),
               retry_policy=f"backoff {product.backoff_base.total_seconds():.0f} s doubling to "
                            f"{product.backoff_cap.total_seconds():.0f} s, real clock")
    finally:
        kannel.stop()
        responder.shutdown()
        engine.dispose()


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
    sys.exit(finish())
