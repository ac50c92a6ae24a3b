"""Dixon–Coles (1997): independent Poisson goals with a low-score correction, weighted by age.

``log λ_home = home + attack[h] + defence[a]`` and ``log λ_away = attack[a] + defence[h]``, so a
higher ``defence`` concedes more; ``rho`` corrects the 0-0, 1-0, 0-1 and 1-1 cells, which plain
Poisson gets wrong.  Likelihood and gradient are analytic, so a weekly walk-forward refit of a
league costs milliseconds; attacks are held to sum to zero by a penalty (the model is otherwise
unchanged by adding a constant to every attack and removing it from every defence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.stats import poisson

from lakehouse.models.scoring import Floats

Ints = npt.NDArray[np.int64]
MAX_GOALS = 10
"""The score grid's edge per side; the mass beyond it (under 1e-6 for λ < 4) is renormalised."""
RHO_BOUNDS = (-0.25, 0.25)


@dataclass(frozen=True, slots=True)
class DixonColes:
    attack: Floats
    defence: Floats
    home: float
    rho: float

    def rates(self, home: Ints, away: Ints) -> tuple[Floats, Floats]:
        """Expected goals of the home and the away side (team indices into the fit)."""
        lam = np.exp(self.home + self.attack[home] + self.defence[away])
        mu = np.exp(self.attack[away] + self.defence[home])
        return lam, mu

    def score_grid(self, home: int, away: int) -> Floats:
        """P(home goals = i, away goals = j) for i, j in 0..MAX_GOALS, summing to 1."""
        lam, mu = (float(v[0]) for v in self.rates(np.array([home]), np.array([away])))
        goals = np.arange(MAX_GOALS + 1)
        grid = np.outer(poisson.pmf(goals, lam), poisson.pmf(goals, mu))
        grid[0, 0] *= 1.0 - lam * mu * self.rho
        grid[0, 1] *= 1.0 + lam * self.rho
        grid[1, 0] *= 1.0 + mu * self.rho
        grid[1, 1] *= 1.0 - self.rho
        grid = np.maximum(grid, 0.0)  # τ < 0 only where λ or μ is far outside any real match
        return np.asarray(grid / grid.sum(), dtype=np.float64)

    def probabilities(self, home: Ints, away: Ints) -> Floats:
        """Rows of (home, draw, away) probabilities."""
        rows = []
        for h, a in zip(home.tolist(), away.tolist(), strict=True):
            grid = self.score_grid(h, a)
            rows.append((np.tril(grid, -1).sum(), np.trace(grid), np.triu(grid, 1).sum()))
        return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _tau_terms(
    x: Ints, y: Ints, lam: Floats, mu: Floats, rho: float
) -> tuple[Floats, Floats, Floats, Floats]:
    """log τ and its derivatives in log λ, log μ and ρ, per match (zero outside the 4 cells)."""
    tau = np.ones_like(lam)
    d_lam = np.zeros_like(lam)
    d_mu = np.zeros_like(lam)
    d_rho = np.zeros_like(lam)
    c00 = (x == 0) & (y == 0)
    c01 = (x == 0) & (y == 1)
    c10 = (x == 1) & (y == 0)
    c11 = (x == 1) & (y == 1)
    tau[c00] = 1.0 - lam[c00] * mu[c00] * rho
    tau[c01] = 1.0 + lam[c01] * rho
    tau[c10] = 1.0 + mu[c10] * rho
    tau[c11] = 1.0 - rho
    tau = np.maximum(tau, 1e-10)
    d_lam[c00] = -lam[c00] * mu[c00] * rho / tau[c00]
    d_mu[c00] = d_lam[c00]
    d_lam[c01] = lam[c01] * rho / tau[c01]
    d_mu[c10] = mu[c10] * rho / tau[c10]
    d_rho[c00] = -lam[c00] * mu[c00] / tau[c00]
    d_rho[c01] = lam[c01] / tau[c01]
    d_rho[c10] = mu[c10] / tau[c10]
    d_rho[c11] = -1.0 / tau[c11]
    return np.log(tau), d_lam, d_mu, d_rho


def _objective(
    theta: Floats, n: int, home: Ints, away: Ints, x: Ints, y: Ints, w: Floats
) -> tuple[float, Floats]:
    attack, defence, h, rho = theta[:n], theta[n : 2 * n], theta[2 * n], theta[2 * n + 1]
    log_lam = h + attack[home] + defence[away]
    log_mu = attack[away] + defence[home]
    lam, mu = np.exp(log_lam), np.exp(log_mu)
    log_tau, t_lam, t_mu, t_rho = _tau_terms(x, y, lam, mu, rho)
    # the Poisson terms without log(x!) and log(y!), which do not depend on the parameters
    ll = log_tau + x * log_lam - lam + y * log_mu - mu
    g_lam = w * (x - lam + t_lam)  # d ll / d log λ, weighted
    g_mu = w * (y - mu + t_mu)
    total_attack = attack.sum()
    grad = np.zeros_like(theta)
    grad[:n] = -(np.bincount(home, g_lam, n) + np.bincount(away, g_mu, n)) + 2.0 * total_attack
    grad[n : 2 * n] = -(np.bincount(away, g_lam, n) + np.bincount(home, g_mu, n))
    grad[2 * n] = -g_lam.sum()
    grad[2 * n + 1] = -(w * t_rho).sum()
    return -float((w * ll).sum()) + float(total_attack**2), grad


def fit_dixon_coles(
    home: Ints,
    away: Ints,
    home_goals: Ints,
    away_goals: Ints,
    n_teams: int,
    weights: Floats | None = None,
    start: DixonColes | None = None,
) -> DixonColes:
    """Weighted maximum-likelihood fit; team indices run over ``range(n_teams)``."""
    home, away = np.asarray(home, dtype=np.int64), np.asarray(away, dtype=np.int64)
    x, y = np.asarray(home_goals, dtype=np.int64), np.asarray(away_goals, dtype=np.int64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("a Dixon–Coles fit needs at least one match")
    if start is None:
        theta0 = np.concatenate([np.zeros(2 * n_teams), [0.25, 0.0]])
    else:
        theta0 = np.concatenate([start.attack, start.defence, [start.home, start.rho]])
    bounds = [(None, None)] * (2 * n_teams + 1) + [RHO_BOUNDS]
    result = minimize(
        _objective,
        theta0,
        args=(n_teams, home, away, x, y, w),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
    )
    theta = result.x
    return DixonColes(
        attack=theta[:n_teams].copy(),
        defence=theta[n_teams : 2 * n_teams].copy(),
        home=float(theta[2 * n_teams]),
        rho=float(theta[2 * n_teams + 1]),
    )
