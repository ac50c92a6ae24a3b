"""Mart values against an independent recomputation from the raw CSV files.

Each expected value is computed here with the csv module and the shared odds math
(lakehouse/odds.py), never from the warehouse, and every test runs on both builds: the embedded
DuckDB target and the Snowflake emulator, full history on each.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest

from lakehouse.football_data import classify_columns, handicap_line
from lakehouse.odds import (
    arbitrage,
    best_prices,
    closing_line_value,
    devig_multiplicative,
    devig_shin,
    overround,
)
from lakehouse.teams import football_data_date, game_id, get_registry

pytestmark = pytest.mark.integration

MATCH = "2023-08-11:burnley:manchester-city"  # the opening match of E0 2023/24
SELECTIONS = {"h2h": ("home", "draw", "away"), "totals": ("over", "under"), "spreads": ("home", "away")}


def season_rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="latin-1", newline="") as fh:
        return [row for row in csv.DictReader(fh) if (row.get("HomeTeam") or "").strip()]


def prices(row: dict[str, str], columns: list[str]) -> list[float] | None:
    """The prices of a complete market, or None when a cell is empty, not a number or not > 1."""
    try:
        values = [float(row[c]) for c in columns]
    except (KeyError, TypeError, ValueError):
        return None
    return values if all(v > 1 for v in values) else None


def match_id(row: dict[str, str], season_code: str) -> str:
    registry = get_registry()
    day = football_data_date(row["Date"], row.get("Time"), season=season_code)
    home = registry.resolve(row["HomeTeam"].strip(), source="football_data", sport="soccer").team_id
    away = registry.resolve(row["AwayTeam"].strip(), source="football_data", sport="soccer").team_id
    return game_id(day, home, away)


@pytest.fixture(scope="module")
def football_data(shared_data_dir: Path) -> Path:
    return shared_data_dir / "football-data"


@pytest.fixture(scope="module")
def opening_match(football_data: Path) -> dict[str, str]:
    rows = [r for r in season_rows(football_data, "E0_2324.csv") if match_id(r, "2324") == MATCH]
    assert len(rows) == 1
    return rows[0]


def test_bet365_mean_1x2_overround_e0_2023_24(marts, football_data: Path) -> None:
    books = [
        overround(p)
        for row in season_rows(football_data, "E0_2324.csv")
        if (p := prices(row, ["B365H", "B365D", "B365A"]))
    ]
    expected = sum(books) / len(books)
    (priced, mean), *others = marts.query(
        "select markets_priced, mean_overround from marts.mart_bookmaker_margin "
        "where bookmaker = 'bet365' and league = 'E0' and season = '2023-24' "
        "and market = 'h2h' and phase = 'opening'"
    )
    assert others == []
    assert priced == len(books) == 380
    assert mean == pytest.approx(expected, abs=1e-12)
    assert 1.05 < mean < 1.06  # Bet365's Premier League 1X2 book: 5.4% margin


@pytest.mark.parametrize(
    ("source", "phase", "columns"),
    [
        ("pinnacle", "closing", ["PSCH", "PSCD", "PSCA"]),
        ("pinnacle", "opening", ["PSH", "PSD", "PSA"]),
        ("market_average", "opening", ["AvgH", "AvgD", "AvgA"]),
    ],
)
def test_fair_probabilities_of_a_match_equal_devig_shin(
    marts, opening_match: dict[str, str], source: str, phase: str, columns: list[str]
) -> None:
    market = prices(opening_match, columns)
    assert market is not None
    rows = marts.query(
        "select home_price, draw_price, away_price, shin_home, shin_draw, shin_away, "
        "multiplicative_home, multiplicative_draw, multiplicative_away from marts.mart_fair_probabilities "
        f"where match_id = '{MATCH}' and probability_source = '{source}' and phase = '{phase}'"
    )
    assert len(rows) == 1
    got = rows[0]
    assert list(got[:3]) == market
    for value, want in zip(got[3:6], devig_shin(market), strict=True):
        assert value == pytest.approx(want, abs=1e-9)
    for value, want in zip(got[6:], devig_multiplicative(market), strict=True):
        assert value == pytest.approx(want, abs=1e-12)


def test_closing_line_value_of_bet365_opening_price(marts, opening_match: dict[str, str]) -> None:
    close = prices(opening_match, ["PSCH", "PSCD", "PSCA"])
    assert close is not None
    opening, own_close = float(opening_match["B365H"]), float(opening_match["B365CH"])
    expected = closing_line_value(opening, devig_shin(close)[0])
    rows = marts.query(
        "select opening_price, closing_price, price_move, pinnacle_closing_price, closing_line_value, "
        "beat_closing_line from marts.mart_closing_line_value "
        f"where match_id = '{MATCH}' and bookmaker = 'bet365' and market = 'h2h' and selection = 'home'"
    )
    assert rows == [
        (opening, own_close, pytest.approx(own_close / opening - 1, abs=1e-12), close[0],
         pytest.approx(expected, abs=1e-9), expected > 0)
    ]  # fmt: skip


def test_arbitrages_of_a_season_among_listed_bookmakers(marts, football_data: Path) -> None:
    """Every arbitrage of E0 2023/24 (each market, line and phase), found from the file alone."""
    header = next(csv.reader((football_data / "E0_2324.csv").open(encoding="latin-1")))
    columns = [c for c in classify_columns(header)[0] if c.kind == "bookmaker"]
    expected = {}
    for row in season_rows(football_data, "E0_2324.csv"):
        quotes: dict[tuple, list[tuple[str, str, float]]] = {}
        for column in columns:
            price = prices(row, [column.column])
            line = column.fixed_line if column.market == "totals" else handicap_line(row, column)
            if price and (column.market != "spreads" or line is not None):
                key = (column.market, column.phase, line)
                quotes.setdefault(key, []).append((column.bookmaker, column.selection, price[0]))
        for (market, phase, line), book in quotes.items():
            best = best_prices(book)
            if set(best) != set(SELECTIONS[market]):
                continue
            arb = arbitrage({s: best[s] for s in SELECTIONS[market]})
            if arb.inverse_sum < 1 - 1e-9:
                expected[(match_id(row, "2324"), market, phase, line)] = arb
    got = {
        (mid, market, phase, line): (inverse_sum, ret)
        for mid, market, phase, line, inverse_sum, ret in marts.query(
            "select match_id, market, phase, line, inverse_sum, arbitrage_return "
            "from marts.mart_arbitrage_history where league = 'E0' and season = '2023-24'"
        )
    }
    assert set(got) == set(expected)
    assert len(expected) >= 10
    for key, arb in expected.items():
        assert got[key][0] == pytest.approx(arb.inverse_sum, abs=1e-12)
        assert got[key][1] == pytest.approx(arb.guaranteed_return, abs=1e-12)


def test_elo_ratings_of_the_first_season(marts, football_data: Path) -> None:
    """E0 2000/01 opens the history, so a sequential Elo over that file alone is exact for it."""
    rows = sorted(
        (football_data_date(r["Date"], season="0001"), match_id(r, "0001"), r)
        for r in season_rows(football_data, "E0_0001.csv")
    )
    ratings: dict[str, float] = {}
    expected: dict[tuple[str, str], float] = {}
    registry = get_registry()
    for _, mid, row in rows:
        home = registry.resolve(row["HomeTeam"].strip(), source="football_data", sport="soccer").team_id
        away = registry.resolve(row["AwayTeam"].strip(), source="football_data", sport="soccer").team_id
        rh, ra = ratings.get(home, 1500.0), ratings.get(away, 1500.0)
        expected[(mid, home)], expected[(mid, away)] = rh, ra
        e_home = 1 / (1 + 10 ** ((ra - rh - 60) / 400))
        delta = 20 * ({"H": 1.0, "D": 0.5, "A": 0.0}[row["FTR"]] - e_home)
        ratings[home], ratings[away] = rh + delta, ra - delta
    got = {
        (mid, team): pre
        for mid, team, pre in marts.query(
            "select match_id, team_id, elo_pre from marts.mart_team_elo "
            "where league = 'E0' and season = '2000-01'"
        )
    }
    assert set(got) == set(expected)
    assert max(abs(got[k] - v) for k, v in expected.items()) < 1e-6
    # a couple of matches in: Charlton beat Man City 4-0 on the opening day
    charlton = sorted((k for k in expected if k[1] == "charlton-athletic"), key=lambda k: k[0])
    assert got[charlton[0]] == 1500.0
    assert got[charlton[1]] == pytest.approx(1500 + 20 * (1 - 1 / (1 + 10 ** (-60 / 400))), abs=1e-9)


def test_calibration_of_bet365(marts, football_data: Path) -> None:
    """Bet365's opening 1X2 selections over the whole history, bucketed by multiplicative fair
    probability; and its Brier score and log-loss over the same markets."""
    predictions: Counter[int] = Counter()
    wins: Counter[int] = Counter()
    brier, log_loss, markets = 0.0, 0.0, 0
    for path in sorted(football_data.glob("*_*.csv")):
        for row in season_rows(football_data, path.name):
            market = prices(row, ["B365H", "B365D", "B365A"])
            if market is None or row.get("FTR") not in ("H", "D", "A"):
                continue
            markets += 1
            for selection, fair in zip("HDA", devig_multiplicative(market), strict=True):
                won = selection == row["FTR"]
                bucket = min(math.floor(fair / 0.05), 19)
                predictions[bucket] += 1
                wins[bucket] += won
                brier += (fair - won) ** 2
                log_loss -= math.log(fair) if won else 0.0
    rows = marts.query(
        "select bucket_index, predictions, wins, bookmaker_markets_scored, bookmaker_brier_score, "
        "bookmaker_log_loss from marts.mart_calibration where bookmaker = 'bet365' and phase = 'opening'"
    )
    got = {bucket: (n, w) for bucket, n, w, *_ in rows}
    assert got == {bucket: (predictions[bucket], wins[bucket]) for bucket in predictions}
    assert sum(predictions.values()) > 40_000
    assert {row[3] for row in rows} == {markets}
    for row in rows:
        assert row[4] == pytest.approx(brier / markets, abs=1e-12)
        assert row[5] == pytest.approx(log_loss / markets, abs=1e-12)
