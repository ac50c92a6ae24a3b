"""model_training on a schedule's terms (dag.test): marts in, predictions and results out, again
the same; a warehouse without marts fails the run at once, saying what to run first.

The marts are a simulated league written into a real DuckDB warehouse with the columns the
task reads (the dbt-built history is exercised in tests/dbt/test_backtest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

pytestmark = pytest.mark.integration


def _conf(**given: Any) -> dict[str, Any]:
    return {
        "leagues": [],
        "min_edge": 0.03,
        "kelly": 0.25,
        "kelly_cap": 0.05,
        "refit_days": 7,
        "window_days": 730,
        "half_life_days": 365.0,
    } | given


def write_marts(path: Path, seasons: int = 3, teams: int = 10, seed: int = 1) -> int:
    """A league of double round robins, a round a week, goals from fixed strengths, 3 books."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 0.35, teams)
    day = np.datetime64("2021-08-07")
    matches, elo, odds, fair = [], [], [], []
    for season in range(seasons):
        pairs = [(h, a) for h in range(teams) for a in range(teams) if h != a]
        rng.shuffle(pairs)
        for r in range(0, len(pairs), teams // 2):
            for h, a in pairs[r : r + teams // 2]:
                mid = f"{day}:t{h}:t{a}"
                lam, mu = np.exp(0.3 + strength[h] - strength[a]), np.exp(strength[a] - strength[h])
                goals = int(rng.poisson(lam)), int(rng.poisson(mu))
                result = "home" if goals[0] > goals[1] else "draw" if goals[0] == goals[1] else "away"
                matches.append((mid, "XX", f"20{21 + season}-{22 + season}", str(day), f"t{h}", f"t{a}",
                                *goals, result))  # fmt: skip
                gap = 400 * (strength[h] - strength[a]) + 60
                elo.append((mid, True, 1 / (1 + 10 ** (-gap / 400))))
                p = np.array([0.45 + 0.4 * np.tanh(gap / 400), 0.27, 0.0])
                p[2] = 1 - p[0] - p[1]
                p = np.clip(p, 0.05, None) / np.clip(p, 0.05, None).sum()
                for k, selection in enumerate(("home", "draw", "away")):
                    for book, margin in (("bet365", 1.06), ("pinnacle", 1.03), ("williamhill", 1.07)):
                        price = round(float(1 / (p[k] * margin) * rng.uniform(0.97, 1.03)), 2)
                        odds.append((mid, "h2h", selection, book, "bookmaker", max(price, 1.01)))
                for phase in ("opening", "closing"):
                    fair.append((mid, "pinnacle", phase, *map(float, p)))
            day += np.timedelta64(7, "D")
    tables = {
        "fct_match": ("match_id varchar, league varchar, season varchar, match_date date, "
                      "home_team_id varchar, away_team_id varchar, home_goals integer, away_goals integer, "
                      "result_selection varchar",
                      matches),
        "mart_team_elo": ("match_id varchar, is_home boolean, expected_score double", elo),
        "fct_odds": ("match_id varchar, market varchar, selection varchar, bookmaker varchar, "
                     "bookmaker_kind varchar, opening_price double", odds),
        "mart_fair_probabilities": ("match_id varchar, probability_source varchar, phase varchar, "
                                    "shin_home double, shin_draw double, shin_away double", fair),
    }  # fmt: skip
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for name, (columns, rows) in tables.items():
            con.execute(f"create table marts.{name} ({columns})")
            con.executemany(f"insert into marts.{name} values ({', '.join('?' * len(rows[0]))})", rows)
    return len(matches)


def test_training_lands_its_tables_and_a_rerun_replaces_them(
    dag_bag: Any, results: Any, lakehouse_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE__DUCKDB_PATH", str(warehouse))
    played = write_marts(warehouse)
    dag = dag_bag.get_dag("model_training")

    first = dag.test(run_conf=_conf())
    assert first.state == "success", results.states(first)
    summary = results.xcom(first, "train_models_and_backtest")
    assert results.states(first)["refresh_model_marts"] == ["success"]
    assert summary["matches"] == played == 270
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = dict(
            con.execute("select model, count(*) from raw.model_predictions group by model").fetchall()
        )
        assert counts == summary["predicted"] and min(counts.values()) > 100  # after 150 to learn from
        assert con.execute("select count(*) from raw.backtest_results").fetchone() == (8,)
        assert summary["written"]["model_predictions"] == sum(counts.values())
        bets = con.execute("select count(*) from raw.backtest_bets").fetchone()
        assert bets == (summary["written"]["backtest_bets"],) and bets[0] > 0
        # and dbt refreshed the model marts over them
        marts = dict(
            con.execute(
                "select model_name, count(*) from marts.mart_model_predictions group by model_name"
            ).fetchall()
        )
        assert marts == counts
        assert con.execute("select count(*) from marts.mart_bet_candidates").fetchone() == bets
        assert con.execute("select count(*) from marts.mart_backtest_results").fetchone() == (8,)

    from lakehouse.catalog import load_catalog
    from lakehouse.config import Settings  # the env this test set, not a settings object cached earlier

    lake = load_catalog(Settings()).load_table("models.model_predictions")
    assert lake.scan().to_arrow().num_rows == sum(counts.values())
    assert summary["written"]["models.model_predictions"] == sum(counts.values())

    again = dag.test(run_conf=_conf())
    assert again.state == "success"
    lake = load_catalog(Settings()).load_table("models.model_predictions")
    assert lake.scan().to_arrow().num_rows == sum(counts.values())  # replaced, not appended
    assert len(lake.history()) >= 2  # and the first run's predictions stay in a snapshot
    assert results.xcom(again, "train_models_and_backtest")["results"] == summary["results"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert (
            dict(con.execute("select model, count(*) from raw.model_predictions group by model").fetchall())
            == counts
        )


def test_a_warehouse_without_marts_fails_the_run_without_retrying(
    dag_bag: Any, results: Any, lakehouse_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE__DUCKDB_PATH", str(tmp_path / "empty.duckdb"))
    run = dag_bag.get_dag("model_training").test(run_conf=_conf())
    assert run.state == "failed"
    assert results.states(run)["train_models_and_backtest"] == ["failed"]
