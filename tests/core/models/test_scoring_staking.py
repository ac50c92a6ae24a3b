"""Brier, log-loss and Kelly against hand-computed vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lakehouse.models.scoring import brier_score, brier_scores, log_loss, outcome_index
from lakehouse.models.staking import kelly_fraction, stake_fraction


def test_brier_and_log_loss_by_hand() -> None:
    p = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    y = outcome_index(["home", "draw"])
    # (0.5-1)^2 + 0.3^2 + 0.2^2 = 0.38 ; 0.2^2 + (0.3-1)^2 + 0.5^2 = 0.78
    assert brier_scores(p, y).tolist() == pytest.approx([0.38, 0.78], abs=1e-15)
    assert brier_score(p, y) == pytest.approx(0.58, abs=1e-15)
    assert log_loss(p, y) == pytest.approx((-math.log(0.5) - math.log(0.3)) / 2, abs=1e-15)


def test_a_certain_and_right_forecast_scores_zero() -> None:
    p = np.array([[0.0, 0.0, 1.0]])
    assert brier_score(p, np.array([2])) == 0.0
    assert log_loss(p, np.array([2])) == 0.0


def test_shapes_and_selections_are_checked() -> None:
    with pytest.raises(ValueError, match="n x 3"):
        brier_score(np.array([[0.5, 0.5]]), np.array([0]))
    with pytest.raises(ValueError, match="unknown h2h selection 'over'"):
        outcome_index(["home", "over"])


def test_kelly_by_hand() -> None:
    # p = 0.5 at 2.2: (0.5 * 2.2 - 1) / 1.2 = 1/12 ; no edge -> no bet
    assert kelly_fraction(0.5, 2.2) == pytest.approx(1 / 12, abs=1e-15)
    assert kelly_fraction(0.4, 2.4) == 0.0
    assert kelly_fraction(np.array([0.6, 0.3]), np.array([2.0, 3.0])).tolist() == pytest.approx(
        [0.2, 0.0], abs=1e-15
    )
    # a quarter Kelly, capped at 2%: 0.25 * 0.2 = 0.05 -> 0.02
    assert stake_fraction(0.6, 2.0, 0.25, 0.02) == pytest.approx(0.02)
    assert stake_fraction(0.55, 2.0, 0.25, 0.05) == pytest.approx(0.25 * 0.1)


def test_kelly_maximises_expected_log_growth() -> None:
    p, o = 0.45, 2.6
    f = float(kelly_fraction(p, o))
    grid = np.linspace(0.0, 0.5, 50001)
    growth = p * np.log1p(grid * (o - 1)) + (1 - p) * np.log1p(-grid)
    assert f == pytest.approx(grid[np.argmax(growth)], abs=1e-5)


def test_kelly_refuses_what_is_not_a_price_or_a_probability() -> None:
    with pytest.raises(ValueError, match="prices must be > 1"):
        kelly_fraction(0.5, 1.0)
    with pytest.raises(ValueError, match="within"):
        kelly_fraction(1.2, 2.0)
