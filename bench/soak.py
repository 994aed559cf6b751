"""Soak benchmark: ``python bench/soak.py [--days 30 ...]`` is ``assetwatch bench soak``."""

from __future__ import annotations

from assetwatch.soak import soak

if __name__ == "__main__":
    soak()
