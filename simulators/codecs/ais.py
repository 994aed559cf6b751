"""NMEA ``!AIVDM`` position reports encoded with pyais, each behind a tag block.

Types 1 (class A: cargo ships) and 18 (class B: fishing boats). An AIS
sentence carries only the UTC second of its fix, so every line gets an NMEA
4.10 tag block ``\\s:<station>,c:<unix seconds>*hh\\`` with the event time;
satellite store-and-forward batches are several such lines in one payload.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyais import encode_dict
from pyais.messages import TagBlock

from simulators.fixes import Fix

_KNOT_KMH = 1.852


def ais_line(fix: Fix, mmsi: int, *, class_b: bool, anchored: bool) -> bytes:
    """One tagged sentence for one fix (position reports always fit one sentence)."""
    speed = (fix.speed_kmh or 0.0) / _KNOT_KMH
    course = fix.heading_deg or 0.0
    data: dict[str, str | int | float | bytes | bool] = {
        "type": 18 if class_b else 1,
        "mmsi": mmsi,
        "lat": fix.lat if fix.lat is not None else 91.0,
        "lon": fix.lon if fix.lon is not None else 181.0,
        "speed": round(min(speed, 102.2), 1),
        "course": round(course % 360, 1),
        "heading": round(course) % 360,
        "second": int(fix.t) % 60,
        "accuracy": bool(fix.hdop is not None and fix.hdop < 2),
    }
    if not class_b:
        data["status"] = 1 if anchored else (0 if speed > 0.5 else 5)
    sentences = encode_dict(
        data, talker_id="AI", sentence_type="VDM", radio_channel="A" if class_b else "B"
    )
    tag = (
        b"\\"
        + TagBlock.create(source_station="assetwatch", receiver_timestamp=int(fix.t))  # type: ignore[arg-type]
        + b"\\"
    )
    return b"\n".join(tag + s.encode() for s in sentences)


def ais_lines(fixes: Sequence[Fix], mmsi: int, *, class_b: bool) -> bytes:
    """One payload of newline-separated tagged sentences (a batch when several fixes)."""
    return b"\n".join(
        ais_line(f, mmsi, class_b=class_b, anchored=(f.speed_kmh or 0) < 0.5 and not f.engine_on)
        for f in fixes
    )
