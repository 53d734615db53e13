"""Sensing commands: ``shuzhi import|export indicators|devices``, ``shuzhi import risk-points``, ``shuzhi ingest FILE``,
``shuzhi ingest-mqtt`` and ``shuzhi purge-readings``. Registered on the main app by :mod:`shuzhi.entrypoints.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[str | None, typer.Option("--database-url", envvar="SHUZHI_DATABASE_URL",
                                               help="default: SQLite in the data directory")]
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


def _table(path: Path) -> list[dict[str, str]]:
    from shuzhi.adapters.json_table import read_any_table
    from shuzhi.adapters.tabular import TabularError
    from shuzhi.entrypoints.cli import err

    try:
        return read_any_table(path.read_bytes(), path.name)
    except TabularError as exc:
        err.print(f"[red]{path}[/red]: {exc}")
        raise typer.Exit(2) from None


def import_indicators(path: FileArg, database_url: DbOption = None) -> None:
    """Import the indicator tree (sector → runway → sub-runway → indicator) from XLSX, CSV or JSON."""
    from shuzhi.entrypoints.cli import _report, _uow
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing.indicators import import_indicators as run

    _report(run(_uow(database_url), _table(path), SYSTEM), "indicators")


def import_devices(path: FileArg, database_url: DbOption = None) -> None:
    """Import devices (code, name, indicator_code, area_code, lon, lat) from XLSX, CSV or JSON."""
    from shuzhi.entrypoints.cli import _report, _uow
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing.indicators import import_devices as run

    _report(run(_uow(database_url), _table(path), SYSTEM), "devices")


def import_risk_points(path: FileArg, database_url: DbOption = None) -> None:
    """Import risk points (风险点: code, name, kind, grade, area, position, responsible unit, series) from
    XLSX, CSV, JSON or GeoJSON."""
    from shuzhi.entrypoints.cli import _report, _uow
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing.risk_points import import_risk_points as run

    _report(run(_uow(database_url), _table(path), SYSTEM), "risk points")


def _export(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    from shuzhi.adapters.json_table import write_json_table
    from shuzhi.adapters.tabular import write_csv, write_xlsx
    from shuzhi.entrypoints.cli import console, err

    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_bytes(write_json_table(rows))
    elif suffix == ".xlsx":
        path.write_bytes(write_xlsx(rows, columns))
    elif suffix == ".csv":
        path.write_bytes(write_csv(rows, columns))
    else:
        err.print(f"[red]{path}[/red]: give a .csv, .xlsx or .json file name")
        raise typer.Exit(2)
    console.print(f"[green]{len(rows)} rows[/green] → {path}")


def export_indicators(path: Path, database_url: DbOption = None) -> None:
    """Export the indicator tree to PATH (.xlsx, .csv or .json), in the import format."""
    from shuzhi.entrypoints.cli import _uow
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing.indicators import INDICATOR_COLUMNS
    from shuzhi.services.sensing.indicators import export_indicators as run

    _export(path, run(_uow(database_url), SYSTEM), INDICATOR_COLUMNS)


def export_devices(path: Path, database_url: DbOption = None) -> None:
    """Export devices to PATH (.xlsx, .csv or .json)."""
    from shuzhi.entrypoints.cli import _uow
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing.indicators import DEVICE_COLUMNS
    from shuzhi.services.sensing.indicators import export_devices as run

    _export(path, run(_uow(database_url), SYSTEM), DEVICE_COLUMNS)


def ingest(path: FileArg, database_url: DbOption = None,
           batch: Annotated[int, typer.Option(help="readings per transaction")] = 20_000) -> None:
    """Ingest readings from a file: JSON (an array of readings), CSV or XLSX (columns indicator,
    device and/or area, at, value). Bad readings are listed and counted; the rest are stored."""
    from datetime import timedelta

    from shuzhi.adapters.tabular import ROW
    from shuzhi.config import get_settings
    from shuzhi.entrypoints.cli import _uow, console, err
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.sensing import ingest as svc

    data = path.read_bytes()
    try:
        if path.suffix.lower() == ".json":
            items = svc.parse_json_batch(data)
            where = [f"item {i}" for i in range(len(items))]
        elif path.suffix.lower() == ".csv":
            items = svc.parse_csv_batch(data)
            where = [f"item {i}" for i in range(len(items))]
        else:
            rows = _table(path)
            items = [{k: v for k, v in r.items() if k in svc.CSV_COLUMNS} for r in rows]
            where = [f"row {r[ROW]}" for r in rows]
    except ServiceError as exc:
        err.print(f"[red]{path}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    settings = get_settings()
    totals = svc.IngestResult()
    for start in range(0, len(items), batch):
        part = svc.ingest(_uow(database_url), SYSTEM, items[start:start + batch],
                          max_future=timedelta(seconds=settings.reading_max_future_s),
                          default_retention_days=settings.reading_retention_days,
                          compress_after_days=settings.reading_compress_after_days)
        totals.received += part.received
        totals.accepted += part.accepted
        totals.duplicate += part.duplicate
        for r in part.rejections:
            totals.reject(start + r.index, r.reason, r.field)
        totals.rejected += part.rejected - len(part.rejections)
    for r in totals.rejections:
        err.print(f"  {where[r.index] if r.index < len(where) else r.index}: {r.field or ''} {r.reason}")
    console.print(f"[green]readings[/green]: {totals.received} received, {totals.accepted} stored, "
                  f"{totals.duplicate} duplicate, {totals.rejected} rejected")
    if totals.rejected:
        raise typer.Exit(1)


def ingest_mqtt(
    database_url: DbOption = None,
    host: Annotated[str | None, typer.Option(help="broker host (SHUZHI_MQTT_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="broker port (SHUZHI_MQTT_PORT)")] = None,
    client_id: Annotated[str | None, typer.Option(help="fixed client id: the broker keeps its session")] = None,
    prefix: Annotated[str | None, typer.Option(help="topic root (SHUZHI_MQTT_PREFIX)")] = None,
    batch_size: Annotated[int, typer.Option(help="readings per transaction at most")] = 5000,
    batch_wait: Annotated[float, typer.Option(help="seconds to gather a batch at most")] = 0.2,
    group: Annotated[str | None, typer.Option(
        help="shared-subscription group: several processes share the stream (SHUZHI_MQTT_GROUP)")] = None,
    processes: Annotated[int | None, typer.Option(
        help="start and keep this many members of the group, client ids {client-id}-1 … -N "
             "(SHUZHI_MQTT_PROCESSES)")] = None,
    session_expiry: Annotated[int, typer.Option(
        help="seconds the broker keeps the session (and queues for it) while the process is away")] = 7 * 86400,
    leave: Annotated[bool, typer.Option(
        help="take a member out of its group for good: store what its session holds, then end the session")] = False,
) -> None:
    """Subscribe to readings on MQTT (QoS 1, persistent session) and store them in batches until
    SIGTERM or Ctrl-C; a message is acknowledged only once its batch is committed. With ``--group``
    (or ``--processes`` above 1) the process is one member of a shared subscription."""
    import logging
    import signal
    import threading
    from datetime import timedelta

    from shuzhi.adapters.mqtt import Subscriber, subscription
    from shuzhi.config import get_settings
    from shuzhi.entrypoints.cli import _uow, console, err
    from shuzhi.entrypoints.serving import tune_gc
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.sensing import ingest as svc
    from shuzhi.services.sensing.warnings import share_series

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = get_settings()
    count = processes if processes is not None else s.mqtt_processes
    group_name = group if group is not None else s.mqtt_group
    if count > 1 and not group_name:
        group_name = "shuzhi-ingest"
    try:
        subscription(prefix or s.mqtt_prefix, group_name)
    except ValueError as exc:
        err.print(f"[red]--group[/red]: {exc}")
        raise typer.Exit(2) from None
    if count < 1:
        err.print("[red]--processes[/red]: at least 1")
        raise typer.Exit(2)
    if leave and (count > 1 or not group_name):
        err.print("[red]--leave[/red]: name the group and the one member's --client-id")
        raise typer.Exit(2)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if count > 1:
        from shuzhi.entrypoints.ingest_group import member_ids, run_group

        args = ["--group", group_name, "--batch-size", str(batch_size), "--batch-wait", str(batch_wait),
                "--session-expiry", str(session_expiry)]
        for option, value in (("--database-url", database_url), ("--host", host), ("--port", port),
                              ("--prefix", prefix)):
            if value is not None:
                args += [option, str(value)]
        base = client_id or s.mqtt_client_id
        console.print(f"[green]ingest-mqtt[/green] group {group_name}: {count} processes "
                      f"{', '.join(member_ids(base, count))}")
        raise typer.Exit(run_group(args, base, count, stop))
    tune_gc()
    if group_name:
        # the broker deals messages round robin, not by series: other members see the same series
        share_series()
    uow = _uow(database_url)
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}

    def handle(items: list[object]) -> None:
        result = svc.ingest(uow, SYSTEM, items, max_future=timedelta(seconds=s.reading_max_future_s),
                            default_retention_days=s.reading_retention_days,
                            compress_after_days=s.reading_compress_after_days)
        for k in totals:
            totals[k] += getattr(result, k)
        for r in result.rejections[:10]:
            logging.getLogger("shuzhi.mqtt").warning("rejected reading: %s (%s)", r.reason, r.field)

    sub = Subscriber(handle, host=host or s.mqtt_host, port=port or s.mqtt_port,
                     client_id=client_id or s.mqtt_client_id, prefix=prefix or s.mqtt_prefix,
                     batch_size=batch_size, batch_wait=batch_wait, username=s.mqtt_username,
                     password=s.mqtt_password, tls=s.mqtt_tls, ca_file=s.mqtt_ca_file, cert_file=s.mqtt_cert_file,
                     key_file=s.mqtt_key_file, group=group_name, session_expiry_s=session_expiry, leave=leave)
    console.print(f"[green]ingest-mqtt[/green] {sub.host}:{sub.port} {sub.topic} as {client_id or s.mqtt_client_id}")
    sub.run(stop)
    console.print(f"stopped: {totals['accepted']} stored, {totals['duplicate']} duplicate, "
                  f"{totals['rejected']} rejected")


def purge_readings(database_url: DbOption = None) -> None:
    """Delete raw readings and hourly rollups older than their retention (on PostgreSQL: drop the expired
    day partitions and make the coming week's)."""
    from datetime import UTC, datetime

    from shuzhi.config import get_settings
    from shuzhi.entrypoints.cli import _uow, console
    from shuzhi.services.sensing.readings import prepare_partitions, purge_expired

    s = get_settings()
    now = datetime.now(UTC)
    done = purge_expired(_uow(database_url), now, default_days=s.reading_retention_days,
                         rollup_days=s.rollup_retention_days, compress_after_days=s.reading_compress_after_days)
    made = prepare_partitions(_uow(database_url), now)
    console.print(f"purged {done.readings} readings ({done.days_dropped} whole days) and {done.rollups} hourly "
                  f"rollups; {len(made.created)} day partitions made; {done.days_compressed} days compressed, "
                  f"{done.days_decompressed} turned back to heap")


def mqtt_acl(path: Path, database_url: DbOption = None,
             subscriber: Annotated[str, typer.Option(help="the ingest account (default: mqtt_username)")] = "",
             prefix: Annotated[str | None, typer.Option(help="topic root (default: mqtt_prefix)")] = None) -> None:
    """Write a Mosquitto ACL file: each device may publish only on its own topics."""
    from shuzhi.config import get_settings
    from shuzhi.entrypoints.cli import _uow, console, err
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.errors import ServiceError
    from shuzhi.services.sensing.mqtt_acl import acl_text

    s = get_settings()
    try:
        text = acl_text(_uow(database_url), SYSTEM, prefix=prefix or s.mqtt_prefix,
                        subscriber=subscriber or s.mqtt_username)
    except ServiceError as exc:
        err.print(f"[red]{exc.field or 'mqtt-acl'}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    path.write_text(text, encoding="utf-8")
    console.print(f"[green]ACL[/green] → {path}")


def register(app: typer.Typer, import_app: typer.Typer, export_app: typer.Typer) -> None:
    import_app.command("indicators")(import_indicators)
    import_app.command("devices")(import_devices)
    import_app.command("risk-points")(import_risk_points)
    export_app.command("indicators")(export_indicators)
    export_app.command("devices")(export_devices)
    app.command("ingest")(ingest)
    app.command("ingest-mqtt")(ingest_mqtt)
    app.command("mqtt-acl")(mqtt_acl)
    app.command("purge-readings")(purge_readings)
