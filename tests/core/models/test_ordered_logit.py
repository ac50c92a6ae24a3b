"""The ordered logit: probabilities, gradient, and the fit against an independent optimiser."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from lakehouse.models.ordered_logit import OrderedLogit, _negative_log_likelihood, fit_ordered_logit


def simulate(n: int, truth: OrderedLogit, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.6, 1.5, n)
    p = truth.probabilities(x)
    u = rng.random(n)
    outcomes = np.where(u < p[:, 0], 0, np.where(u < p[:, 0] + p[:, 1], 1, 2))
    return x, outcomes


def test_probabilities_by_hand_and_monotone() -> None:
    model = OrderedLogit(beta=0.5, cut_away=-1.0, cut_draw=0.2)
    p = model.probabilities(np.array([0.0, 2.0]))
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert p[0].tolist() == pytest.approx([1 - sig(0.2), sig(0.2) - sig(-1.0), sig(-1.0)], abs=1e-15)
    assert p[1, 2] == pytest.approx(sig(-1.0 - 1.0), abs=1e-15)
    grid = model.probabilities(np.linspace(-5, 5, 101))
    assert np.allclose(grid.sum(axis=1), 1.0)
    assert np.all(np.diff(grid[:, 0]) > 0) and np.all(np.diff(grid[:, 2]) < 0)


def test_the_analytic_gradient_matches_finite_differences() -> None:
    x, y = simulate(500, OrderedLogit(0.4, -1.0, 0.2))
    latent = 2 - y
    w = np.linspace(0.2, 1.0, len(x))
    theta = np.array([0.3, -0.7, math.log(0.9)])
    _, grad = _negative_log_likelihood(theta, x, latent, w)
    h = 1e-6
    for k in range(3):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (
            _negative_log_likelihood(up, x, latent, w)[0] - _negative_log_likelihood(down, x, latent, w)[0]
        ) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_the_fit_is_the_maximum_an_independent_optimiser_finds() -> None:
    truth = OrderedLogit(0.4, -1.0, 0.2)
    x, y = simulate(4000, truth)
    fit = fit_ordered_logit(x, y)

    def nll(params: np.ndarray) -> float:  # written afresh: no code shared with the module
        beta, c1, c2 = params
        if c2 <= c1:
            return 1e12
        total = 0.0
        for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
            away = 1 / (1 + math.exp(-(c1 - beta * xi)))
            not_home = 1 / (1 + math.exp(-(c2 - beta * xi)))
            total -= math.log([1 - not_home, not_home - away, away][yi])
        return total

    independent = minimize(
        nll, [0.0, -0.5, 0.5], method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000}
    )
    assert [fit.beta, fit.cut_away, fit.cut_draw] == pytest.approx(independent.x.tolist(), abs=2e-4)
    # and 4000 simulated matches recover the truth
    assert [fit.beta, fit.cut_away, fit.cut_draw] == pytest.approx([0.4, -1.0, 0.2], abs=0.08)


def test_weights_count_as_repeated_matches() -> None:
    x, y = simulate(600, OrderedLogit(0.4, -1.0, 0.2), seed=3)
    doubled = fit_ordered_logit(np.concatenate([x, x[:100]]), np.concatenate([y, y[:100]]))
    weighted = fit_ordered_logit(x, y, np.concatenate([np.full(100, 2.0), np.ones(500)]))
    assert [weighted.beta, weighted.cut_away, weighted.cut_draw] == pytest.approx(
        [doubled.beta, doubled.cut_away, doubled.cut_draw], abs=1e-5
    )


def test_without_all_three_outcomes_it_refuses() -> None:
    with pytest.raises(ValueError, match="needs home wins, draws and away wins"):
        fit_ordered_logit(np.array([0.1, 0.2, 0.3]), np.array([0, 0, 2]))
