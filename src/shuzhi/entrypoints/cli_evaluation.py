"""``shuzhi report daily|weekly|monthly|bulletin|quarterly|half-year|annual`` and ``shuzhi evaluation refresh``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

report_app = typer.Typer(
    help="Generate the centre's reports (日报、周调度、月盘点、每月通报、季度通报、半年小结、年度考评).",
    no_args_is_help=True)
evaluation_app = typer.Typer(help="Evaluation roll-ups.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--database-url", envvar="SHUZHI_DATABASE_URL",
                                               help="default: SQLite in the data directory")]
DateOption = Annotated[str | None, typer.Option("--date", help="a day inside the period (YYYY-MM-DD); "
                                                                 "default: the last complete period")]
AreaOption = Annotated[str | None, typer.Option("--area", help="area code; default: the top area")]
OutOption = Annotated[Path, typer.Option("--out", help="directory to write the .html/.xlsx/.docx into")]


def _uow(database_url: str | None):  # type: ignore[no-untyped-def]
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.config import get_settings
    from shuzhi.services.unit_of_work import UnitOfWork

    url = database_url or get_settings().resolved_database_url()
    return UnitOfWork(make_session_factory(make_engine(url)))


def _run(kind: str, when: str | None, area: str | None, out: Path, database_url: str | None) -> None:
    from shuzhi.services import reports
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError

    try:
        day = date.fromisoformat(when) if when else None
    except ValueError:
        err.print(f"[red]--date[/red]: {when!r} is not a date (use YYYY-MM-DD)")
        raise typer.Exit(2) from None
    uow = _uow(database_url)
    try:
        meta = reports.generate_report(uow, SYSTEM, kind, day=day, area=area)
    except ServiceError as exc:
        err.print(f"[red]{exc.field or kind}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("html", "xlsx", "docx"):
        data, _, name = reports.report_file(uow, SYSTEM, meta["id"], fmt)
        (out / name).write_bytes(data)
        console.print(f"[green]{meta['title']}[/green] {meta['period']} → {out / name}")


@report_app.command("daily")
def daily(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
          database_url: DbOption = None) -> None:
    """Daily report (日报) of one day (default yesterday)."""
    _run("daily", date, area, out, database_url)


@report_app.command("weekly")
def weekly(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
           database_url: DbOption = None) -> None:
    """Weekly dispatch report (周调度) of one ISO week (default last week)."""
    _run("weekly", date, area, out, database_url)


@report_app.command("monthly")
def monthly(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
            database_url: DbOption = None) -> None:
    """Monthly review (月盘点) of one month (default last month)."""
    _run("monthly", date, area, out, database_url)


@report_app.command("bulletin")
def bulletin(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
             database_url: DbOption = None) -> None:
    """Monthly bulletin (每月通报) of one month, compared with the month before (default last month)."""
    _run("bulletin", date, area, out, database_url)


@report_app.command("quarterly")
def quarterly(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
              database_url: DbOption = None) -> None:
    """Quarterly bulletin (季度通报), compared with the quarter before (default last quarter)."""
    _run("quarterly", date, area, out, database_url)


@report_app.command("half-year")
def half_year(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
              database_url: DbOption = None) -> None:
    """Half-year summary (半年小结), compared with the half year before (default the last one)."""
    _run("half_year", date, area, out, database_url)


@report_app.command("annual")
def annual(date: DateOption = None, area: AreaOption = None, out: OutOption = Path("."),
           database_url: DbOption = None) -> None:
    """Annual assessment (年度考评), compared with the year before (default last year)."""
    _run("annual", date, area, out, database_url)


@evaluation_app.command("refresh")
def refresh(full: Annotated[bool, typer.Option(help="rebuild from scratch")] = False,
            database_url: DbOption = None) -> None:
    """Bring the evaluation roll-ups up to date."""
    from shuzhi.services.rollups import refresh_rollups

    r = refresh_rollups(_uow(database_url), full=full)
    console.print(f"[green]roll-ups refreshed[/green] ({'full' if r.full else 'incremental'}): {r.events} events")
