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
    days: Annotated[int | None, typer.Option(help="days of history to generate (district 21, city 3)")] = None,
    live: Annotated[bool, typer.Option(help="keep generating new events while serving")] = True,
    fresh: Annotated[bool, typer.Option(help="rebuild the demo data even if it exists")] = False,
    scale: Annotated[str, typer.Option(help="district (default) or city (41 districts, 1,031 towns, "
                                             "~62,000 grids; best on PostgreSQL)")] = "district",
    database_url: Annotated[str | None, typer.Option(
        "--database-url", help="city scale: the database to build into (default: SQLite in --data-dir)")] = None,
    events_per_day: Annotated[int, typer.Option(help="city scale: events a day (~98 % notify-only)")] = 3000,
    districts: Annotated[int, typer.Option(help="city scale: districts")] = 41,
    towns_per_district: Annotated[int | None, typer.Option(
        help="city scale: towns in each district (default: 1,031 spread over the districts)")] = None,
    villages_per_town: Annotated[int | None, typer.Option(help="city scale: villages in each town "
                                                               "(default 9-12)")] = None,
    grids_per_village: Annotated[int | None, typer.Option(help="city scale: grids in each village "
                                                               "(default 4-7)")] = None,
    serve: Annotated[bool, typer.Option(help="city scale: serve the city once built")] = True,
) -> None:
    """Build a realistic demo district (27 towns, ~300 villages, 2,000+ grids), fill it with weeks of
    history, and serve it. Deterministic for a given seed. ``--scale city`` builds the whole city
    instead (``--days`` defaults to 3 there; docs/operations.md "The city demo")."""
    if scale == "city":
        from dataclasses import replace

        from shuzhi.demo.city import CityShape, run_city_demo

        shape = CityShape(districts=districts, towns_per_district=towns_per_district)
        if villages_per_town:
            shape = replace(shape, villages_per_town=(villages_per_town, villages_per_town))
        if grids_per_village:
            shape = replace(shape, grids_per_village=(grids_per_village,))
        data_dir.mkdir(parents=True, exist_ok=True)
        url = database_url or f"sqlite:///{(data_dir / f'city-seed{seed}.db').resolve()}"
        run_city_demo(url=url, host=host, port=port, data_dir=data_dir, seed=seed,
                      days=days or 3, events_per_day=events_per_day, shape=shape, serve=serve,
                      console=console)
        return
    if scale != "district":
        raise typer.BadParameter("district or city", param_hint="--scale")
    from shuzhi.demo.runner import run_demo

    run_demo(host=host, port=port, data_dir=data_dir, seed=seed, days=days or 21, live=live, fresh=fresh,
             console=console)


if __name__ == "__main__":
    app()
