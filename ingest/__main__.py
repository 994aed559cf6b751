"""``python -m ingest`` runs the same command as ``assetwatch ingest``."""

from __future__ import annotations

import logging
import sys

from assetwatch.settings import load_settings
from ingest.cli import ingest

if __name__ == "__main__":
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ingest(obj=settings)
