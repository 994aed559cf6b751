"""Exception root of the collateral package; psycopg and shapely errors are wrapped here."""

from __future__ import annotations

from dataclasses import dataclass


class CollateralError(Exception):
    """Root of every error raised by :mod:`collateral`."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid row or element: where it is (``line`` for CSV, ``path`` for JSON) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class RegistryError(CollateralError):
    """A registry file or change was refused; ``problems`` lists every reason found."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        self.problems = problems
        lines = [message, *(f"  {p}" for p in problems)]
        super().__init__("\n".join(lines))


class NotFound(CollateralError, LookupError):
    """The asset, terminal or other registry entity does not exist."""


class DoublePledgeError(RegistryError):
    """A change would pledge the same asset identity twice or bind one terminal to two assets."""


class GeoJSONError(CollateralError, ValueError):
    """A zone geometry is not valid GeoJSON for a zone; the message names the problem."""


class AuditError(CollateralError):
    """The audit chain could not be read or appended to."""


class ProvenanceError(CollateralError):
    """A provenance report could not be built or verified."""
