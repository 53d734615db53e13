"""``shuzhi model train|evaluate|list|activate|rollback`` and ``shuzhi hotline report``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

model_app = typer.Typer(help="The hotline text model (classes, units, duplicates): train, evaluate, versions.",
                        no_args_is_help=True)
hotline_app = typer.Typer(help="Hotline analysis (分析研判): hot topics and the weekly report.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--database-url", envvar="SHUZHI_DATABASE_URL",
                                               help="default: SQLite in the data directory")]


def _uow(database_url: str | None):  # type: ignore[no-untyped-def]
    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.config import get_settings
    from shuzhi.services.unit_of_work import UnitOfWork

    url = database_url or get_settings().resolved_database_url()
    return UnitOfWork(make_session_factory(make_engine(url)))


def _fail(exc) -> None:  # type: ignore[no-untyped-def]
    err.print(f"[red]{exc.field or 'error'}[/red]: {exc.message}")
    raise typer.Exit(2) from None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


@model_app.command("train")
def train(
    database_url: DbOption = None,
    cutoff: Annotated[str | None, typer.Option(
        help="learn only from events received up to this day (YYYY-MM-DD)")] = None,
    starter: Annotated[int, typer.Option(
        help="add N starter texts per class (a new installation with little history)")] = 0,
    activate: Annotated[bool, typer.Option(help="make the new version active")] = True,
) -> None:
    """Train a new version from the history (final classes, handling units, corrections)."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.hotline import models

    until = None
    if cutoff:
        try:
            until = datetime.combine(date.fromisoformat(cutoff), time.max, tzinfo=UTC)
        except ValueError:
            err.print(f"[red]--cutoff[/red]: {cutoff!r} is not a date (use YYYY-MM-DD)")
            raise typer.Exit(2) from None
    extra = []
    if starter:
        from shuzhi.services.hotline.phrase_book import training_texts

        extra = [models.Example(text, code, None, None, False)
                 for text, code in training_texts(starter)]
    try:
        v = models.train(_uow(database_url), SYSTEM, cutoff=until, activate=activate, extra=extra,
                         note=f"starter {starter}/class" if starter else None)
    except ServiceError as exc:
        _fail(exc)
        return
    m = v.metrics
    console.print(f"[green]model version {v.version}[/green] trained on {v.examples} examples "
                  f"({v.corrections} corrections, {v.classes} classes, cut-off {v.data_cutoff}); held-out "
                  f"top-1 {_pct(m.get('top1'))}, top-3 {_pct(m.get('top3'))}, unit {_pct(m.get('unit_top1'))} "
                  f"on {m.get('n', 0)}; {'active' if v.active else 'not active'}")


@model_app.command("list")
def list_versions(database_url: DbOption = None) -> None:
    """Every stored version, newest first, with its cut-off and measured accuracy."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.hotline import models

    table = Table(title="hotline model versions")
    for col in ("version", "active", "trained", "cut-off", "examples", "corrections", "top-1", "top-3", "unit",
                "size", "note"):
        table.add_column(col)
    for v in models.list_versions(_uow(database_url), SYSTEM):
        table.add_row(str(v.version), "●" if v.active else "", v.created_at.strftime("%Y-%m-%d %H:%M"),
                      v.data_cutoff.strftime("%Y-%m-%d") if v.data_cutoff else "", str(v.examples),
                      str(v.corrections), _pct(v.metrics.get("top1")), _pct(v.metrics.get("top3")),
                      _pct(v.metrics.get("unit_top1")), f"{v.size / 1e6:.1f} MB", v.note or "")
    console.print(table)


@model_app.command("activate")
def activate(version: Annotated[int, typer.Argument(help="the version to use from now on")],
             database_url: DbOption = None) -> None:
    """Make a version active (the desk and automation use it at once)."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.hotline import models

    try:
        v = models.activate(_uow(database_url), version, SYSTEM)
    except ServiceError as exc:
        _fail(exc)
        return
    console.print(f"[green]model version {v.version} is active[/green]")


@model_app.command("rollback")
def rollback(database_url: DbOption = None) -> None:
    """Go back to the version before the active one."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.hotline import models

    try:
        v = models.rollback(_uow(database_url), SYSTEM)
    except ServiceError as exc:
        _fail(exc)
        return
    console.print(f"[green]rolled back: model version {v.version} is active[/green]")


@model_app.command("evaluate")
def evaluate(
    file: Annotated[Path | None, typer.Option("--file", exists=True, dir_okay=False,
                                              help='JSON lines {"text": …, "class_code": …}')] = None,
    pairs: Annotated[Path | None, typer.Option("--pairs", exists=True, dir_okay=False,
                                               help='JSON lines {"a": …, "b": …, "duplicate": true|false}')] = None,
    version: Annotated[int | None, typer.Option(help="default: the active version")] = None,
    database_url: DbOption = None,
) -> None:
    """Measure a version on your own labelled texts (accuracy) and/or pairs (duplicate P/R/F1)."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.hotline import evaluation, models

    if file is None and pairs is None:
        err.print("[red]give --file and/or --pairs[/red]")
        raise typer.Exit(2)
    try:
        under_test = models.model_for_evaluation(_uow(database_url), SYSTEM, version)
    except ServiceError as exc:
        _fail(exc)
        return
    model, known, units_of = under_test.model, under_test.known_classes, under_test.units_of
    console.print(f"model version {under_test.version}")
    try:
        if file is not None:
            texts = evaluation.read_texts(file.read_bytes(), known)
            report = evaluation.evaluate_texts(model, texts, units_of or None)
            a = report.accuracy
            console.print(f"[bold]{file.name}[/bold]: {a.n} texts — top-1 {_pct(a.top1)}, top-3 {_pct(a.top3)}, "
                          f"unit {_pct(report.unit_top1)}")
            if report.confusions:
                table = Table(title="most frequent confusions (gold → suggested)")
                for col in ("gold", "suggested", "n"):
                    table.add_column(col)
                for g, p, n in report.confusions[:10]:
                    table.add_row(g, p, str(n))
                console.print(table)
        if pairs is not None:
            rows = evaluation.read_pairs(pairs.read_bytes())
            scores, _ = evaluation.evaluate_pairs(model, rows)
            console.print(f"[bold]{pairs.name}[/bold]: {scores.n} pairs — precision {scores.precision:.3f}, "
                          f"recall {scores.recall:.3f}, F1 {scores.f1:.3f} (tp {scores.true_positive}, "
                          f"fp {scores.false_positive}, fn {scores.false_negative})")
    except ServiceError as exc:
        _fail(exc)


@hotline_app.command("weekly-report")
def weekly_report(
    day: Annotated[str | None, typer.Option(
        "--date", help="a day of the week (YYYY-MM-DD); default: last week")] = None,
    area: Annotated[str | None, typer.Option("--area", help="area code; default: the whole installation")] = None,
    out: Annotated[Path, typer.Option("--out", help="directory to write the .docx and .html into")] = Path("."),
    database_url: DbOption = None,
) -> None:
    """The weekly analysis report (分析研判周报) for the leaders' meeting, as Word and HTML."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.hotline import analysis

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        err.print(f"[red]--date[/red]: {day!r} is not a date (use YYYY-MM-DD)")
        raise typer.Exit(2) from None
    uow = _uow(database_url)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("docx", "html"):
        try:
            data, _, name = analysis.weekly_report(uow, SYSTEM, fmt, day=when, area_code=area)
        except ServiceError as exc:
            _fail(exc)
            return
        (out / name).write_bytes(data)
        console.print(f"[green]weekly analysis report[/green] → {out / name}")
