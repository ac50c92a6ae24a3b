"""Kelly staking: the bankroll fraction that maximises expected log growth of a single bet."""

from __future__ import annotations

import numpy as np

from lakehouse.models.scoring import Floats


def kelly_fraction(probability: Floats | float, price: Floats | float) -> Floats:
    """``(p * price - 1) / (price - 1)`` where positive, else 0 (no bet without an edge)."""
    p = np.asarray(probability, dtype=np.float64)
    o = np.asarray(price, dtype=np.float64)
    if np.any(o <= 1.0):
        raise ValueError("decimal prices must be > 1")
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("probabilities must be within [0, 1]")
    return np.asarray(np.maximum((p * o - 1.0) / (o - 1.0), 0.0), dtype=np.float64)


def stake_fraction(
    probability: Floats | float, price: Floats | float, multiplier: float = 0.25, cap: float = 0.05
) -> Floats:
    """Fractional Kelly (``multiplier`` of full Kelly), capped at ``cap`` of the bankroll per bet.

    Full Kelly on a model's own probabilities over-bets whenever the model is over-confident;
    a quarter Kelly with a cap is what desks run.
    """
    if not 0.0 < multiplier <= 1.0 or not 0.0 < cap <= 1.0:
        raise ValueError(f"multiplier and cap must be in (0, 1], got {multiplier} and {cap}")
    return np.minimum(multiplier * kelly_fraction(probability, price), cap)
