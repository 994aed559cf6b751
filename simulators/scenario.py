"""Scenarios: which incidents to script, and how noisy the terminals are.

A scenario is a built-in preset (:data:`PRESETS`) or a JSON/YAML file::

    name: my-test
    noise: {dropout_p: 0.01, duplicate_p: 0.005}
    min_quiet_share: 0.3
    incidents:
      - {kind: offline, mode: power_cut, count: 2, classes: [vehicle], at_day: 3.5,
         params: {hours: 12}}
      - {kind: idle, share: 0.05}

``count`` (or ``share`` of the eligible assets) picks the assets; without
either, one asset per eligible class. ``mode`` defaults to every mode of the
kind. ``at_day`` fixes the start (days after the simulation start), otherwise
it is drawn from the seed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

import yaml

from simulators.errors import ScenarioError

#: kind -> mode -> asset kinds it applies to (see docs/simulators.md).
MODES: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    "zone_exit": {
        "brief": frozenset({"truck", "fishing", "excavator"}),
        "sustained": frozenset({"truck", "fishing", "excavator"}),
        "permanent": frozenset({"truck", "excavator"}),
    },
    "relocation": {"move": frozenset({"truck", "fishing", "herd", "excavator"})},
    "moved_while_parked": {"displaced": frozenset({"laid_up", "generator", "production"})},
    "idle": {
        "stopped": frozenset(
            {"truck", "fishing", "cargo", "herd", "excavator", "generator", "production"}
        )
    },
    "decline": {
        "gradual": frozenset(
            {"truck", "fishing", "cargo", "herd", "excavator", "generator", "production"}
        )
    },
    "offline": {
        "silent": frozenset(
            {"truck", "fishing", "cargo", "laid_up", "herd", "excavator", "generator", "production"}
        ),
        "power_cut": frozenset(
            {"truck", "fishing", "cargo", "herd", "excavator", "generator", "production"}
        ),
        "antenna_cut": frozenset({"truck", "fishing", "cargo", "excavator"}),
        "tamper": frozenset({"truck", "herd", "excavator", "generator", "production"}),
    },
    "tamper": {
        "backup_battery": frozenset({"truck", "herd", "excavator", "generator", "production"}),
        "case_opened": frozenset({"truck", "herd", "excavator", "generator", "production"}),
    },
    "spoofing": {
        "teleport": frozenset({"truck", "fishing", "cargo", "excavator"}),
        "frozen": frozenset({"truck", "excavator"}),
        "counter_rollback": frozenset({"truck", "excavator", "generator", "production"}),
    },
    "fabrication": {
        "replay": frozenset({"truck", "fishing", "excavator"}),
        "flatline": frozenset({"herd", "excavator", "generator", "production"}),
    },
    "double_pledge": {
        "terminal_two_assets": frozenset(
            {"truck", "cargo", "fishing", "excavator", "generator", "production"}
        ),
        "identity_two_pledges": frozenset({"truck", "cargo", "herd", "excavator"}),
    },
}

#: Offline causes that are also tampering (the terminal was cut off on purpose).
TAMPER_CAUSES: Final = frozenset({"power_cut", "antenna_cut", "tamper"})


@dataclass(frozen=True, slots=True)
class Noise:
    """The realism knobs; :meth:`off` gives perfectly clean terminals."""

    parked_sigma_m: float = 2.5  # GPS jitter (1 sigma) of a standing terminal
    jitter_radius_m: float = 12.0  # jitter never leaves this radius (hdop-good fixes)
    multipath_p: float = 0.002  # share of fixes thrown 60-400 m with high hdop
    dropout_p: float = 0.004  # share of messages lost on the way
    duplicate_p: float = 0.003  # share of messages delivered twice
    blind_area_per_day: float = 0.4  # vehicles: mean blind-area episodes per day
    blind_area_max_s: float = 900.0  # longest blind-area episode (backfilled after)
    clock_skew_s: float = 1.5  # per-device constant clock error, up to this
    skewed_share: float = 0.02  # share of devices with a badly set clock (up to 90 s)
    cadence_jitter: float = 0.08  # per-device interval spread (fraction)

    @classmethod
    def off(cls) -> Noise:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class IncidentRequest:
    """One line of a scenario: a kind (and mode) to script on some assets."""

    kind: str
    mode: str | None = None
    count: int | None = None
    share: float | None = None
    classes: tuple[str, ...] = ()
    at_day: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named set of incident requests plus the noise model."""

    name: str
    incidents: tuple[IncidentRequest, ...] = ()
    noise: Noise = field(default_factory=Noise)
    min_quiet_share: float = 0.3
    early: bool = False  # schedule incidents in the first third (demo: alerts come fast)


def _every_mode(share: float | None = None) -> tuple[IncidentRequest, ...]:
    return tuple(
        IncidentRequest(kind=kind, mode=mode, share=share)
        for kind, modes in MODES.items()
        for mode in modes
    )


PRESETS: Final[Mapping[str, Scenario]] = {
    "quiet": Scenario("quiet"),
    "demo": Scenario("demo", _every_mode(), early=True, min_quiet_share=0.4),
    "eval-small": Scenario("eval-small", _every_mode(), min_quiet_share=0.3),
    "eval": Scenario("eval", _every_mode(share=0.02), min_quiet_share=0.4),
}


def load_scenario(name_or_path: str) -> Scenario:
    """A preset by name, or a scenario file (``.json``, ``.yaml``, ``.yml``)."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(
            f"scenario {name_or_path!r} is neither a preset ({', '.join(PRESETS)}) nor a file"
        )
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"scenario file {path}: cannot read it: {exc}") from exc
    return scenario_from_dict(doc, default_name=path.stem)


def scenario_from_dict(doc: object, *, default_name: str = "custom") -> Scenario:
    """Validate a parsed scenario document; errors name the offending entry."""
    if not isinstance(doc, dict):
        raise ScenarioError("scenario must be a mapping with 'incidents' (and optional 'noise')")
    unknown = set(doc) - {"name", "incidents", "noise", "min_quiet_share", "early", "preset"}
    if unknown:
        raise ScenarioError(f"scenario: unknown keys {sorted(unknown)}")
    base = PRESETS.get(str(doc.get("preset", "quiet")))
    if base is None:
        raise ScenarioError(f"scenario: unknown preset {doc.get('preset')!r}")
    noise = base.noise
    if "noise" in doc:
        raw = doc["noise"]
        if raw is False or raw == "off":
            noise = Noise.off()
        elif isinstance(raw, dict):
            names = {f.name for f in fields(Noise)}
            bad = set(raw) - names
            if bad:
                raise ScenarioError(f"scenario noise: unknown keys {sorted(bad)}")
            try:
                values = {k: float(v) for k, v in raw.items()}
            except (TypeError, ValueError) as exc:
                raise ScenarioError(f"scenario noise: values must be numbers ({exc})") from None
            noise = Noise(**{**{f.name: getattr(noise, f.name) for f in fields(Noise)}, **values})
        else:
            raise ScenarioError("scenario noise: expected a mapping, false or 'off'")
    requests = list(base.incidents)
    raw_incidents = doc.get("incidents", [])
    if not isinstance(raw_incidents, list):
        raise ScenarioError("scenario incidents: expected a list")
    for i, item in enumerate(raw_incidents):
        requests.append(_request(i, item))
    try:
        quiet = float(doc.get("min_quiet_share", base.min_quiet_share))
    except (TypeError, ValueError):
        raise ScenarioError("scenario min_quiet_share: expected a number") from None
    if not 0.0 <= quiet < 1.0:
        raise ScenarioError("scenario min_quiet_share: must be in [0, 1)")
    return Scenario(
        str(doc.get("name", default_name)),
        tuple(requests),
        noise,
        quiet,
        bool(doc.get("early", base.early)),
    )


def _request(i: int, item: object) -> IncidentRequest:
    where = f"scenario incidents[{i}]"
    if not isinstance(item, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    bad = set(item) - {"kind", "mode", "count", "share", "classes", "at_day", "params"}
    if bad:
        raise ScenarioError(f"{where}: unknown keys {sorted(bad)}")
    raw_kind = item.get("kind")
    if raw_kind not in MODES:
        raise ScenarioError(f"{where}: kind {raw_kind!r} is not one of {', '.join(MODES)}")
    kind = str(raw_kind)
    mode = item.get("mode")
    if mode is not None and mode not in MODES[kind]:
        raise ScenarioError(
            f"{where}: mode {mode!r} of {kind} is not one of {', '.join(MODES[kind])}"
        )
    classes = item.get("classes", [])
    if isinstance(classes, str):
        classes = [classes]
    if not isinstance(classes, list) or not all(
        c in ("vehicle", "ship", "farm", "equipment") for c in classes
    ):
        raise ScenarioError(f"{where}: classes must be a list of vehicle/ship/farm/equipment")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise ScenarioError(f"{where}: params must be a mapping")
    try:
        count = None if item.get("count") is None else int(item["count"])
        share = None if item.get("share") is None else float(item["share"])
        at_day = None if item.get("at_day") is None else float(item["at_day"])
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: count, share and at_day must be numbers") from None
    if (count is not None and count < 0) or (share is not None and not 0 <= share <= 1):
        raise ScenarioError(f"{where}: count must be >= 0 and share within [0, 1]")
    return IncidentRequest(str(kind), mode, count, share, tuple(classes), at_day, dict(params))
