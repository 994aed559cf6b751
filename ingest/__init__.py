"""MQTT ingest: decode, validate, identify, dedupe, batch, write, commit hook, acknowledge.

In-process use (the demo runs it in a thread)::

    stop = threading.Event()
    run_ingest(settings, commit_hook=hook, stop_event=stop, ready_event=ready)
"""

from __future__ import annotations

from ingest.errors import DecodeError, IngestError, RejectError, ValidationError
from ingest.pipeline import Message, Pipeline
from ingest.quarantine import ReleaseReport, release
from ingest.service import IngestService, IngestStats, load_commit_hook, run_ingest
from ingest.sink import CommitHook

__all__ = [
    "CommitHook",
    "DecodeError",
    "IngestError",
    "IngestService",
    "IngestStats",
    "Message",
    "Pipeline",
    "RejectError",
    "ReleaseReport",
    "ValidationError",
    "load_commit_hook",
    "release",
    "run_ingest",
]
