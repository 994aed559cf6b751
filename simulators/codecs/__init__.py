"""Encoders from a simulated :class:`~simulators.devices.Fix` to wire payloads.

One module per wire format: the JSON reading of the interface contract, JT/T
808 frames, NMEA ``!AIVDM`` via pyais, ChirpStack v4 uplink events and ISO
15143-3 (AEMP 2.0) snapshots. They are encoders only; the ingest package
decodes independently, written from the same standards.
"""

from __future__ import annotations

from simulators.codecs.aemp import aemp_json, aemp_xml
from simulators.codecs.ais import ais_lines
from simulators.codecs.chirpstack import chirpstack_uplink
from simulators.codecs.jsonreading import json_batch, json_reading, reading_dict
from simulators.codecs.jt808 import (
    FrameOptions,
    encode_batch,
    encode_frame,
    encode_heartbeat,
    encode_location,
    location_body,
)

__all__ = [
    "FrameOptions",
    "aemp_json",
    "aemp_xml",
    "ais_lines",
    "chirpstack_uplink",
    "encode_batch",
    "encode_frame",
    "encode_heartbeat",
    "encode_location",
    "json_batch",
    "json_reading",
    "location_body",
    "reading_dict",
]
