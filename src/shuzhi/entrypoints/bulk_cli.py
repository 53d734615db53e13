"""``shuzhi import events`` / ``shuzhi export events``: the bulk paths with a progress bar.

The command line acts as the system (the operator on the server): global scope, every permission.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from shuzhi.adapters.tabular import TabularError, read_table
from shuzhi.services import bulk_events
from shuzhi.services.actors import SYSTEM
from shuzhi.services.errors import ServiceError
from shuzhi.services.queries import EventFilter
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console)


def run_import(uow: UnitOfWork, path: Path, batch: int, console: Console, err: Console) -> None:
    started = time.perf_counter()
    with console.status(f"reading {path.name} …"):
        try:
            rows = read_table(path.read_bytes(), path.name)
        except TabularError as exc:
            err.print(f"[red]{path}[/red]: {exc}")
            raise typer.Exit(2) from None
    with _progress(console) as bar:
        task = bar.add_task("importing events", total=len(rows), rate="")

        def advance(done: int) -> None:
            elapsed = time.perf_counter() - started
            bar.update(task, completed=done, rate=f"{done / elapsed:,.0f} rows/s" if elapsed > 0 else "")

        try:
            report = bulk_events.import_events(uow, SYSTEM, rows, label=path.name[:100], progress=advance,
                                               batch_size=batch)
        except ServiceError as exc:
            err.print(f"[red]{path}[/red]: {exc.message}")
            for d in exc.details if isinstance(exc.details, list) else []:
                err.print(f"  row {d['row']}, column {d['column']}: {d['message']}")
            raise typer.Exit(2) from None
    if report.errors:
        table = Table(title=f"{report.rejected} row(s) not imported", show_lines=False)
        for col in ("row", "column", "value", "problem"):
            table.add_column(col)
        for e in report.errors[:200]:
            table.add_row(str(e.row), e.column or "", (e.value or "")[:40], e.message)
        err.print(table)
        if len(report.errors) > 200:
            err.print(f"… and {len(report.errors) - 200} more problems")
    elapsed = time.perf_counter() - started
    console.print(f"[green]events[/green]: {report.created} created, {report.skipped} already imported, "
                  f"{report.rejected} rejected of {report.rows} rows in {elapsed:.1f} s")
    if report.errors:
        raise typer.Exit(1)


def _when(value: str | None, name: str, err: Console) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--{name}[/red]: not a date (2024-06-01 or 2024-06-01T00:00:00+08:00)")
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def run_export(uow: UnitOfWork, path: Path, state: list[str], classes: list[str], source: list[str],
               area: str | None, received_from: str | None, received_to: str | None, reveal: bool,
               console: Console, err: Console, reason: str = "") -> None:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        err.print(f"[red]{path}[/red]: give a .csv or .xlsx file name")
        raise typer.Exit(2)
    f = EventFilter(state=state, event_class=classes, source=source, area_code=area,
                    received_from=_when(received_from, "from", err), received_to=_when(received_to, "to", err))
    try:
        rows = bulk_events.export_events(uow, SYSTEM, f, reveal=reveal, reason=reason)
        with _progress(console) as bar:
            task = bar.add_task("exporting events", total=None, rate="")
            counted = 0

            def counting() -> Iterator[dict[str, str]]:
                nonlocal counted
                for row in rows:
                    counted += 1
                    if counted % 1000 == 0:
                        bar.update(task, completed=counted)
                    yield row

            if suffix == ".xlsx":
                path.write_bytes(bulk_events.xlsx_bytes(counting()))
            else:
                with path.open("wb") as out:
                    for chunk in bulk_events.csv_chunks(counting()):
                        out.write(chunk)
            bar.update(task, completed=counted, total=counted)
    except ServiceError as exc:
        err.print(f"[red]export[/red]: {exc.message}")
        raise typer.Exit(2) from None
    console.print(f"[green]{counted} events[/green] → {path}" + ("" if reveal else " (reporters masked)"))
