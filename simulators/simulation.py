"""The in-process API: a whole simulated fleet without a broker.

::

    from simulators import SimConfig, Simulation

    sim = Simulation(SimConfig(fleet={"vehicle": 20, "farm": 5}, days=3, seed=7,
                               start="2026-11-01T00:00:00Z", scenario="eval-small"))
    registry = sim.registry()          # the registry JSON document (dict)
    truth = sim.truth()                # ground-truth dicts, one per incident
    for msg in sim.messages():         # SimMessage, in send-time order
        topic, payload, event_time = msg

The same seed and start give the same registry, truth and messages, byte for
byte. ``messages()`` can be iterated more than once (each call replays).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulators.devices import Device
from simulators.engine import Channel, EventLoop, SimMessage
from simulators.errors import ScenarioError
from simulators.fleet import build_fleet, parse_fleet_spec
from simulators.incidents import Incident, IncidentPlan, by_device, plan_incidents
from simulators.motion import Motion
from simulators.portfolio import Fleet
from simulators.registry import registry_document
from simulators.scenario import Noise, Scenario, load_scenario
from simulators.timebase import DAY


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate. ``fleet`` is a spec string or counts per class; ``start`` is UTC."""

    fleet: str | Mapping[str, int] = "vehicle=20,ship=5,farm=5,equipment=10"
    days: float = 1.0
    seed: int = 0
    start: datetime | str | float = "2026-11-01T00:00:00Z"
    scenario: str | Scenario = "eval-small"
    native: bool = False  # each class's own protocol instead of the JSON reading
    noise: Noise | None = None  # overrides the scenario's noise model
    extra: Mapping[str, Any] = field(default_factory=dict)


def _epoch(start: datetime | str | float) -> float:
    if isinstance(start, int | float):
        return float(start)
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(f"start {start!r} is not an RFC 3339 time") from None
    if start.tzinfo is None:
        raise ScenarioError("start must carry a time zone (use UTC)")
    return start.timestamp()


class Simulation:
    """A built fleet with its scripted incidents, ready to generate messages."""

    def __init__(self, config: SimConfig) -> None:
        if not 0 < config.days <= 3660:
            raise ScenarioError(f"days must be in (0, 3660], got {config.days}")
        self.config = config
        counts = (
            parse_fleet_spec(config.fleet) if isinstance(config.fleet, str) else dict(config.fleet)
        )
        if isinstance(config.fleet, Mapping):
            parse_fleet_spec(",".join(f"{k}={v}" for k, v in counts.items()))  # validates
        self.scenario = (
            load_scenario(config.scenario) if isinstance(config.scenario, str) else config.scenario
        )
        self.noise = config.noise if config.noise is not None else self.scenario.noise
        self.start = _epoch(config.start)
        self.end = self.start + config.days * DAY
        self.fleet: Fleet = build_fleet(counts, config.seed, native=config.native)
        self.plan: IncidentPlan = plan_incidents(
            self.fleet, self.scenario, start=self.start, days=config.days, seed=config.seed
        )

    @property
    def incidents(self) -> tuple[Incident, ...]:
        return self.plan.incidents

    @property
    def device_count(self) -> int:
        return len(self.fleet.terminals)

    def registry(self) -> dict[str, Any]:
        return registry_document(self.fleet, self.plan, start=self.start)

    def truth(self) -> list[dict[str, Any]]:
        return [
            i.truth()
            for i in sorted(self.plan.incidents, key=lambda i: (i.start, i.asset_id, i.kind))
        ]

    def truth_lines(self) -> list[str]:
        return self.plan.truth_lines()

    def devices(self) -> list[Device]:
        """Fresh device state machines (one per terminal), sharing one motion per asset."""
        seed = self.config.seed
        per_asset = {i.asset_id: [] for i in self.plan.incidents}  # type: dict[str, list[Incident]]
        for inc in self.plan.incidents:
            per_asset[inc.asset_id].append(inc)
        per_device = by_device(self.plan.incidents)
        motions = {
            a.asset_id: Motion(a, per_asset.get(a.asset_id, []), seed=seed, start=self.start)
            for a in self.fleet.assets
        }
        return [
            Device(
                t,
                self.fleet.asset_by_id[t.asset_id],
                motions[t.asset_id],
                [i for i in per_device.get(t.device_id, []) if i.asset_id == t.asset_id],
                self.noise,
                seed=seed,
                start=self.start,
            )
            for t in self.fleet.terminals
        ]

    def messages(self) -> Iterator[SimMessage]:
        """Every message of the simulated period, in send-time order."""
        chans = [Channel(d, self.noise, seed=self.config.seed) for d in self.devices()]
        return EventLoop(chans, start=self.start, end=self.end).run()


def generate(config: SimConfig | None = None, **kwargs: Any) -> Iterator[SimMessage]:
    """Shorthand: the messages of ``Simulation(config or SimConfig(**kwargs))``."""
    return Simulation(config or SimConfig(**kwargs)).messages()
