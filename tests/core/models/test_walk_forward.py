"""Walk-forward refits: blocks, what each fit may see, and the leakage test."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lakehouse.models.walk_forward import (
    History,
    Predictions,
    WalkForward,
    blocks,
    dixon_coles,
    elo_ordered_logit,
)

Model = Callable[[History, WalkForward], Predictions]


def history(seasons: int = 2, teams: int = 8, seed: int = 5) -> History:
    """A league of double round robins, one round a week, with goals from fixed strengths."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 0.3, teams)
    names = [f"team-{k}" for k in range(teams)]
    rows = []
    day = np.datetime64("2020-08-01")
    for _ in range(seasons):
        pairs = [(h, a) for h in range(teams) for a in range(teams) if h != a]
        rng.shuffle(pairs)
        for r in range(0, len(pairs), teams // 2):
            for h, a in pairs[r : r + teams // 2]:
                rows.append(
                    (
                        day,
                        h,
                        a,
                        rng.poisson(np.exp(0.3 + strength[h] - strength[a])),
                        rng.poisson(np.exp(strength[a] - strength[h])),
                    )
                )
            day += np.timedelta64(7, "D")
    return History(
        match_id=[f"m{k}" for k in range(len(rows))],
        league=["XX"] * len(rows),
        date=np.array([r[0] for r in rows], dtype="datetime64[D]"),
        home_team=[names[r[1]] for r in rows],
        away_team=[names[r[2]] for r in rows],
        home_goals=np.array([r[3] for r in rows]),
        away_goals=np.array([r[4] for r in rows]),
        elo_diff=np.array([400 * (strength[r[1]] - strength[r[2]]) + 60 + rng.normal(0, 30) for r in rows]),
    )


def test_blocks_cover_every_match_once_in_date_order() -> None:
    dates = np.array(
        ["2024-01-03", "2024-01-01", "2024-01-08", "2024-01-07", "2024-01-20"], dtype="datetime64[D]"
    )
    got = [(str(day), sorted(idx.tolist())) for day, idx in blocks(dates, 7)]
    assert got == [("2024-01-01", [0, 1, 3]), ("2024-01-08", [2]), ("2024-01-20", [4])]


PLAN = WalkForward(refit_days=7, window_days=400, min_train_matches=40, min_team_matches=4)


@pytest.mark.parametrize("model", [elo_ordered_logit, dixon_coles])
def test_each_prediction_comes_from_a_fit_on_earlier_days(model: Model) -> None:
    h = history()
    out = model(h, PLAN)
    assert len(out.match_id) > 0.6 * len(h)  # the first weeks have too little history
    where = {m: i for i, m in enumerate(h.match_id)}
    for m, fit_day, trained in zip(out.match_id, out.fit_date, out.training_matches, strict=True):
        day = h.date[where[m]]
        assert fit_day <= day < fit_day + np.timedelta64(7, "D")
        earlier = (h.date < fit_day) & (h.date >= fit_day - np.timedelta64(400, "D"))
        assert trained == int(earlier.sum())
    assert np.allclose(out.probabilities.sum(axis=1), 1.0)


@pytest.mark.parametrize("model", [elo_ordered_logit, dixon_coles])
def test_no_leakage_rewriting_the_future_moves_no_earlier_prediction(model: Model) -> None:
    """Scramble every result (and Elo) from a day on: no prediction fitted before it may change."""
    h = history(seasons=3)
    cut = h.date[2 * len(h) // 3]
    before = model(h, PLAN)
    future = h.date >= cut
    rng = np.random.default_rng(99)
    h.home_goals = np.where(future, rng.poisson(3.0, len(h)), h.home_goals)
    h.away_goals = np.where(future, rng.poisson(0.2, len(h)), h.away_goals)
    h.elo_diff = np.where(future & (h.date > cut), rng.normal(0, 500, len(h)), h.elo_diff)
    after = model(h, PLAN)
    kept = [k for k, day in enumerate(before.fit_date) if day <= cut]
    assert len(kept) > 50
    for k in kept:
        assert after.match_id[k] == before.match_id[k]
        assert after.probabilities[k].tolist() == before.probabilities[k].tolist()  # bit for bit
    changed = [k for k, day in enumerate(before.fit_date) if day > cut]
    assert any(not np.array_equal(after.probabilities[k], before.probabilities[k]) for k in changed)


def test_the_ordered_logit_learns_that_a_higher_rating_wins_more() -> None:
    out = elo_ordered_logit(history(seasons=3), PLAN)
    h = history(seasons=3)
    x = h.elo_diff[[h.match_id.index(m) for m in out.match_id]]
    p = out.probabilities
    strong, weak = x > 100, x < -100
    assert p[strong, 0].mean() > 0.55 > p[weak, 0].mean()


def test_walk_forward_runs_are_deterministic() -> None:
    h = history()
    for model in (elo_ordered_logit, dixon_coles):
        a, b = model(h, PLAN), model(h, PLAN)
        assert a.match_id == b.match_id and np.array_equal(a.probabilities, b.probabilities)
