"""Simulator benchmark: ``python bench/simulate.py`` (same as ``assetwatch bench simulate``)."""

from __future__ import annotations

import sys

from assetwatch.bench import bench

if __name__ == "__main__":
    bench(["simulate", *sys.argv[1:]])
