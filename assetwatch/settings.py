"""One settings object per process, read from ``ASSETWATCH_*`` variables.

Build it once in ``main()`` (or a FastAPI lifespan) with :func:`load_settings`
and pass it down; components read what they need in ``__init__``. There is no
import-time global.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of every assetwatch process.

    Each field maps to the environment variable ``ASSETWATCH_<FIELD>`` (upper
    case); for example ``database_url`` is ``ASSETWATCH_DATABASE_URL``.
    """

    model_config = SettingsConfigDict(
        env_prefix="ASSETWATCH_", extra="ignore", frozen=True, validate_default=True
    )

    # --- connections -------------------------------------------------------
    database_url: str | None = Field(
        default=None, description="libpq URL of the database; unset means embedded (demo only)"
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:pass@host:port or mqtts:// for TLS; unset means embedded (demo)",
    )
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle for mqtts://")
    mqtt_cert_file: Path | None = Field(default=None, description="client certificate (mqtts)")
    mqtt_key_file: Path | None = Field(default=None, description="client key (mqtts)")
    data_dir: Path = Field(
        default=Path(".assetwatch"),
        description="local state of embedded servers and the demo (kept between runs)",
    )
    db_pool_min: int = Field(default=1, ge=1, description="connections a pool keeps open")
    db_pool_max: int = Field(default=8, ge=1, description="most connections a pool opens")

    # --- telemetry store -----------------------------------------------------
    max_future_skew_s: float = Field(
        default=300.0, gt=0, description="event time may lead the server clock by this much"
    )
    late_after_s: float = Field(
        default=3600.0,
        gt=0,
        description="a reading received this long after its event time is late",
    )
    chunk_interval: str = Field(default="1 day", description="TimescaleDB chunk interval")
    compress_after: str = Field(default="7 days", description="TimescaleDB compression policy")
    retention: str | None = Field(
        default=None, description="drop raw readings older than this (off by default)"
    )
    rollup_refresh_s: float = Field(
        default=60.0,
        gt=0,
        description="plain PostgreSQL: the writer folds closed hours into the stored rollups"
        " at most this often (queries see unfolded hours live either way)",
    )

    # --- ingest --------------------------------------------------------------
    ingest_batch_size: int = Field(
        default=20000,
        ge=1,
        description="flush after this many readings (a batch fills up only under a backlog;"
        " the store's per-batch work is spread over this many rows)",
    )
    ingest_batch_max_age_ms: int = Field(
        default=200,
        ge=1,
        description="flush a partial batch after this long at most (sooner if the writer idles)",
    )
    ingest_writers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="writer threads, each with its own database connection; devices are"
        " split between them by a hash of the device id",
    )
    ingest_client_id: str = Field(
        default="assetwatch-ingest",
        description="MQTT client id (and persistent session) of the ingest",
    )
    ingest_shared_group: str | None = Field(
        default=None, description="MQTT shared-subscription group for scale-out ($share/GROUP/...)"
    )
    ingest_max_inflight_messages: int = Field(
        default=40000,
        ge=1,
        le=65535,
        description="unacknowledged messages held before reading pauses (MQTT Receive Maximum;"
        " a batch holds at most half of them)",
    )
    ingest_max_payload_bytes: int = Field(
        default=1_048_576, ge=1, description="larger MQTT payloads are dead-lettered unread"
    )
    ingest_max_hdop: float = Field(
        default=20.0, gt=0, description="positions with a worse HDOP are dropped from the reading"
    )
    ingest_dedupe_window: int = Field(
        default=200_000, ge=0, description="recent reading keys kept in memory for deduplication"
    )
    ingest_gc_gen0_threshold: int = Field(
        default=50_000,
        ge=0,
        description="ingest process: allocations between young-generation garbage collections"
        " (Python's default is 700; 0 keeps it)",
    )
    ingest_registry_refresh_s: float = Field(
        default=30.0, gt=0, description="how often ingest reloads the terminal registry"
    )
    ingest_session_expiry_s: int = Field(
        default=7 * 86400, ge=0, description="MQTT session expiry: how long the broker queues"
    )
    ingest_commit_hook: str | None = Field(
        default=None,
        description="module:attr of a factory (settings) -> commit hook called in each write tx",
    )
    ingest_state_cache_devices: int = Field(
        default=20_000,
        ge=0,
        description="streaming detector states an ingest process keeps in memory (devices)",
    )
    metrics_port: int | None = Field(default=None, description="Prometheus metrics port")

    # --- alerts --------------------------------------------------------------
    alert_clear_after_s: float = Field(
        default=1800.0, ge=0, description="an alert clears once its condition has ended this long"
    )
    alert_cooldown_s: float = Field(
        default=3600.0,
        ge=0,
        description="a cleared or resolved alert is raised again only after this long",
    )
    detect_interval_s: float = Field(
        default=300.0, gt=0, description="how often the 'detect' role runs a windowed pass"
    )
    detect_clock: str = Field(
        default="wall",
        pattern="^(wall|event)$",
        description="'wall': windowed passes run at the server clock; 'event': at the newest "
        "event time stored (capped by the clock), for replays and sped-up simulations",
    )
    alerts_mqtt_client_id: str = Field(
        default="assetwatch-alerts", description="MQTT client id of the alert publisher"
    )

    # --- gateway -------------------------------------------------------------
    http_host: str = Field(default="127.0.0.1", description="address the gateway listens on")
    http_port: int = Field(default=8080, ge=0, le=65535, description="gateway HTTP port")
    feed_poll_s: float = Field(
        default=0.2, gt=0, le=10, description="how often the live alert feed looks for new events"
    )
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, description="a webhook receiver must answer within this many seconds"
    )
    webhook_max_attempts: int = Field(
        default=6, ge=1, description="deliveries of one event to one webhook before giving up"
    )
    webhook_backoff_s: float = Field(
        default=1.0, gt=0, description="first retry delay; it doubles after each failure"
    )
    dashboard_secure_cookie: bool = Field(
        default=False, description="mark the dashboard login cookie Secure (set behind HTTPS)"
    )

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides, e.g. from CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
