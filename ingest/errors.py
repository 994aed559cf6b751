"""Exception root of the ingest package; third-party errors are wrapped where they enter."""

from __future__ import annotations


class IngestError(Exception):
    """Root of every error raised by :mod:`ingest`."""


class RejectError(IngestError):
    """A message (or one reading in it) cannot be stored; it goes to ``dead_letters``.

    ``code`` is a short, stable label for metrics (``json_syntax``, ``range:lat``);
    the message text is the human-readable reason kept with the dead letter.
    """

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(reason)


class DecodeError(RejectError):
    """The payload is not a well-formed message of the topic's format."""


class ValidationError(RejectError):
    """The message decoded but a reading in it fails the range and time checks."""


class BrokerUnavailable(IngestError):
    """The MQTT broker cannot be reached (the service keeps retrying)."""
