"""Walk-forward refits: every prediction comes from a fit on matches played before its day.

Matches are cut, per league, into blocks of ``refit_days``; the block starting on day F is
predicted by a fit on the league's matches dated before F (within ``window_days``, weighted by
``exp(-xi * age in days)``), each fit from a cold start: a warm start from last week's fit
carried a diverged promoted side's strengths into later fits (home wins at 0.9999), and a
cold start makes each prediction depend on its training matches alone.  Nothing dated F or
later, so no result or closing price of a predicted match or of its block, reaches the fit:
the leakage test checks exactly this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lakehouse.models.dixon_coles import fit_dixon_coles
from lakehouse.models.ordered_logit import fit_ordered_logit
from lakehouse.models.scoring import Floats

MODELS = ("elo_ordered_logit", "dixon_coles")
Progress = Callable[[str, str], None]
"""Called with (model, league) after each league is done: progress for long runs."""


@dataclass(frozen=True, slots=True)
class WalkForward:
    """How often and on what the models are refitted (defaults: weekly, two years, ~1-year half-life)."""

    refit_days: int = 7
    window_days: int = 730
    xi: float = 0.0019  # per day: a match a year old weighs exp(-0.0019 * 365) ≈ 0.5
    min_train_matches: int = 150
    min_team_matches: int = 6  # a team with fewer in the window (e.g. promoted) is not predicted


@dataclass
class History:
    """Played matches, column-wise: what the models learn from and predict."""

    match_id: list[str]
    league: list[str]
    date: npt.NDArray[np.datetime64]  # datetime64[D]
    home_team: list[str]
    away_team: list[str]
    home_goals: npt.NDArray[np.int64]
    away_goals: npt.NDArray[np.int64]
    elo_diff: Floats  # pre-match home - away Elo, home advantage included, in rating points

    def __len__(self) -> int:
        return len(self.match_id)

    @property
    def outcomes(self) -> npt.NDArray[np.int64]:
        """0 home win, 1 draw, 2 away win (``scoring.OUTCOMES`` order)."""
        return np.where(
            self.home_goals > self.away_goals, 0, np.where(self.home_goals == self.away_goals, 1, 2)
        )


@dataclass
class Predictions:
    """One row per predicted match: which model, fitted on which day, with what probabilities."""

    model: str
    match_id: list[str] = field(default_factory=list)
    fit_date: list[np.datetime64] = field(default_factory=list)
    training_matches: list[int] = field(default_factory=list)
    rows: list[Floats] = field(default_factory=list)

    @property
    def probabilities(self) -> Floats:
        return np.vstack(self.rows) if self.rows else np.empty((0, 3))

    def add(self, ids: list[str], fit_date: np.datetime64, trained_on: int, probabilities: Floats) -> None:
        self.match_id.extend(ids)
        self.fit_date.extend([fit_date] * len(ids))
        self.training_matches.extend([trained_on] * len(ids))
        self.rows.extend(probabilities)


def blocks(
    dates: npt.NDArray[np.datetime64], refit_days: int
) -> Iterator[tuple[np.datetime64, npt.NDArray[np.intp]]]:
    """``(fit day, indices)`` per block of ``refit_days`` starting at a match day, in date order."""
    order = np.argsort(dates, kind="stable")
    sorted_dates = dates[order]
    i = 0
    step = np.timedelta64(refit_days, "D")
    while i < len(order):
        start = sorted_dates[i]
        j = int(np.searchsorted(sorted_dates, start + step, side="left"))
        yield start, order[i:j]
        i = j


def _training(
    history: History, league_rows: npt.NDArray[np.intp], fit_day: np.datetime64, plan: WalkForward
) -> tuple[npt.NDArray[np.intp], Floats]:
    dates = history.date[league_rows]
    age = (fit_day - dates).astype("timedelta64[D]").astype(np.int64)
    keep = (age > 0) & (age <= plan.window_days)
    return league_rows[keep], np.exp(-plan.xi * age[keep])


def _leagues(history: History) -> dict[str, npt.NDArray[np.intp]]:
    leagues: dict[str, list[int]] = {}
    for i, league in enumerate(history.league):
        leagues.setdefault(league, []).append(i)
    return {league: np.array(rows, dtype=np.intp) for league, rows in leagues.items()}


def elo_ordered_logit(
    history: History, plan: WalkForward = WalkForward(), progress: Progress | None = None
) -> Predictions:
    """Elo difference -> 1X2 by an ordered logit refitted walk-forward, per league."""
    out = Predictions("elo_ordered_logit")
    outcomes = history.outcomes
    x = history.elo_diff / 100.0
    for league, rows in _leagues(history).items():
        for day, block in blocks(history.date[rows], plan.refit_days):
            train, weights = _training(history, rows, day, plan)
            if len(train) < plan.min_train_matches or len(set(outcomes[train].tolist())) < 3:
                continue
            fit = fit_ordered_logit(x[train], outcomes[train], weights)
            predicted = rows[block]
            out.add(
                [history.match_id[i] for i in predicted], day, len(train), fit.probabilities(x[predicted])
            )
        if progress:
            progress(out.model, league)
    return out


def dixon_coles(
    history: History, plan: WalkForward = WalkForward(), progress: Progress | None = None
) -> Predictions:
    """Time-decayed Dixon–Coles refitted walk-forward, per league, for teams it has seen enough of."""
    out = Predictions("dixon_coles")
    for league, rows in _leagues(history).items():
        for day, block in blocks(history.date[rows], plan.refit_days):
            train, weights = _training(history, rows, day, plan)
            if len(train) < plan.min_train_matches:
                continue
            homes = [history.home_team[i] for i in train]
            aways = [history.away_team[i] for i in train]
            teams = {t: k for k, t in enumerate(sorted(set(homes) | set(aways)))}
            played = np.bincount([teams[t] for t in homes + aways], minlength=len(teams))
            fit = fit_dixon_coles(
                np.array([teams[t] for t in homes]),
                np.array([teams[t] for t in aways]),
                history.home_goals[train],
                history.away_goals[train],
                len(teams),
                weights,
            )
            rated = {t for t, k in teams.items() if played[k] >= plan.min_team_matches}
            predicted = [
                i
                for i in rows[block].tolist()
                if history.home_team[i] in rated and history.away_team[i] in rated
            ]
            if predicted:
                home = np.array([teams[history.home_team[i]] for i in predicted])
                away = np.array([teams[history.away_team[i]] for i in predicted])
                out.add(
                    [history.match_id[i] for i in predicted], day, len(train), fit.probabilities(home, away)
                )
        if progress:
            progress(out.model, league)
    return out
