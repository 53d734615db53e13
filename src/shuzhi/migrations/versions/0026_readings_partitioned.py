"""readings partitioned by day on PostgreSQL (a default partition, one per day already stored and for the
week ahead), so retention drops a day at a time instead of deleting rows; SQLite unchanged

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 08:30:00.000000

"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

_COLUMNS = """indicator_id integer NOT NULL, series_key varchar(60) NOT NULL, at timestamptz NOT NULL,
    value double precision NOT NULL, area_id integer NOT NULL"""


def _day_partition(day: datetime) -> None:
    nxt = day + timedelta(days=1)
    op.execute(f"CREATE TABLE readings_p{day:%Y%m%d} PARTITION OF readings "
               f"FOR VALUES FROM ('{day.isoformat()}') TO ('{nxt.isoformat()}')")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE readings RENAME TO readings_unpartitioned")
    op.execute("ALTER TABLE readings_unpartitioned RENAME CONSTRAINT pk_readings TO pk_readings_unpartitioned")
    op.execute(f"CREATE TABLE readings ({_COLUMNS}, "
               "CONSTRAINT pk_readings PRIMARY KEY (indicator_id, series_key, at)) PARTITION BY RANGE (at)")
    op.execute("CREATE TABLE readings_default PARTITION OF readings DEFAULT")
    # Every day already stored gets its partition (created before any row moves: an empty default
    # partition is never in the way), and the week ahead too, so ingest never waits for the first job.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    stored = {row[0] for row in bind.exec_driver_sql(
        "SELECT DISTINCT date_trunc('day', at AT TIME ZONE 'UTC') FROM readings_unpartitioned")}
    days = {d.replace(tzinfo=UTC) for d in stored} | {today + timedelta(days=n) for n in range(8)}
    for day in sorted(days):
        _day_partition(day)
    op.execute("INSERT INTO readings SELECT indicator_id, series_key, at, value, area_id "
               "FROM readings_unpartitioned")
    op.execute("DROP TABLE readings_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute(f"CREATE TABLE readings_unpartitioned ({_COLUMNS}, "
               "CONSTRAINT pk_readings_unpartitioned PRIMARY KEY (indicator_id, series_key, at))")
    op.execute("INSERT INTO readings_unpartitioned SELECT indicator_id, series_key, at, value, area_id "
               "FROM readings")
    op.execute("DROP TABLE readings")  # its partitions go with it
    op.execute("ALTER TABLE readings_unpartitioned RENAME TO readings")
    op.execute("ALTER TABLE readings RENAME CONSTRAINT pk_readings_unpartitioned TO pk_readings")
