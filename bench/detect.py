"""``python bench/detect.py`` = ``assetwatch bench detect``: a windowed pass over 10,000 assets."""

from __future__ import annotations

import sys

from assetwatch.bench import bench

if __name__ == "__main__":
    bench(["detect", *sys.argv[1:]])
