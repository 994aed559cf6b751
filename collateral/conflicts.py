"""Double pledges and double bindings: the same identity securing two loans at once,
or one terminal watching two assets at once.

Found from the rows, not enforced by an index: identity keys live in JSON and
ear tags are ranges, so the check is a sweep over intervals in Python (sorted,
so it stays near-linear for a whole portfolio).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collateral.identity import TagRange, identity_keys, tag_ranges
from collateral.model import Asset, Binding, Pledge

_FAR = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Conflict:
    """One double pledge or double binding.

    ``kind``: ``identity`` (two assets share an identity key and are pledged over
    overlapping periods), ``asset`` (one asset in two overlapping pledges) or
    ``terminal`` (one terminal bound to two assets over overlapping periods).
    ``since`` is when the overlap began; ``until`` None means it is still on.
    """

    kind: str
    key: str
    asset_ids: tuple[str, ...]
    loan_ids: tuple[str, ...]
    device_id: str | None
    since: datetime
    until: datetime | None
    detail: str

    @property
    def signature(self) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
        return (self.kind, self.key, self.asset_ids, self.loan_ids)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "asset_ids": list(self.asset_ids),
            "loan_ids": list(self.loan_ids),
            "device_id": self.device_id,
            "since": self.since,
            "until": self.until,
            "detail": self.detail,
        }


def _overlap(
    a: tuple[datetime, datetime | None], b: tuple[datetime, datetime | None]
) -> tuple[datetime, datetime | None] | None:
    start = max(a[0], b[0])
    ends = [e for e in (a[1], b[1]) if e is not None]
    end = min(ends) if ends else None
    if end is not None and end <= start:
        return None
    return start, end


def _pairs(
    items: Sequence[tuple[datetime, datetime | None, Any]],
) -> Iterable[tuple[Any, Any, tuple[datetime, datetime | None]]]:
    """Overlapping pairs among intervals (sorted sweep)."""
    ordered = sorted(items, key=lambda x: x[0])
    active: list[tuple[datetime, datetime | None, Any]] = []
    for cur in ordered:
        active = [x for x in active if (x[1] or _FAR) > cur[0]]
        for prev in active:
            ov = _overlap((prev[0], prev[1]), (cur[0], cur[1]))
            if ov is not None:
                yield prev[2], cur[2], ov
        active.append(cur)


def find_conflicts(
    assets: Mapping[str, Asset],
    pledges: Iterable[Pledge],
    bindings: Iterable[Binding],
    *,
    at: datetime | None = None,
) -> list[Conflict]:
    """Every double pledge/binding in the rows; with ``at``, only those in force then."""
    out: dict[tuple[Any, ...], Conflict] = {}

    def add(c: Conflict) -> None:
        if at is not None and not (c.since <= at and (c.until is None or c.until > at)):
            return
        out.setdefault((*c.signature, c.since), c)

    pledge_list = list(pledges)
    by_key: dict[str, list[tuple[datetime, datetime | None, Pledge]]] = defaultdict(list)
    by_prefix: dict[str, list[tuple[TagRange, Pledge]]] = defaultdict(list)
    for p in pledge_list:
        asset = assets.get(p.asset_id)
        by_key[f"asset:{p.asset_id}"].append((p.valid_from, p.valid_to, p))
        if asset is None:
            continue
        for key in identity_keys(asset.identity):
            by_key[key].append((p.valid_from, p.valid_to, p))
        for tr in tag_ranges(asset.identity):
            by_prefix[tr.prefix].append((tr, p))
    for key, items in by_key.items():
        for a, b, (since, until) in _pairs(items):
            if a.asset_id == b.asset_id and not key.startswith("asset:"):
                continue  # reported once under asset:<id>
            kind = "asset" if key.startswith("asset:") else "identity"
            assets_ = tuple(sorted({a.asset_id, b.asset_id}))
            loans = tuple(sorted({a.loan_id, b.loan_id}))
            what = (
                f"asset {a.asset_id}" if kind == "asset" else f"{key} (assets {', '.join(assets_)})"
            )
            add(
                Conflict(
                    kind,
                    key,
                    assets_,
                    loans,
                    None,
                    since,
                    until,
                    f"{what} pledged to loans {' and '.join(loans)} at the same time "
                    f"from {since.isoformat()}",
                )
            )
    for _prefix, ranges in by_prefix.items():
        ranges.sort(key=lambda x: x[0].low)
        for i, (ra, pa) in enumerate(ranges):
            for rb, pb in ranges[i + 1 :]:
                if rb.low > ra.high:
                    break
                if pa.asset_id == pb.asset_id or not ra.overlaps(rb):
                    continue
                ov = _overlap((pa.valid_from, pa.valid_to), (pb.valid_from, pb.valid_to))
                if ov is None:
                    continue
                assets_ = tuple(sorted({pa.asset_id, pb.asset_id}))
                loans = tuple(sorted({pa.loan_id, pb.loan_id}))
                add(
                    Conflict(
                        "identity",
                        f"ear_tags:{ra.label()}&{rb.label()}",
                        assets_,
                        loans,
                        None,
                        ov[0],
                        ov[1],
                        f"ear tags {ra.label()} and {rb.label()} overlap between assets "
                        f"{' and '.join(assets_)} pledged to {' and '.join(loans)}",
                    )
                )
    by_device: dict[str, list[tuple[datetime, datetime | None, Binding]]] = defaultdict(list)
    for b in bindings:
        by_device[b.device_id].append((b.valid_from, b.valid_to, b))
    for device, spans in by_device.items():
        for a, b, (since, until) in _pairs(spans):
            assets_ = tuple(sorted({a.asset_id, b.asset_id}))
            detail = (
                f"terminal {device} bound to {' and '.join(assets_)} at the same time "
                f"from {since.isoformat()}"
                if len(assets_) > 1
                else f"terminal {device} bound twice to {assets_[0]} over the same period"
            )
            add(
                Conflict(
                    "terminal", f"terminal:{device}", assets_, (), device, since, until, detail
                )
            )
    return sorted(out.values(), key=lambda c: (c.since, c.key))
