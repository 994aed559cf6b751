"""What every decoder takes and returns.

A decoder turns one MQTT payload into :class:`Decoded`: groups of readings, each
group naming the terminal identifier the payload itself carries (a JT/T 808
phone number, an MMSI, a DevEUI, an ISO 15143-3 serial, or for the JSON format
the ``device_id`` of the topic). The identify stage of the pipeline resolves the
identifier to a registered terminal; readings carry the identifier as their
``device_id`` until then. Decoders never touch the database or the clock:
everything time-dependent comes in :class:`DecodeContext`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from telemetry.model import Reading

#: Identifier kinds, named after the ``terminals`` columns that hold them.
ID_DEVICE: Final = "device_id"
ID_JT808: Final = "jt808_phone"
ID_MMSI: Final = "mmsi"
ID_DEV_EUI: Final = "dev_eui"
ID_AEMP: Final = "aemp_serial"

#: A device profile lookup for LoRaWAN: terminal identifier -> field mapping (or None).
ProfileLookup = Callable[[str], "Mapping[str, Any] | None"]


@dataclass(slots=True)
class DecodeContext:
    """Everything a decoder may depend on besides the payload bytes.

    Built once per message on the hot path, so not frozen (a frozen dataclass
    pays ``object.__setattr__`` per field); decoders treat it as read-only.
    """

    topic: str
    topic_device: str
    received_at: datetime
    late_after: timedelta
    message_id: str
    profile_for: ProfileLookup | None = None


# Group and Decoded are built once per message and never changed; they are not
# declared frozen for the reason given on telemetry.model.Reading (cost per message).
@dataclass(slots=True)
class Group:
    """Readings of one terminal, as identified by the payload (not yet resolved)."""

    kind: str
    identifier: str
    readings: tuple[Reading, ...]


@dataclass(slots=True)
class Decoded:
    """The result of decoding one message.

    ``topic_bound`` says whether the identified terminal must be the one named
    in the topic (true for every format except ISO 15143-3 fleet snapshots and
    ChirpStack uplinks, whose topics do not name an assetwatch device).
    ``ranges_checked`` says the decoder already enforced every range of
    :func:`telemetry.model.check_reading` except the event-time limits and the
    lat/lon pairing, which depend on the clock and on two fields (the validate
    stage then checks only those).
    """

    source: str
    groups: tuple[Group, ...]
    topic_bound: bool = True
    ranges_checked: bool = field(default=False, compare=False)  # how, not what

    @property
    def reading_count(self) -> int:
        return sum(len(g.readings) for g in self.groups)
