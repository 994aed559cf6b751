"""``python bench/provenance.py`` = ``assetwatch bench provenance``: one asset, 180 days."""

from __future__ import annotations

import sys

from assetwatch.bench import bench

if __name__ == "__main__":
    bench(["provenance", *sys.argv[1:]])
