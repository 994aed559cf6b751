"""Protocol decoders: one module per format, each ``payload -> Decoded``."""

from __future__ import annotations

from ingest.codecs.ais import AisDecoder
from ingest.codecs.base import DecodeContext, Decoded, Group

__all__ = ["AisDecoder", "DecodeContext", "Decoded", "Group"]
