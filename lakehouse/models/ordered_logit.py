"""Ordered logit: one rating difference -> P(away), P(draw), P(home), fitted by maximum likelihood.

Why this mapping: a higher home rating should move probability monotonically from away wins
through draws to home wins, and the draw rate (which Elo alone does not give) is learnt from the
data as the gap between two cut points.  ``x`` is the pre-match Elo difference (home advantage
included) in units of 100 rating points; the fit is weighted so that time decay can be applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from lakehouse.models.scoring import Floats

AWAY, DRAW, HOME = 0, 1, 2
"""The latent order of the outcomes (the columns of ``probabilities`` are home, draw, away)."""


@dataclass(frozen=True, slots=True)
class OrderedLogit:
    beta: float
    cut_away: float  # P(away) = sigmoid(cut_away - beta * x)
    cut_draw: float  # P(away or draw) = sigmoid(cut_draw - beta * x); cut_draw > cut_away

    def probabilities(self, x: Floats) -> Floats:
        """Rows of (home, draw, away) probabilities for rating differences ``x``."""
        x = np.asarray(x, dtype=np.float64)
        away = expit(self.cut_away - self.beta * x)
        not_home = expit(self.cut_draw - self.beta * x)
        return np.column_stack([1.0 - not_home, not_home - away, away])


def _negative_log_likelihood(
    theta: Floats, x: Floats, y: npt.NDArray[np.int64], w: Floats
) -> tuple[float, Floats]:
    beta, cut_away, log_gap = theta
    gap = np.exp(log_gap)
    a = cut_away - beta * x
    b = a + gap
    fa, fb = expit(a), expit(b)
    tiny = 1e-300
    like = np.where(y == AWAY, fa, np.where(y == DRAW, fb - fa, 1.0 - fb))
    like = np.maximum(like, tiny)
    # d log L / d a and d log L / d b, per outcome
    ga = np.where(y == AWAY, 1.0 - fa, np.where(y == DRAW, -fa * (1.0 - fa) / like, 0.0))
    gb = np.where(y == DRAW, fb * (1.0 - fb) / like, np.where(y == HOME, -fb, 0.0))
    value = -float(np.sum(w * np.log(like)))
    grad = -np.array(
        [np.sum(w * -x * (ga + gb)), np.sum(w * (ga + gb)), np.sum(w * gb) * gap], dtype=np.float64
    )
    return value, grad


def fit_ordered_logit(
    x: Floats,
    outcomes: npt.NDArray[np.int64],
    weights: Floats | None = None,
    start: OrderedLogit | None = None,
) -> OrderedLogit:
    """Maximum-likelihood fit on rating differences and outcomes (0 home, 1 draw, 2 away).

    ``start`` (a previous fit) warm-starts a walk-forward refit.  Fails on fewer than one match
    of each outcome, where the cut points are not identified.
    """
    x = np.asarray(x, dtype=np.float64)
    latent = 2 - np.asarray(outcomes, dtype=np.int64)  # home 0 -> 2, away 2 -> 0
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    seen = set(latent[w > 0].tolist())
    if seen != {AWAY, DRAW, HOME}:
        raise ValueError(f"an ordered logit needs home wins, draws and away wins; got {sorted(seen)}")
    if start is None:
        theta0 = np.array([0.3, -0.9, np.log(1.1)])
    else:
        theta0 = np.array([start.beta, start.cut_away, np.log(start.cut_draw - start.cut_away)])
    result = minimize(_negative_log_likelihood, theta0, args=(x, latent, w), jac=True, method="L-BFGS-B")
    beta, cut_away, log_gap = result.x
    return OrderedLogit(float(beta), float(cut_away), float(cut_away + np.exp(log_gap)))
