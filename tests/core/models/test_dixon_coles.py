"""Dixon–Coles: the score grid, the gradient, and the fit against an independent likelihood."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import poisson

from lakehouse.models.dixon_coles import DixonColes, _objective, fit_dixon_coles


def league(
    n_teams: int, rounds: int, seed: int = 11
) -> tuple[DixonColes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A simulated double round robin, ``rounds`` times over, from known strengths."""
    rng = np.random.default_rng(seed)
    attack = rng.normal(0, 0.3, n_teams)
    attack -= attack.mean()
    truth = DixonColes(attack, rng.normal(0, 0.25, n_teams), 0.25, -0.08)
    pairs = [(h, a) for h in range(n_teams) for a in range(n_teams) if h != a] * rounds
    home = np.array([h for h, _ in pairs])
    away = np.array([a for _, a in pairs])
    goals = [divmod(int(rng.choice(121, p=truth.score_grid(h, a).ravel())), 11) for h, a in pairs]
    return truth, home, away, np.array([g[0] for g in goals]), np.array([g[1] for g in goals])


def test_the_score_grid_by_hand() -> None:
    model = DixonColes(np.array([0.1, -0.1]), np.array([0.05, -0.05]), 0.3, -0.1)
    lam, mu = math.exp(0.3 + 0.1 - 0.05), math.exp(-0.1 + 0.05)
    grid = model.score_grid(0, 1)
    raw = lambda i, j: poisson.pmf(i, lam) * poisson.pmf(j, mu)  # noqa: E731
    total = (
        sum(raw(i, j) for i in range(11) for j in range(11))
        + raw(0, 0) * (-lam * mu * -0.1)
        + raw(0, 1) * (lam * -0.1)
        + raw(1, 0) * (mu * -0.1)
        + raw(1, 1) * 0.1
    )
    assert grid[0, 0] == pytest.approx(raw(0, 0) * (1 + lam * mu * 0.1) / total, rel=1e-12)
    assert grid[1, 1] == pytest.approx(raw(1, 1) * 1.1 / total, rel=1e-12)
    assert grid[3, 2] == pytest.approx(raw(3, 2) / total, rel=1e-12)
    p = model.probabilities(np.array([0]), np.array([1]))[0]
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    assert p[0] == pytest.approx(sum(grid[i, j] for i in range(11) for j in range(i)), abs=1e-14)


def test_the_analytic_gradient_matches_finite_differences() -> None:
    _, home, away, x, y = league(5, 1)
    rng = np.random.default_rng(2)
    theta = np.concatenate([rng.normal(0, 0.2, 10), [0.2, -0.05]])
    w = rng.uniform(0.3, 1.0, len(x))
    _, grad = _objective(theta, 5, home, away, x, y, w)
    h = 1e-6
    for k in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (
            _objective(up, 5, home, away, x, y, w)[0] - _objective(down, 5, home, away, x, y, w)[0]
        ) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_the_fit_maximises_an_independently_written_likelihood() -> None:
    _, home, away, x, y = league(4, 6)
    fit = fit_dixon_coles(home, away, x, y, 4)

    def logpmf(k: int, rate: float) -> float:
        return k * math.log(rate) - rate - math.lgamma(k + 1)

    def loglik(params: np.ndarray) -> float:  # afresh, with full Poisson log-pmfs
        att = np.append(params[:3], -params[:3].sum())  # attacks sum to zero
        dfn, h, rho = params[3:7], params[7], params[8]
        total = 0.0
        for hi, ai, gx, gy in zip(home.tolist(), away.tolist(), x.tolist(), y.tolist(), strict=True):
            lam = math.exp(h + att[hi] + dfn[ai])
            mu = math.exp(att[ai] + dfn[hi])
            tau = {(0, 0): 1 - lam * mu * rho, (0, 1): 1 + lam * rho, (1, 0): 1 + mu * rho, (1, 1): 1 - rho}
            if tau.get((gx, gy), 1.0) <= 0:
                return -1e12  # outside the model's domain
            total += math.log(tau.get((gx, gy), 1.0)) + logpmf(gx, lam) + logpmf(gy, mu)
        return total

    start = np.concatenate([np.zeros(7), [0.2, 0.0]])
    independent = minimize(
        lambda v: -loglik(v), start, method="Powell", options={"xtol": 1e-8, "ftol": 1e-12, "maxiter": 20000}
    )
    ours = np.concatenate([fit.attack[:3], fit.defence, [fit.home, fit.rho]])
    assert abs(fit.attack.sum()) < 1e-6
    assert -independent.fun == pytest.approx(loglik(ours), abs=1e-6)
    assert ours.tolist() == pytest.approx(independent.x.tolist(), abs=2e-3)


def test_a_long_league_recovers_the_truth() -> None:
    truth, home, away, x, y = league(8, 40)
    fit = fit_dixon_coles(home, away, x, y, 8)
    assert fit.attack.tolist() == pytest.approx(truth.attack.tolist(), abs=0.12)
    assert fit.defence.tolist() == pytest.approx(truth.defence.tolist(), abs=0.12)
    assert fit.home == pytest.approx(truth.home, abs=0.08)
    assert fit.rho == pytest.approx(truth.rho, abs=0.08)


def test_weights_count_as_repeated_matches_and_warm_starts_change_nothing() -> None:
    _, home, away, x, y = league(5, 2, seed=4)
    k = 10
    doubled = fit_dixon_coles(
        np.r_[home, home[:k]], np.r_[away, away[:k]], np.r_[x, x[:k]], np.r_[y, y[:k]], 5
    )
    w = np.ones(len(x))
    w[:k] = 2.0
    weighted = fit_dixon_coles(home, away, x, y, 5, w)
    warm = fit_dixon_coles(home, away, x, y, 5, w, start=doubled)
    for other in (doubled, warm):
        assert weighted.attack.tolist() == pytest.approx(other.attack.tolist(), abs=1e-4)
        assert weighted.rho == pytest.approx(other.rho, abs=1e-4)
