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
    #: Citus only: raw readings older than this many days are compressed (columnar day partitions,
    #: append-only), and ingest refuses readings that old; 0 = never (docs/sensing.md, "Retention").
    reading_compress_after_days: int = 0
    rollup_retention_days: int = 1830
    max_reading_batch_bytes: int = 64 * 1024 * 1024
    #: MQTT ingest (``shuzhi ingest-mqtt``): broker, fixed client id (persistent session), topic root.
    mqtt_host: str = "localhost"
    mqtt_port: int = 1883
    mqtt_client_id: str = "shuzhi-ingest"
    mqtt_prefix: str = "shuzhi/readings"
    #: Shared-subscription group (``$share/{group}/…``) of several ingest processes; empty = one
    #: process with a plain subscription. ``mqtt_processes`` members, client ids ``{client_id}-{n}``.
    mqtt_group: str = ""
    mqtt_processes: int = 1
    #: The subscriber's own account on the broker (Mosquitto ``password_file``); empty = anonymous.
    mqtt_username: str = ""
    mqtt_password: str = ""
    #: TLS to the broker (``mqtts``, usually port 8883): the CA that signed the broker's certificate
    #: (empty = the system's), and a client certificate and key when the broker asks for one.
    mqtt_tls: bool = False
    mqtt_ca_file: str = ""
    mqtt_cert_file: str = ""
    mqtt_key_file: str = ""

    #: Largest request body that is not a file upload (JSON); uploads are capped by the limits above.
    max_json_bytes: int = 1024 * 1024
    #: Webhook receivers may not be on loopback, link-local, private, shared or metadata addresses
    #: (a subscription must never reach into the centre's own network) unless the operator lists
    #: the network here, e.g. ``SHUZHI_WEBHOOK_ALLOWED_NETWORKS='["10.20.0.0/16"]'`` for an internal
    #: receiver (docs/operations.md, "Threat model — masking and audit").
    webhook_allowed_networks: list[str] = []

    # --- security (docs/operations.md, "Accounts and keys") ---
    #: The installation's role → permission table (TOML or JSON), over the default in
    #: ``domain/permissions.py``; checked at start-up (docs/operations.md, "Roles and permissions").
    role_permissions_file: Path | None = None
    #: The demo: initial passwords need not be changed and cookies may go over plain http.
    demo_mode: bool = False
    #: ``auto``: Secure cookies unless the request is plain http to localhost (or in demo mode).
    cookie_secure: str = "auto"
    #: A browser session ends this long after sign-in, or after this long without a request.
    session_hours: float = 12.0
    session_idle_minutes: float = 120.0
    #: Bearer tokens live at most this long (the client asks for less).
    token_max_days: int = 365
    #: Failed sign-ins in a row before an account is locked, and for how long.
    login_max_failures: int = 5
    login_lockout_minutes: float = 15.0
    #: Sign-in attempts per client address (token bucket: per minute, burst).
    login_rate_per_minute: float = 20.0
    login_burst: int = 10
    #: Intake per credential (person, token or API key): events per second, burst.
    intake_rate_per_s: float = 50.0
    intake_burst: int = 200
    password_min_length: int = 10
    #: Open311 GeoReport v2: the jurisdiction this server answers for, the source its reports get,
    #: and what the discovery document tells client developers.
    open311_jurisdiction: str = "shuzhi"
    open311_source: str = "online_app"
    open311_contact: str = "数字化城市运行和治理中心 值班室"
    open311_key_service: str = "向中心系统管理员申请 API 密钥（POST /api/api-keys）"
    #: Readiness also checks the MQTT broker when one is configured (``host:port``).
    mqtt_url: str | None = None
    #: One JSON line per request on the ``shuzhi.access`` logger.
    access_log: bool = True
    #: PostgreSQL connections each API process keeps open: as many as requests it runs at once (the
    #: threadpool's 40 threads). Fewer, and under load connections beyond them are closed on return
    #: and opened again moments later — a new PostgreSQL backend each time, which showed as a
    #: connection for one intake in seven in the intake benchmark.
    api_db_pool_size: int = 40
    #: FastAPI's native OpenTelemetry (spans, metrics and logs through the globally configured
    #: providers). Off unless asked for: when on, every request first asks whether any provider is
    #: configured, a measurable share of an intake's CPU; the Prometheus metrics are always there.
    opentelemetry: bool = False

    #: Roles that may urge (一键督办, ``event.urge``): a centre function — duty officers and dispatchers as
    #: well as leaders and administrators by default. E.g. ``SHUZHI_URGE_ROLES='["leader"]'`` keeps it
    #: to leaders; an unknown role name stops the process at start-up.
    urge_roles: list[str] = ["leader", "administrator", "duty_officer", "dispatcher"]

    # --- notices (docs/notices.md): the SMS gateway (Kannel's sendsms), callbacks, short links ---
    #: Kannel smsbox's sendsms URL; unset = no SMS (SMS notices are reported failed, other channels go).
    sms_sendsms_url: str | None = None
    sms_username: str = "shuzhi"
    sms_password: str = ""
    #: The sender id (服务号码/端口号) the carrier assigned.
    sms_sender: str = ""
    #: Where Kannel reaches this API for delivery reports (http://host:port of `shuzhi serve`).
    sms_callback_base: str = "http://127.0.0.1:8000"
    #: Key of the HMAC in each DLR callback URL, and the key Kannel's MO get-url carries (?key=).
    sms_callback_secret: str = ""
    sms_mo_key: str = ""
    #: The address people open short links at (https://shuzhi.example.gov.cn).
    public_base_url: str = "http://127.0.0.1:8000"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'shuzhi.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
