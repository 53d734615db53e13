"""Settings read from the environment (prefix ``SHUZHI_``).

SQLite in the data directory is the default so that ``make demo`` needs nothing installed;
production sets ``SHUZHI_DATABASE_URL`` to PostgreSQL.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHUZHI_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    timezone: str = "Asia/Shanghai"
    #: Largest attachment accepted on intake; photos from phones are 2–6 MB.
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: Largest file accepted by the import endpoints.
    max_import_bytes: int = 50 * 1024 * 1024
    #: Page size cap for list endpoints.
    max_page_size: int = 500
    #: Readings: how far ahead of the server clock a reading's time may be (device clock skew), raw
    #: retention when an indicator sets none, hourly-rollup retention, largest HTTP batch body.
    reading_max_future_s: int = 300
    reading_retention_days: int = 400
    rollup_retention_days: int = 1830
    max_reading_batch_bytes: int = 64 * 1024 * 1024
    #: MQTT ingest (``shuzhi ingest-mqtt``): broker, fixed client id (persistent session), topic root.
    mqtt_host: str = "localhost"
    mqtt_port: int = 1883
    mqtt_client_id: str = "shuzhi-ingest"
    mqtt_prefix: str = "shuzhi/readings"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'shuzhi.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
