"""The backtest on the real history in the warehouse, against an independent recomputation.

The models run walk-forward over every E0 season dbt built; for E0 2023/24 the markets (best
opening price, Pinnacle's close de-vigged), the value bets, their flat profit and closing-line
value, and the Brier score and log-loss are then recomputed here from the raw CSV file with the
csv module alone; one Dixon–Coles prediction is refitted from the CSV files' own matches.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from batch.models import backtest, land, load_history, load_markets
from batch.warehouse import DuckDBTarget
from lakehouse.football_data import classify_columns
from lakehouse.models.dixon_coles import fit_dixon_coles
from lakehouse.models.strategies import Staking
from lakehouse.models.walk_forward import WalkForward
from lakehouse.odds import devig_shin
from lakehouse.teams import football_data_date, game_id, get_registry

pytestmark = pytest.mark.integration

SEASON, CODE = "2023-24", "2324"
PLAN = WalkForward()
STAKING = Staking(min_edge=0.03)
ROOT = Path(__file__).resolve().parents[2]


def rows_of(folder: Path, code: str) -> list[dict[str, str]]:
    with (folder / f"E0_{code}.csv").open(encoding="latin-1", newline="") as fh:
        return [r for r in csv.DictReader(fh) if (r.get("HomeTeam") or "").strip()]


def team(name: str) -> str:
    return get_registry().resolve(name.strip(), source="football_data", sport="soccer").team_id


def match_of(row: dict[str, str], code: str) -> tuple[str, date]:
    day = football_data_date(row["Date"], row.get("Time"), season=code)
    return game_id(day, team(row["HomeTeam"]), team(row["AwayTeam"])), day.date() if isinstance(
        day, datetime
    ) else day


@pytest.fixture(scope="module", params=["duckdb", "fakesnow"])
def warehouse(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Both builds of the marts: the embedded DuckDB and the Snowflake emulator."""
    return request.getfixturevalue("duckdb_marts" if request.param == "duckdb" else "emulator_marts")


@pytest.fixture(scope="module")
def run(warehouse):  # type: ignore[no-untyped-def]
    history, seasons = load_history(warehouse.query, ["E0"])
    markets = load_markets(warehouse.query, history)
    return history, seasons, markets, backtest(history, seasons, markets, PLAN, STAKING)


@pytest.fixture(scope="module")
def season_file(shared_data_dir: Path) -> dict[str, dict[str, object]]:
    """Per match of E0 2023/24, from the file: result, best opening 1X2 price, Pinnacle's close."""
    folder = shared_data_dir / "football-data"
    header = next(csv.reader((folder / f"E0_{CODE}.csv").open(encoding="latin-1")))
    books = [
        c
        for c in classify_columns(header)[0]
        if c.kind == "bookmaker" and c.market == "h2h" and c.phase == "opening"
    ]
    out: dict[str, dict[str, object]] = {}
    for row in rows_of(folder, CODE):
        best = {}
        for s in ("home", "draw", "away"):
            quoted = []
            for c in books:
                if c.selection == s:
                    try:
                        value = float(row[c.column])
                    except (KeyError, ValueError):
                        continue
                    if value > 1:
                        quoted.append(value)
            best[s] = max(quoted) if quoted else math.nan
        close = [float(row[c]) for c in ("PSCH", "PSCD", "PSCA")]
        mid, _ = match_of(row, CODE)
        out[mid] = {
            "result": {"H": 0, "D": 1, "A": 2}[row["FTR"]],
            "best": best,
            "close": devig_shin(close),
        }
    return out


def test_value_bets_and_their_profit_equal_a_recomputation_from_the_file(run, season_file) -> None:  # type: ignore[no-untyped-def]
    _, _, _, result = run
    for model in ("elo_ordered_logit", "dixon_coles"):
        predicted = result.predictions[model]
        expected_bets, profit, clv = 0, 0.0, []
        for mid, p in zip(predicted.match_id, predicted.probabilities, strict=True):
            if mid not in season_file:
                continue
            m = season_file[mid]
            edges = [
                -math.inf if math.isnan(m["best"][s]) else p[k] * m["best"][s] - 1  # type: ignore[index]
                for k, s in enumerate(("home", "draw", "away"))
            ]
            k = max(range(3), key=lambda j: edges[j])
            if edges[k] > 0.03:
                price = m["best"][("home", "draw", "away")[k]]  # type: ignore[index]
                expected_bets += 1
                profit += price - 1 if m["result"] == k else -1
                clv.append(price * m["close"][k] - 1)  # type: ignore[index]
        bets = result.bets[f"{model}_value"]
        mine = [i for i, mid in enumerate(bets.match_id) if mid in season_file]
        assert len(mine) == expected_bets > 50
        got = sum(bets.price[i] - 1 if bets.won[i] else -1.0 for i in mine)
        assert got == pytest.approx(profit, abs=1e-9)
        assert float(np.mean([bets.price[i] * bets.closing_fair[i] - 1 for i in mine])) == pytest.approx(
            float(np.mean(clv)), abs=1e-12
        )


def _e0_opening_arbitrages(folder: Path) -> tuple[set[str], set[str]]:
    """From the CSV files alone, every E0 season with Pinnacle's opening prices (2012/13 on): the
    matches whose best opening 1X2 prices at individual bookmakers sum under 100% implied, split
    into those with no price over 10% above Pinnacle's opening Shin fair line, and the suspect."""
    taken: set[str] = set()
    suspect: set[str] = set()
    for path in sorted(folder.glob("E0_*.csv")):
        code = path.stem.split("_")[1]
        if code < "1213" or code > "9000":  # 2000s files have no Pinnacle line
            continue
        header = next(csv.reader(path.open(encoding="latin-1")))
        books = [c for c in classify_columns(header)[0] if c.kind == "bookmaker" and c.market == "h2h"]
        books = [c for c in books if c.phase == "opening"]
        for row in rows_of(folder, code):
            best = []
            for s in ("home", "draw", "away"):
                quoted = [
                    float(row[c.column]) for c in books if c.selection == s and _number(row[c.column]) > 1
                ]
                best.append(max(quoted) if quoted else math.nan)
            # an exact 100% book (5/11 + 2/7 + 20/77) is no arbitrage, whatever the float sum says
            if any(math.isnan(b) for b in best) or sum(1 / b for b in best) >= 1 - 1e-9:
                continue
            fair = devig_shin([float(row[c]) for c in ("PSH", "PSD", "PSA")])
            mid, _ = match_of(row, code)
            (suspect if any(b * f - 1 > 0.10 for b, f in zip(best, fair, strict=True)) else taken).add(mid)
    return taken, suspect


def test_the_arbitrages_taken_are_the_files_not_suspect_ones(run, shared_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Best opening prices under 100% implied and none over 10% above Pinnacle's opening fair line
    are taken; the others are suspect."""
    _, _, _, result = run
    taken, suspect = _e0_opening_arbitrages(shared_data_dir / "football-data")
    since = {mid for mid in result.bets["arbitrage"].match_id if mid >= "2012-08"}
    assert since == taken
    assert len(taken) > 5 and len(suspect) > 5
    assert result.arbitrages["suspect"] >= len(suspect)


def test_the_arbitrage_mart_judges_by_the_same_rules(warehouse, shared_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """mart_arbitrage_history's assessment (the SQL twin of lakehouse.trading's suspect rule)
    equals the recomputation from the files, and the backtest's verdicts."""
    taken, suspect = _e0_opening_arbitrages(shared_data_dir / "football-data")
    rows = warehouse.query(
        "select match_id, assessment, suspect_selections, consensus_bookmaker "
        "from marts.mart_arbitrage_history "
        "where league = 'E0' and market = 'h2h' and phase = 'opening' and season >= '2012-13'"
    )
    got = {r[0]: r[1] for r in rows}
    assert {m for m, a in got.items() if a == "actionable"} == taken
    assert {m for m, a in got.items() if a == "suspect"} == suspect
    assert all(r[3] == "pinnacle" for r in rows)
    assert all((r[2] is None) == (r[1] == "actionable") for r in rows)
    # the rule holds on every phase, league and market: suspect exactly when a selection is named
    anywhere = warehouse.query(
        "select assessment, count(*), count(suspect_selections) from marts.mart_arbitrage_history group by 1"
    )
    counts = {r[0]: (r[1], r[2]) for r in anywhere}
    assert set(counts) == {"actionable", "suspect"}
    assert counts["suspect"][0] == counts["suspect"][1] > 0 and counts["actionable"][1] == 0


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


def test_scores_equal_a_recomputation_from_the_file(run, season_file) -> None:  # type: ignore[no-untyped-def]
    _, _, _, result = run
    scores = {s.model: s for s in result.scores if s.season == SEASON}
    common = set(season_file)
    for model in ("elo_ordered_logit", "dixon_coles"):
        common &= set(result.predictions[model].match_id)
    assert scores["pinnacle_closing"].matches == len(common) > 300
    for model in ("elo_ordered_logit", "dixon_coles", "pinnacle_closing"):
        brier = log_loss = 0.0
        if model == "pinnacle_closing":
            given = {mid: season_file[mid]["close"] for mid in common}
        else:
            p = result.predictions[model]
            given = {mid: p.probabilities[i] for i, mid in enumerate(p.match_id) if mid in common}
        for mid, probs in given.items():
            y = season_file[mid]["result"]
            brier += sum((probs[k] - (k == y)) ** 2 for k in range(3))  # type: ignore[index]
            log_loss -= math.log(probs[y])  # type: ignore[index]
        assert scores[model].brier == pytest.approx(brier / len(common), abs=1e-12)
        assert scores[model].log_loss == pytest.approx(log_loss / len(common), abs=1e-12)
    # the sharp market is the better forecaster here; both models beat the uniform 2/3
    assert scores["pinnacle_closing"].brier < min(
        scores["dixon_coles"].brier, scores["elo_ordered_logit"].brier
    )
    assert max(scores["dixon_coles"].brier, scores["elo_ordered_logit"].brier) < 2 / 3


def test_a_dixon_coles_prediction_is_a_fit_on_the_files_earlier_matches(run, shared_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The warehouse's training set, rebuilt from the CSV files: matches in the 730 days before
    the fit day, weighted by age; the same fit gives the same prediction."""
    _, _, _, result = run
    predicted = result.predictions["dixon_coles"]
    k = max(i for i, fit_day in enumerate(predicted.fit_date) if str(fit_day) < "2024-03-01")
    fit_day = predicted.fit_date[k].astype("datetime64[D]").item()
    played = []
    folder = shared_data_dir / "football-data"
    for code in ("2122", "2223", "2324"):
        for row in rows_of(folder, code):
            _, day = match_of(row, code)
            age = (fit_day - day).days
            if 0 < age <= PLAN.window_days:
                played.append(
                    (team(row["HomeTeam"]), team(row["AwayTeam"]), int(row["FTHG"]), int(row["FTAG"]), age)
                )
    assert len(played) == predicted.training_matches[k]
    teams = {t: i for i, t in enumerate(sorted({p[0] for p in played} | {p[1] for p in played}))}
    fit = fit_dixon_coles(
        np.array([teams[p[0]] for p in played]),
        np.array([teams[p[1]] for p in played]),
        np.array([p[2] for p in played]),
        np.array([p[3] for p in played]),
        len(teams),
        np.exp(-PLAN.xi * np.array([p[4] for p in played])),
    )
    _, home, away = predicted.match_id[k].split(":")
    expected = fit.probabilities(np.array([teams[home]]), np.array([teams[away]]))[0]
    assert predicted.probabilities[k].tolist() == pytest.approx(expected.tolist(), abs=1e-6)


def test_the_elo_difference_is_the_marts_rating_gap_with_home_advantage(run, warehouse) -> None:  # type: ignore[no-untyped-def]
    history, _, _, _ = run
    rows = warehouse.query(
        "select match_id, elo_pre - opponent_elo_pre from marts.mart_team_elo "
        f"where league = 'E0' and season = '{SEASON}' and is_home"
    )
    where = {m: i for i, m in enumerate(history.match_id)}
    assert len(rows) == 380
    for mid, gap in rows:
        assert history.elo_diff[where[mid]] == pytest.approx(gap + 60, abs=1e-6)  # dbt var elo_home_advantage


def test_the_backtest_is_deterministic(run) -> None:  # type: ignore[no-untyped-def]
    history, seasons, markets, first = run
    again = backtest(history, seasons, markets, PLAN, STAKING)
    assert again.results == first.results
    assert again.scores == first.scores


def test_results_land_in_the_warehouse_and_the_command_prints_them(duckdb_marts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(duckdb_marts.warehouse, copy)
    env = {
        **os.environ,
        "LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(copy),
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
    }
    chart = tmp_path / "bankroll.png"
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "backtest", "--league", "E0", "--chart", str(chart)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sharp_vs_soft_value" in done.stdout and "pinnacle_closing" in done.stdout
    assert "iceberg: models.model_predictions" in done.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = DuckDBTarget(copy)
    try:
        counts = dict(target.query("select model, count(*) from raw.model_predictions group by model"))
        assert counts["dixon_coles"] > 5000 and counts["elo_ordered_logit"] > 5000
        assert target.query("select count(*) from raw.backtest_results")[0][0] == 8
        # landing again replaces, never appends
        history, seasons = load_history(target.query, ["E0"])
        rerun = backtest(history, seasons, load_markets(target.query, history), PLAN, STAKING)
        land(target, rerun)
        assert (
            dict(target.query("select model, count(*) from raw.model_predictions group by model")) == counts
        )
        placed = dict(target.query("select strategy, count(*) from raw.backtest_bets group by strategy"))
        assert placed == {name: len(bets) for name, bets in rerun.bets.items() if len(bets)}
        dixon = rerun.bets["dixon_coles_value"]
        (profit, unclosed), *_ = target.query(
            "select sum(case when won then price - 1 else -1 end), "
            "count(*) - count(closing_fair_probability) "
            "from raw.backtest_bets where strategy = 'dixon_coles_value'"
        )
        flat = next(r for r in rerun.results if r.strategy == "dixon_coles_value" and r.staking == "flat")
        assert profit == pytest.approx(flat.profit, abs=1e-6)
        assert unclosed == int(np.isnan(dixon.closing_fair).sum())
    finally:
        target.close()


def test_a_warehouse_without_marts_gets_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(tmp_path / "empty.duckdb")}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "backtest"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "run `lakehouse batch backfill` and `dbt build` first" in done.stderr


def test_the_model_marts_hold_what_the_models_landed(duckdb_marts, dbt_runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Empty in the nightly build (nothing landed yet); after a landing, `dbt build --select
    tag:models` fills them with the same figures the backtest computed."""
    assert duckdb_marts.query("select count(*) from marts.mart_model_predictions") == [(0,)]
    assert duckdb_marts.query("select count(*) from marts.mart_backtest_results") == [(0,)]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(duckdb_marts.warehouse, copy)
    target = DuckDBTarget(copy)
    try:
        history, seasons = load_history(target.query, ["E0"])
        run = backtest(history, seasons, load_markets(target.query, history), PLAN, STAKING)
        land(target, run)
    finally:
        target.close()
    built = dbt_runner(
        ["build", "--target", "duckdb", "--select", "tag:models"],
        tmp_path,
        {"LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(copy)},
        600,
    )
    assert built.returncode == 0 and not built.failed(), built.output[-3000:]
    import duckdb

    with duckdb.connect(str(copy), read_only=True) as con:
        results = {
            (strategy, staking): (bets, profit)
            for strategy, staking, bets, profit in con.execute(
                "select strategy, staking, bets, profit from marts.mart_backtest_results"
            ).fetchall()
        }
        assert results == {
            (r.strategy, r.staking): (r.bets, pytest.approx(r.profit, abs=1e-9)) for r in run.results
        }
        scores = con.execute(
            "select brier_score from marts.mart_model_scores "
            f"where league = 'E0' and season = '{SEASON}' and model_name = 'dixon_coles'"
        ).fetchall()
        expected = next(s for s in run.scores if s.season == SEASON and s.model == "dixon_coles")
        assert scores == [(pytest.approx(expected.brier, abs=1e-12),)]
        predicted = con.execute(
            "select count(*), count(pinnacle_close_home) from marts.mart_model_predictions "
            "where model_name = 'dixon_coles'"
        ).fetchone()
        assert predicted is not None and predicted[0] == len(run.predictions["dixon_coles"].match_id)
        clv = con.execute(
            "select avg(closing_line_value) from marts.mart_bet_candidates "
            "where strategy = 'dixon_coles_value'"
        ).fetchone()
        flat = next(r for r in run.results if r.strategy == "dixon_coles_value" and r.staking == "flat")
        assert clv is not None and clv[0] == pytest.approx(flat.clv, abs=1e-12)
