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
    db_pool_min: int = Field(default=1, ge=1)
    db_pool_max: int = Field(default=8, ge=1)

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

    # --- ingest --------------------------------------------------------------
    ingest_batch_size: int = Field(default=5000, ge=1, description="flush after this many readings")
    ingest_batch_max_age_ms: int = Field(
        default=200, ge=1, description="flush a partial batch after this long"
    )
    ingest_client_id: str = Field(default="assetwatch-ingest")
    ingest_shared_group: str | None = Field(
        default=None, description="MQTT shared-subscription group for scale-out ($share/GROUP/...)"
    )
    ingest_max_inflight_messages: int = Field(
        default=20000, ge=1, description="unacknowledged messages held before reading pauses"
    )
    metrics_port: int | None = Field(default=None, description="Prometheus metrics port")

    # --- gateway -------------------------------------------------------------
    http_host: str = Field(default="127.0.0.1")
    http_port: int = Field(default=8080, ge=0, le=65535)

    log_level: str = Field(default="INFO")


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides, e.g. from CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
