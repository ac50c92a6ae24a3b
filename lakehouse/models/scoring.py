"""Grading 1X2 probabilities against results: Brier score and log-loss, per match and mean."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

OUTCOMES = ("home", "draw", "away")
"""The h2h selections in the column order every probability array here uses."""

Floats = npt.NDArray[np.float64]


def outcome_index(selections: list[str]) -> npt.NDArray[np.int64]:
    """``home``/``draw``/``away`` -> 0/1/2 (an unknown selection fails, naming it)."""
    index = {s: i for i, s in enumerate(OUTCOMES)}
    try:
        return np.array([index[s] for s in selections], dtype=np.int64)
    except KeyError as e:
        raise ValueError(f"unknown h2h selection {e.args[0]!r}; expected one of {OUTCOMES}") from None


def _check(probabilities: Floats, outcomes: npt.NDArray[np.int64]) -> None:
    if probabilities.ndim != 2 or probabilities.shape[1] != len(OUTCOMES):
        raise ValueError(f"probabilities must be n x {len(OUTCOMES)}, got {probabilities.shape}")
    if len(outcomes) != len(probabilities):
        raise ValueError(f"{len(outcomes)} outcomes for {len(probabilities)} probability rows")


def brier_scores(probabilities: Floats, outcomes: npt.NDArray[np.int64]) -> Floats:
    """Per match: the sum over the three outcomes of (p - observed)^2 (0 perfect, 2 worst)."""
    _check(probabilities, outcomes)
    observed = np.zeros_like(probabilities)
    observed[np.arange(len(outcomes)), outcomes] = 1.0
    return np.asarray(((probabilities - observed) ** 2).sum(axis=1), dtype=np.float64)


def log_losses(probabilities: Floats, outcomes: npt.NDArray[np.int64]) -> Floats:
    """Per match: minus the natural log of the probability given to what happened."""
    _check(probabilities, outcomes)
    return np.asarray(-np.log(probabilities[np.arange(len(outcomes)), outcomes]), dtype=np.float64)


def brier_score(probabilities: Floats, outcomes: npt.NDArray[np.int64]) -> float:
    return float(brier_scores(probabilities, outcomes).mean())


def log_loss(probabilities: Floats, outcomes: npt.NDArray[np.int64]) -> float:
    return float(log_losses(probabilities, outcomes).mean())
