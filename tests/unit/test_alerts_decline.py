"""``decline`` on bursty assets (voyages with port stays between) and on steady ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts.detectors import Decline
from alerts.detectors.base import DeviceContext
from alerts.detectors.daily import DailySeries, empty_series
from alerts.detectors.decline import DeclineParams

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CTX = DeviceContext("S1", asset_id="A1", asset_class="ship")
DAYS = 35


def _series(op: np.ndarray, readings: float = 480.0) -> DailySeries:
    """Daily operating minutes ``op`` (index 0 the latest day) as a reporting terminal's series."""
    s = empty_series("S1", NOW, DAYS)
    s.readings[:] = readings
    s.operating_min[:] = op
    s.distance_m[:] = op * 380.0
    last = NOW - timedelta(minutes=3)
    return DailySeries(s.device_id, NOW, s.readings, s.operating_min, s.moving_min,
                       s.distance_m, s.rest_lat, s.rest_lon, last)  # fmt: skip


def _leg(rng: np.random.Generator) -> list[float]:
    """One sea leg of three days, oldest first: sails in the morning, arrives on day three."""
    return [rng.uniform(500.0, 900.0), 1438.0, rng.uniform(200.0, 1000.0)]


def _round_trip(rng: np.random.Generator) -> list[float]:
    """Out and back, the return leg sailing the day it arrived (a six-day run at sea)."""
    return [rng.uniform(500.0, 900.0), 1438.0, 1438.0, 1438.0, 1438.0, rng.uniform(200.0, 1000.0)]


def voyages_then(recent: list[float], *, seed: int) -> np.ndarray:
    """A cargo ship's baseline of round trips, then ``recent`` (oldest first).

    Like the simulated cargo ships before their decline: at sea about eleven days in
    twelve, turning round the day it arrives or after a one-day port call (alternately):
    three legs in ten days, about two port days in the 25-day baseline.
    """
    rng = np.random.default_rng(seed)
    older: list[float] = []
    call = 0
    while len(older) < DAYS - len(recent):
        older += _round_trip(rng) + [0.0] * call
        call = 1 - call
    days = older[len(older) - (DAYS - len(recent)) :] + recent
    return np.array(days[::-1])


def random_voyages(seed: int, depart: float = 0.5) -> np.ndarray:
    """Legs with port stays between: each day in port the ship sails with chance ``depart``."""
    rng = np.random.default_rng(seed)
    days: list[float] = []
    while len(days) < DAYS:
        while rng.random() >= depart:
            days.append(0.0)
        days += _leg(rng)
    return np.array(days[:DAYS][::-1])


@pytest.mark.parametrize("seed", range(6))
def test_fires_on_bursty_asset_whose_voyages_fall_to_a_third(seed: int) -> None:
    # The last ten days: one leg instead of about three, the ship in port since.
    rng = np.random.default_rng(100 + seed)
    s = _series(voyages_then([0.0, *_leg(rng), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], seed=seed))
    baseline = s.operating_min[10:]
    assert (baseline == 0).sum() >= 2  # port stays are part of its own pattern
    sig = Decline().evaluate(s, CTX, False)
    assert sig is not None
    assert sig.active
    # three operating days: too few for the operating-day comparison, decided on whole windows
    assert sig.evidence["operating_days"]["recent"] == 3
    assert sig.evidence["comparison"] == "whole_windows"
    assert sig.evidence["test"] == "permutation_mean"
    assert sig.evidence["p"] < 0.001
    assert 0.15 <= sig.magnitude < 0.45  # a third of the baseline's time at sea
    assert sig.level.name == ("ORANGE" if sig.magnitude < 0.3 else "YELLOW")
    assert sig.evidence["thresholds"]["alpha"] == 0.001
    # hysteresis: still mostly in port, it stays open; voyages back to normal end it
    again = Decline().evaluate(s, CTX, True)
    assert again is not None
    assert again.active
    back = _series(voyages_then([], seed=seed))
    end = Decline().evaluate(back, CTX, True)
    assert end is not None
    assert not end.active


@pytest.mark.parametrize("seed", range(3))
def test_a_stop_spell_then_normal_voyages_is_not_a_decline(seed: int) -> None:
    # Six days in port (idle's business), then four at sea again: down over the
    # window, but not down to the present. Even with a looser alpha (the whole
    # windows alone would enter at 0.01) it does not read as a decline.
    s = _series(voyages_then([0.0] * 6 + [700.0, 1438.0, 1438.0, 1438.0], seed=seed))
    loose = Decline(DeclineParams(alpha=0.01))
    v = s.operating_min
    assert loose._pvalue(True, v[:10], v[10:], v[:10], v[10:]) < 0.01
    assert loose.evaluate(s, CTX, False) is None
    assert Decline().evaluate(s, CTX, False) is None


def test_silent_on_bursty_asset_with_unchanged_random_port_stays() -> None:
    det = Decline()
    raised = [
        seed
        for seed in range(300)
        if (sig := det.evaluate(_series(random_voyages(seed)), CTX, False)) is not None
        and sig.active
    ]
    assert raised == []


def test_silent_on_steady_asset_with_normal_noise() -> None:
    det = Decline()
    ctx = DeviceContext("S1", asset_id="A1", asset_class="equipment")
    for seed in range(300):
        # a machine working every day, 600 min give or take 30 %
        rng = np.random.default_rng(seed)
        op = np.clip(rng.normal(600.0, 180.0, DAYS), 0.0, 1440.0)
        assert det.evaluate(_series(op), ctx, False) is None, seed


def test_steady_asset_at_half_intensity_fires_on_operating_days() -> None:
    rng = np.random.default_rng(1)
    op = np.clip(rng.normal(600.0, 60.0, DAYS), 0.0, 1440.0)
    op[:10] *= 0.5
    sig = Decline().evaluate(_series(op), DeviceContext("S1", asset_id="A1"), False)
    assert sig is not None
    assert sig.active
    assert sig.evidence["comparison"] == "operating_days"
    assert sig.evidence["test"] == "mann_whitney"
