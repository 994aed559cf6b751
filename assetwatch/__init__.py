"""assetwatch: IoT collateral monitoring for small-business lending.

This package holds what every process shares: the settings object and the
command-line entry point. The product's parts live in the top-level packages
``telemetry``, ``ingest``, ``collateral``, ``alerts``, ``gateway`` and
``simulators``.
"""

from __future__ import annotations

from assetwatch.settings import Settings

__all__ = ["Settings"]
__version__ = "0.1.0"
