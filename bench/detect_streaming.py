"""``python bench/detect_streaming.py`` = ``assetwatch bench detect-streaming``."""

from __future__ import annotations

import sys

from assetwatch.bench import bench

if __name__ == "__main__":
    bench(["detect-streaming", *sys.argv[1:]])
