"""``shuzhi audit …`` and ``shuzhi user …``: check the audit chain, give a person a password."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from shuzhi.config import get_settings
from shuzhi.services.unit_of_work import UnitOfWork

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts: passwords for sign-in.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--database-url", envvar="SHUZHI_DATABASE_URL",
                                               help="default: SQLite in the data directory")]


def _uow(database_url: str | None) -> UnitOfWork:
    from shuzhi.adapters.db.engine import make_engine, make_session_factory

    return UnitOfWork(make_session_factory(make_engine(database_url or get_settings().resolved_database_url())))


@audit_app.command("verify")
def verify(database_url: DbOption = None) -> None:
    """Recompute the hash chain; exit 1 naming the first entry that does not fit."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.security import audit

    report = audit.verify(_uow(database_url), SYSTEM)
    if report.ok:
        console.print(f"[green]audit chain intact[/green]: {report.entries} entries; head {report.head}")
        console.print("keep the head hash somewhere else: it also proves that no newest entry was removed")
        return
    err.print(f"[red]audit chain broken[/red] at entry #{report.broken_id} ({report.broken_entry or ''}): "
              f"{report.problem}; "
              f"the {report.entries} entries before it are intact")
    raise typer.Exit(1)


@user_app.command("set-password")
def set_password(
    code: Annotated[str, typer.Argument(help="staff code")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    must_change: Annotated[bool, typer.Option(help="the person must change it at first sign-in")] = True,
    database_url: DbOption = None,
) -> None:
    """Give a person a password (the first administrator is created this way); unlocks the account."""
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.security.passwords import admin_set_password

    try:
        admin_set_password(_uow(database_url), get_settings(), SYSTEM, code, password,
                           must_change=must_change, via="cli")
    except ServiceError as exc:
        where = f"{exc.field}: " if getattr(exc, "field", None) else ""
        err.print(f"[red]{code}[/red]: {where}{exc.message}")
        raise typer.Exit(2) from None
    console.print(f"[green]{code}[/green] can sign in" + (" (and must change the password first)" if must_change
                                                         else ""))
