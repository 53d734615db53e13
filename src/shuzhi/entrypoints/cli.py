"""The ``shuzhi`` command: set up a database, import data, serve, run the demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shuzhi.config import get_settings

app = typer.Typer(help="数治 shuzhi — digital city operation and governance centre.", no_args_is_help=True)
import_app = typer.Typer(help="Import reference data (areas, units, people, event classes).", no_args_is_help=True)
export_app = typer.Typer(help="Export reference data as CSV or XLSX.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
console = Console()
err = Console(stderr=True)


@app.callback()
def _wire() -> None:
    """Every command runs with the parts wired together (hooks, session listeners, periodic jobs)."""
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()


DbOption = Annotated[str | None, typer.Option("--database-url", envvar="SHUZHI_DATABASE_URL",
                                               help="default: SQLite in the data directory")]


def _url(database_url: str | None) -> str:
    return database_url or get_settings().resolved_database_url()


def _uow(database_url: str | None):  # type: ignore[no-untyped-def]
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.services.unit_of_work import UnitOfWork

    return UnitOfWork(make_session_factory(make_engine(_url(database_url))))


@app.command()
def init(database_url: DbOption = None) -> None:
    """Create or upgrade the database schema (Alembic migrations); on a Citus coordinator, then spread
    the sensor stream's tables over the workers (docs/operations.md, "Distributed PostgreSQL")."""
    from shuzhi.adapters.db import citus
    from shuzhi.adapters.db.engine import make_engine
    from shuzhi.adapters.db.migrate import upgrade

    url = _url(database_url)
    upgrade(url)
    if url.startswith("postgresql"):
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                if citus.is_citus(conn):
                    done = citus.distribute(conn)
                    console.print(f"citus: {len(done.distributed)} tables distributed now, {len(done.already)} "
                                  f"already, over {done.workers} workers")
        finally:
            engine.dispose()
    console.print(f"[green]database ready[/green] {url.split('@')[-1]}")


def _report(report, what: str) -> None:  # type: ignore[no-untyped-def]
    """Print an import report; exit 1 naming every bad row and column when it was rejected."""
    if report.errors:
        table = Table(title=f"{what}: rejected, nothing was changed", show_lines=False)
        for col in ("row", "column", "value", "problem"):
            table.add_column(col)
        for e in report.errors:
            table.add_row(str(e.row), e.column or "", (e.value or "")[:40], e.message)
        err.print(table)
        raise typer.Exit(1)
    console.print(f"[green]{what}[/green]: {report.created} created, {report.updated} updated, "
                  f"{report.unchanged} unchanged")


def _rows(path: Path) -> list[dict[str, str]]:
    from shuzhi.adapters.tabular import TabularError, read_table

    try:
        return read_table(path.read_bytes(), path.name)
    except TabularError as exc:
        err.print(f"[red]{path}[/red]: {exc}")
        raise typer.Exit(2) from None


FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@import_app.command("areas")
def import_areas(path: FileArg, database_url: DbOption = None,
                 tolerance_m: Annotated[float, typer.Option(help="child-within-parent tolerance")] = 20.0) -> None:
    """Import the area tree from GeoJSON (code, name, level, parent_code per feature)."""
    from shuzhi.services.areas import import_areas as run

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]{path}[/red]: not GeoJSON: {exc}")
        raise typer.Exit(2) from None
    _report(run(_uow(database_url), data, tolerance_m=tolerance_m), "areas")


@import_app.command("units")
def import_units(path: FileArg, database_url: DbOption = None) -> None:
    """Import centres, departments, village and grid units (CSV or XLSX)."""
    from shuzhi.services.organisation import import_units as run

    _report(run(_uow(database_url), _rows(path)), "units")


@import_app.command("people")
def import_people(path: FileArg, database_url: DbOption = None) -> None:
    """Import people (CSV or XLSX)."""
    from shuzhi.services.organisation import import_people as run

    _report(run(_uow(database_url), _rows(path)), "people")


@import_app.command("event-classes")
def import_event_classes(path: FileArg, database_url: DbOption = None) -> None:
    """Import the event class catalogue with its time limits (CSV or XLSX)."""
    from shuzhi.services.catalogue import import_event_classes as run

    _report(run(_uow(database_url), _rows(path)), "event classes")


@import_app.command("calendar")
def import_calendar(path: FileArg, database_url: DbOption = None,
                    notice: Annotated[str, typer.Option(help="the notice, e.g. 国办发明电〔2026〕7号")] = "") -> None:
    """Enter holiday years from a ``date,kind`` file (2027-10-01,holiday / 2027-09-26,班)."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.calendars import import_years
    from shuzhi.services.errors import ServiceError

    try:
        change = import_years(_uow(database_url), SYSTEM, path.read_text(encoding="utf-8-sig"), notice)
    except ServiceError as exc:
        err.print(f"[red]{path}[/red]: {exc.message}")
        for line in exc.details if isinstance(exc.details, list) else []:
            err.print(f"  {line}")
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        err.print(f"[red]{path}[/red]: not UTF-8 text")
        raise typer.Exit(2) from None
    years = "、".join(str(y) for y in change.years)
    console.print(f"calendar: {years} entered; {change.recomputed_tasks} open deadline(s) recomputed")


@export_app.command("units")
def export_units(path: Path, database_url: DbOption = None) -> None:
    """Export units to PATH (.csv or .xlsx)."""
    from shuzhi.services.organisation import export_units as run

    _write(path, run(_uow(database_url)))


@export_app.command("people")
def export_people(path: Path, database_url: DbOption = None) -> None:
    """Export people to PATH (.csv or .xlsx)."""
    from shuzhi.services.organisation import export_people as run

    _write(path, run(_uow(database_url)))


@export_app.command("event-classes")
def export_event_classes(path: Path, database_url: DbOption = None) -> None:
    """Export the event class catalogue to PATH (.csv or .xlsx)."""
    from shuzhi.services.catalogue import export_event_classes as run

    _write(path, run(_uow(database_url)))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    from shuzhi.adapters.tabular import write_csv, write_xlsx

    if path.suffix.lower() == ".xlsx":
        path.write_bytes(write_xlsx(rows))
    elif path.suffix.lower() == ".csv":
        path.write_bytes(write_csv(rows))
    else:
        err.print(f"[red]{path}[/red]: give a .csv or .xlsx file name")
        raise typer.Exit(2)
    console.print(f"[green]{len(rows)} rows[/green] → {path}")


@import_app.command("events")
def import_events(path: FileArg, database_url: DbOption = None,
                  batch: Annotated[int, typer.Option(help="rows per transaction")] = 2000) -> None:
    """Import events (CSV or XLSX): valid rows registered, bad rows listed; re-import skips what is there."""
    from shuzhi.entrypoints.bulk_cli import run_import

    run_import(_uow(database_url), path, batch, console, err)


@export_app.command("events")
def export_events(
    path: Path,
    database_url: DbOption = None,
    state: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    event_class: Annotated[list[str] | None, typer.Option("--class", help="event class code; repeat")] = None,
    source: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    area: Annotated[str | None, typer.Option(help="area code: its whole subtree")] = None,
    received_from: Annotated[str | None, typer.Option("--from", help="2024-06-01 or ISO with offset")] = None,
    received_to: Annotated[str | None, typer.Option("--to", help="exclusive")] = None,
    reveal: Annotated[bool, typer.Option(help="reporters' personal data unmasked (audited)")] = False,
    reason: Annotated[str, typer.Option(help="why the personal data is needed (required with --reveal)")] = "",
) -> None:
    """Export events to PATH (.csv or .xlsx) with filters; reporters' data masked by default."""
    from shuzhi.entrypoints.bulk_cli import run_export

    run_export(_uow(database_url), path, state or [], event_class or [], source or [], area, received_from,
               received_to, reveal, console, err, reason)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="API processes (PostgreSQL for more than one)")] = 1,
    database_url: DbOption = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    worker_start_timeout: Annotated[int, typer.Option(help="seconds a worker may take to start (busy hosts)")] = 60,
) -> None:
    """Serve the API and web pages: N worker processes, JSON log lines, Prometheus metrics at /metrics."""
    import os

    import uvicorn

    from shuzhi.entrypoints.serving import prepare_workers

    if database_url:
        os.environ["SHUZHI_DATABASE_URL"] = database_url
    from shuzhi.entrypoints.worker import start_background_worker

    start_background_worker(_url(database_url))
    log_config = prepare_workers(get_settings(), workers, log_level)
    uvicorn.run("shuzhi.entrypoints.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=log_config, access_log=False, timeout_worker_healthcheck=worker_start_timeout)


@app.command()
def worker(
    database_url: DbOption = None,
    interval: Annotated[float, typer.Option(help="seconds between sweeps")] = 1.0,
    batch: Annotated[int | None, typer.Option(help="clocks claimed per transaction [default: 1000]")] = None,
    connections: Annotated[int | None, typer.Option(
        help="connections one sweep uses at once on PostgreSQL (SKIP LOCKED gives each its own clocks) "
             "[default: 2]")] = None,
    once: Annotated[bool, typer.Option(help="one sweep and the due periodic jobs, then exit")] = False,
) -> None:
    """Run the durable scheduler: supervision steps, webhook deliveries, periodic jobs (SIGTERM stops
    it after the batch in hand)."""
    from shuzhi.entrypoints.worker import run_worker

    raise typer.Exit(run_worker(_url(database_url), interval=interval, batch=batch, connections=connections,
                                once=once))


from shuzhi.entrypoints.cli_evaluation import evaluation_app, report_app  # noqa: E402
from shuzhi.entrypoints.cli_sensing import register as _register_sensing  # noqa: E402

_register_sensing(app, import_app, export_app)
app.add_typer(report_app, name="report")
app.add_typer(evaluation_app, name="evaluation")

from shuzhi.entrypoints.cli_hotline import hotline_app, model_app  # noqa: E402

app.add_typer(model_app, name="model")
app.add_typer(hotline_app, name="hotline")

if __name__ == "__main__":
    app()


from shuzhi.entrypoints.cli_security import audit_app, user_app  # noqa: E402

app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
