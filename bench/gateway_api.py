"""``python bench/gateway_api.py`` = ``assetwatch bench gateway``: API latency and feed latency."""

from __future__ import annotations

import sys

from assetwatch.bench import bench

if __name__ == "__main__":
    bench(["gateway", *sys.argv[1:]])
