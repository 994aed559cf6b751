"""Prometheus metrics of one ingest process, on their own registry.

Counters are updated once per batch (not per message) to keep the hot path
free of lock round trips. Exposed on ``settings.metrics_port`` when set.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class IngestMetrics:
    """The ingest's metric families (one registry per instance, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "assetwatch_ingest_messages_total", "MQTT messages taken", ["format"], registry=r
        )
        self.readings_written = Counter(
            "assetwatch_ingest_readings_written_total", "readings committed", registry=r
        )
        self.duplicates = Counter(
            "assetwatch_ingest_duplicates_total", "readings dropped as duplicates", registry=r
        )
        self.rejects = Counter(
            "assetwatch_ingest_rejects_total",
            "messages dead-lettered, by stage and reason code",
            ["stage", "reason"],
            registry=r,
        )
        self.quarantined = Counter(
            "assetwatch_ingest_quarantined_total", "messages from unknown terminals", registry=r
        )
        self.positions_dropped = Counter(
            "assetwatch_ingest_positions_dropped_total",
            "positions removed for poor quality (HDOP, satellites, 0/0)",
            registry=r,
        )
        self.batch_size = Histogram(
            "assetwatch_ingest_batch_readings",
            "readings per committed batch",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "assetwatch_ingest_batch_commit_seconds",
            "time to write and commit one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.event_lag = Gauge(
            "assetwatch_ingest_event_lag_seconds",
            "commit time minus the newest event time in the last batch",
            registry=r,
        )
        self.receive_lag = Histogram(
            "assetwatch_ingest_receive_to_commit_seconds",
            "time from taking a message from the broker to its commit (oldest in batch)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.db_up = Gauge(
            "assetwatch_ingest_database_up", "1 when the last write worked", registry=r
        )
        self.broker_up = Gauge("assetwatch_ingest_broker_connected", "1 when connected", registry=r)
        self.queue_depth = Gauge(
            "assetwatch_ingest_queue_depth", "messages taken but not yet processed", registry=r
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``port`` (a daemon thread of prometheus_client)."""
        start_http_server(port, addr=addr, registry=self.registry)
