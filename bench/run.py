"""Run one benchmark by name: ``python bench/run.py store`` (same as ``assetwatch bench store``)."""

from __future__ import annotations

import sys

from assetwatch.bench import bench

if __name__ == "__main__":
    bench(sys.argv[1:])
