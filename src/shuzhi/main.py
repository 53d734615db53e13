"""The installed ``shuzhi`` command: the product's CLI (:mod:`shuzhi.entrypoints.cli`) with the demo's
``shuzhi demo`` added.

The product never imports the demo (the import contract in ``pyproject.toml``): this module sits
outside the layers and puts the two together, so the demo stays a client of the product like the
benchmarks, and an installation without the demo loses one command and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shuzhi.entrypoints.cli import app, console


@app.command()
def demo(
    port: int = 8000,
    host: str = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="where the demo's SQLite file lives")] = Path("var/demo"),
    seed: int = 1,
    days: Annotated[int, typer.Option(help="days of history to generate")] = 21,
    live: Annotated[bool, typer.Option(help="keep generating new events while serving")] = True,
    fresh: Annotated[bool, typer.Option(help="rebuild the demo data even if it exists")] = False,
) -> None:
    """Build a realistic demo district (27 towns, ~300 villages, 2,000+ grids), fill it with weeks of
    history, and serve it. Deterministic for a given seed."""
    from shuzhi.demo.runner import run_demo

    run_demo(host=host, port=port, data_dir=data_dir, seed=seed, days=days, live=live, fresh=fresh,
             console=console)


if __name__ == "__main__":
    app()
