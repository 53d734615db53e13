"""``shuzhi demo``: build the demo district, fill it with history, serve it, keep it alive.

The server starts at once and ``/healthz`` answers 503 until the data is ready, then 200; a second
start on the same data directory reuses what is there (``--fresh`` rebuilds).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.engine import make_engine, make_session_factory
from shuzhi.adapters.db.migrate import upgrade
from shuzhi.adapters.db.tables import Event
from shuzhi.adapters.tabular import read_table
from shuzhi.config import Settings
from shuzhi.demo.accounts import DEMO_PASSWORD, give_demo_passwords
from shuzhi.demo.areas import seed_merge_configuration, seed_village_merge
from shuzhi.demo.collection import seed_collection
from shuzhi.demo.copies import seed_copies, seed_copy_lists
from shuzhi.demo.district import DemoDistrict, build_district
from shuzhi.demo.duty import seed_duty
from shuzhi.demo.evaluation import seed_evaluation
from shuzhi.demo.history import Step, build_history, next_live_event
from shuzhi.demo.ledgers import seed_ledgers
from shuzhi.demo.levels import seed_sibling
from shuzhi.demo.plans import load_demo_plans
from shuzhi.demo.replay import Replayer
from shuzhi.demo.sensing import seed_sensing, start_live
from shuzhi.demo.services import seed_services, service_history_days
from shuzhi.demo.town import seed_grid_teams, seed_town_boards
from shuzhi.demo.warnings import seed_warnings
from shuzhi.services.areas import import_areas
from shuzhi.services.catalogue import import_event_classes
from shuzhi.services.dispatching.deciding import auto_dispatch
from shuzhi.services.errors import ServiceError
from shuzhi.services.importing import ImportReport
from shuzhi.services.organisation import import_people, import_units
from shuzhi.services.scheduler import start_in_thread
from shuzhi.services.supervision import sweep
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")

DEMO_ACCOUNTS = [
    ("admin", "administrator 系统管理员"),
    ("leader.city", "city leader 市领导 (一贯到底: /levels)"),
    ("duty.district", "district duty officer 区中心值班员"),
    ("dispatcher.district1", "district dispatcher 区中心调度员"),
    ("leader.district", "district leader 区领导"),
    ("duty.longgang", "龙岗街道 duty officer"),
    ("dispatcher.longgang", "龙岗街道 dispatcher"),
    ("leader.longgang", "龙岗街道 leader"),
    ("grid.longgang01", "龙岗街道 grid worker 网格员"),
    ("duty.tangxiang", "棠香街道 duty officer"),
    ("dispatcher.tangxiang", "棠香街道 dispatcher"),
    ("grid.tangxiang01", "棠香街道 grid worker"),
    ("handler.cgj", "城市管理局 handler"),
    ("handler.slj", "水利局 handler"),
    ("auditor", "auditor 审计员"),
    ("integrator", "integrator 系统对接"),
]


def _check(report: ImportReport, what: str) -> None:
    if report.errors:
        first = "; ".join(f"row {e.row} {e.column}: {e.message}" for e in report.errors[:5])
        raise RuntimeError(f"demo {what} did not import ({len(report.errors)} errors): {first}")


def load_reference_data(uow: Callable[[], UnitOfWork], district: DemoDistrict) -> None:
    """Import the district through the same importers an administrator uses."""
    _check(import_areas(uow(), district.areas_geojson, tolerance_m=20.0), "areas")
    _check(import_event_classes(uow(), read_table(district.event_classes_csv.encode(), "classes.csv")), "classes")
    _check(import_units(uow(), read_table(district.units_csv.encode(), "units.csv")), "units")
    _check(import_people(uow(), read_table(district.people_csv.encode(), "people.csv")), "people")


def history_start(days: int, now: datetime) -> datetime:
    """Local midnight ``days - 1`` days ago, so the history's last day is today (up to now).

    The same seed gives the same scripts on the same day; how far today's have got depends on the hour.
    """
    local_midnight = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return (local_midnight - timedelta(days=days - 1)).astimezone(UTC)


def seed_demo(factory: sessionmaker[Session], seed_value: int, days: int, console: Console | None = None,
         now: datetime | None = None) -> tuple[Replayer, list[tuple[str, Step]], DemoDistrict]:
    """Build, import and replay; returns the replayer and the steps still in the future."""
    now = now or datetime.now(UTC)
    district = build_district(seed_value)

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)

    load_reference_data(uow, district)
    seed_town_boards(uow, district, seed_value)  # 一中心四板块: boards, their staff, posts and duties
    seed_grid_teams(uow, district, now)  # 一网格: teams "1+3+N", duty lists "6+1", today's due items
    give_demo_passwords(factory)
    seed_duty(factory, district, now)  # rosters, duty mobiles, escalation policies: notices reach phones
    scripts = build_history(district, history_start(days, now), days, seed_value)
    replayer = Replayer(uow)
    clock = supervision_clock_for_replay(uow)
    if console is None:
        pending = replayer.play(scripts, until=now, on_time=clock)
    else:
        with Progress(console=console, transient=True) as bar:
            job = bar.add_task("历史事件 history", total=len(scripts))
            pending = replayer.play(scripts, until=now, progress=lambda n: bar.update(job, completed=n),
                                    on_time=clock)
    # After the scripted history, so its past stays as it was; the simulated readings (and their
    # storm) come after the plans and threshold rules, so the storm's warnings open events and start
    # the flood plan as they would live. Supervision then catches up to now over all of it.
    # 抄送知悉 beside the handled cases, at the seeds' shape (~96 % of the events, demo/copies.py)
    seed_copy_lists(uow, district, replayer.actor("duty.district"))
    seed_copies(factory, district, history_start(days, now), now, seed_value)
    load_demo_plans(uow())
    seed_warnings(uow, factory, district)
    seed_sensing(uow, factory, district, history_start(days, now), now, seed_value)
    # 铜梁区's few cases: the city level compares two districts
    replayer.numbers.extend(seed_sibling(uow, district, now, seed_value))
    seed_collection(uow, factory, now)  # the online plan, partly online; rectifications under way (#22)
    clock(now)
    seed_ledgers(uow, now, seed_value, start_days=min(150, max(30, days * 5)))  # 台账 (docs/ledgers.md)
    seed_services(uow, district, now - timedelta(days=service_history_days(days)), now, seed_value)  # 一窗综办
    give_demo_passwords(factory)  # the approval bureau's handler, added with the service catalogue
    # 村社撤并 a day ago: open work of two villages moves to the merged one, their history stays (#20)
    seed_merge_configuration(uow, district)  # their 便民服务站, re-pointed by the merge
    seed_village_merge(uow, district, now)
    # the evaluation roll-ups and a default scoring scheme over everything above
    seed_evaluation(uow(), now)
    return replayer, pending, district


def supervision_clock_for_replay(uow: Callable[[], UnitOfWork], every: timedelta = timedelta(minutes=15)
                                 ) -> Callable[[datetime], None]:
    """The supervision sweep as the history's clock: run at most every ``every`` of history time, so
    that reminders, overdue notices, cards and escalations land in the history when they fell due."""
    last: list[datetime] = []

    def tick(at: datetime) -> None:
        if last and at - last[0] < every:
            return
        last[:] = [at]
        sweep(uow, at)

    return tick


def _live_loop(factory: sessionmaker[Session], replayer: Replayer, pending: list[tuple[str, Step]],
               district: DemoDistrict, seed_value: int, stop: threading.Event, interval: float = 12.0) -> None:
    """Keep the district alive: new reports arrive and scripted steps happen when their time comes."""
    rng = random.Random(seed_value * 7919)
    while not stop.wait(rng.uniform(interval / 2, interval * 1.5)):
        now = datetime.now(UTC)
        due = [p for p in pending if p[1].at <= now]
        for item in due:
            pending.remove(item)
            replayer.apply(*item)
        script = next_live_event(district, now, rng)
        number = replayer.submit(script)
        replayer.numbers.append(number)
        if script.steps:
            pending.extend((number, s) for s in script.steps)
        else:
            _auto_dispatch(factory, replayer, number)


def _auto_dispatch(factory: sessionmaker[Session], replayer: Replayer, number: str) -> None:
    """New handle-mode reports go where the dispatch rules (or the grid principle) send them, as the
    centre's automatic dispatch would; one nobody's duties cover stays for the duty officer."""
    try:
        auto_dispatch(UnitOfWork(factory), number, replayer.actor("duty.district"))
    except ServiceError as exc:
        replayer.failures.append(f"{number} auto-dispatch: {exc.message}")


def run_demo(*, host: str, port: int, data_dir: Path, seed: int, days: int, live: bool, fresh: bool,
             console: Console) -> None:
    import uvicorn

    from shuzhi.entrypoints.api.app import create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / f"demo-seed{seed}.db"
    if fresh and db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db.resolve()}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    settings = Settings(data_dir=data_dir, database_url=url, demo_mode=True)
    app_gateway = _demo_gateway(settings, data_dir, host, port, console)
    app: FastAPI = create_app(factory, settings)
    app.state.ready = False
    app.state.sms_gateway = app_gateway
    stop = threading.Event()

    def prepare() -> None:
        with factory() as s:
            existing = s.scalar(select(func.count(Event.id))) or 0
        if existing:
            district = build_district(seed)
            replayer = Replayer(lambda: UnitOfWork(factory))
            pending: list[tuple[str, Step]] = []
            console.print(f"[green]reusing[/green] {existing} events in {db}")
            give_demo_passwords(factory)  # a demo database from before sign-in existed
        else:
            started = time.monotonic()
            replayer, pending, district = seed_demo(factory, seed, days, console)
            console.print(f"[green]demo data ready[/green] in {time.monotonic() - started:.0f} s "
                          f"({len(replayer.numbers)} events)")
        start_in_thread(factory)  # the durable scheduler, once the history is in (it catches up from there)
        app.state.ready = True
        _banner(console, host, port)
        if live:
            start_live(factory, district, seed, stop)
            _live_loop(factory, replayer, pending, district, seed, stop)

    threading.Thread(target=prepare, name="demo-seed", daemon=True).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _demo_gateway(settings: Settings, data_dir: Path, host: str, port: int, console: Console) -> object | None:
    """A private Kannel (bearerbox + smsbox + fakesmsc as the carrier) for the demo's notices, when the
    Debian packages are there; the SMS the carrier "delivers" are in ``<data_dir>/kannel/carrier.out``."""
    import secrets

    from shuzhi.adapters import kannel_local

    if not kannel_local.available():
        console.print("[yellow]Kannel not installed[/yellow]: notices go to the inbox and robots only")
        return None
    base = f"http://{host}:{port}"
    gateway = kannel_local.LocalKannel(data_dir / "kannel", mo_url=f"{base}/api/notices/sms/mo", callback_base=base,
                                       callback_secret=secrets.token_hex(16))
    try:
        gateway.start()
    except RuntimeError as exc:
        console.print(f"[yellow]Kannel did not start[/yellow] ({exc}): notices go to the inbox and robots only")
        return None
    settings.sms_sendsms_url = gateway.config.sendsms_url
    settings.sms_username, settings.sms_password, settings.sms_sender = gateway.username, gateway.password, \
        gateway.sender
    settings.sms_callback_base = settings.public_base_url = base
    settings.sms_callback_secret, settings.sms_mo_key = gateway.callback_secret, gateway.mo_key
    import atexit

    atexit.register(gateway.stop)
    console.print(f"[green]SMS gateway[/green] Kannel on {gateway.config.sendsms_url} "
                  f"(carrier log: {gateway.run_dir / 'carrier.out'})")
    return gateway


def _banner(console: Console, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    console.print(f"\n[bold]数治 shuzhi demo[/bold] — {base}\n  API docs: {base}/docs\n  health:   {base}/healthz")
    console.print(f"  demo accounts (sign in at POST /api/auth/login, password '{DEMO_PASSWORD}'):")
    for code, what in DEMO_ACCOUNTS:
        console.print(f"    {code:<18} {what}")

