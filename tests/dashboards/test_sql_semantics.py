"""Every panel's rendered SQL, run on DuckDB tables shaped like the Druid datasources.

DuckDB checks the queries' logic (grouping, latest-by, filters, the time range) against realistic
records, and that each checked panel returns exactly what ``dashboards.checked`` computes from the
same records.  Druid's own parsing of each query is the serving layer's Druid test; the dialect
differences bridged here are five function shims (see conftest).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from dashboards.build import JSON_DIR
from dashboards.queries import ALL, iter_panel_queries, iter_variable_queries, load, panel_query
from tests.support.dashboard_checks import CHECKS, open_arbitrages

DASHBOARDS = sorted(p.stem for p in JSON_DIR.glob("*.json"))
GAME = "2024-03-30:newcastle-united:west-ham-united"
ALWAYS_NULL_OK = {"point"}  # h2h has no line; every captured market is h2h


def dashboard(uid: str) -> dict[str, Any]:
    return dict(load(JSON_DIR / f"{uid}.json"))


def same_rows(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """Equal as multisets of rows (Druid and DuckDB order nulls differently), floats to 1e-9."""

    def key(row: dict[str, Any]) -> tuple:
        return tuple(
            (k, v is None, round(v, 6) if isinstance(v, float) else v or 0) for k, v in sorted(row.items())
        )

    def close(a: Any, b: Any) -> bool:
        if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return a == b

    if len(got) != len(expected) or any(set(g) != set(e) for g, e in zip(got, expected, strict=True)):
        return False
    return all(
        close(g[k], e[k])
        for g, e in zip(sorted(got, key=key), sorted(expected, key=key), strict=True)
        for k in g
    )


@pytest.mark.parametrize("uid", DASHBOARDS)
def test_every_panel_query_runs_and_returns_rows(uid, druid_sql, time_range) -> None:
    queries = list(iter_panel_queries(dashboard(uid), *time_range, {"game": GAME}))
    assert queries
    for q in queries:
        rows = druid_sql(q.sql)
        assert rows, f"{q.panel_title}: no rows"
        for column in set(rows[0]) - ALWAYS_NULL_OK:
            assert any(r[column] is not None for r in rows), f"{q.panel_title}: {column} is always null"


@pytest.mark.parametrize("uid", DASHBOARDS)
def test_every_variable_query_runs_and_returns_rows(uid, druid_sql, time_range) -> None:
    for q in iter_variable_queries(dashboard(uid), *time_range):
        values = [next(iter(r.values())) for r in druid_sql(q.sql)]
        assert values and None not in values, q.name
        assert values == sorted(set(values)), f"{q.name}: options must be distinct and sorted"


def test_variables_follow_the_data(druid_sql, time_range) -> None:
    board = dashboard("live_odds_board")
    by_name = {q.name: q for q in iter_variable_queries(board, *time_range, {"sport": "soccer"})}
    assert [r["sport_group"] for r in druid_sql(by_name["sport"].sql)] == ["americanfootball", "soccer"]
    assert [r["competition"] for r in druid_sql(by_name["competition"].sql)] == ["soccer_epl"]
    books = [r["bookmaker"] for r in druid_sql(by_name["bookmaker"].sql)]
    assert len(books) == 17 and "pinnacle" in books and "draftkings" not in books  # an NFL-only book


VARIABLE_SETS = [
    {},
    {"sport": "soccer"},
    {"sport": "americanfootball", "competition": ALL},
    {"competition": ["soccer_epl"], "bookmaker": ["pinnacle", "betfair_ex_eu", "sport888"]},
    {"bookmaker": ["matchbook"], "market": "h2h"},
    {"component": ["producer:espn"]},
]


@pytest.mark.parametrize("uid", sorted(CHECKS))
@pytest.mark.parametrize("chosen", VARIABLE_SETS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "all")
def test_checked_panel_matches_the_reference(uid, chosen, druid_sql, records, time_range) -> None:
    check = CHECKS[uid]
    board = dashboard(uid)
    defined = {v["name"] for v in board["templating"]["list"]}
    values = {k: v for k, v in chosen.items() if k in defined} | ({"game": GAME} if "game" in defined else {})
    query = panel_query(board, check.panel_title, *time_range, values)
    expected = check.expected(records[check.aggregate.name], *time_range, values)
    got = druid_sql(query.sql)
    assert same_rows(got, expected), f"{check.panel_title} with {values}:\n got {got}\n expected {expected}"


def test_reference_values_on_known_records(records, time_range) -> None:
    """The checked panels' expectations on the fixture records, worked out by hand."""
    arbs = records["arbitrage_opportunities"]
    # open: a, c and e; actionable by their latest rows: a (stale before) and c, not e (suspect now)
    assert open_arbitrages(arbs, *time_range) == [{"open_arbitrages": 3}]
    assert CHECKS["arbitrage_radar"].expected(arbs, *time_range, None) == [{"actionable": 2}]
    assert CHECKS["arbitrage_radar"].expected(arbs, *time_range, {"sport": "soccer"}) == [{"actionable": 1}]

    steam = CHECKS["line_movement_steam"].expected(records["steam_moves"], *time_range, {"sport": "soccer"})
    assert steam == [
        {"direction": "drifting", "moves": 1, "mean_move_pct": 2.5, "max_books_moved": 3},
        {"direction": "shortening", "moves": 2, "mean_move_pct": pytest.approx(-3.1), "max_books_moved": 6},
    ]

    health = CHECKS["pipeline_health"].expected(records["pipeline_health"], *time_range, None)
    assert health == [
        {
            "component": "producer:espn",
            "source_up": 1,
            "rate_limit_remaining": None,
            "records_per_s": None,
            "freshness_s": 4.2,
            "dead_letters": None,
        },
        {
            "component": "producer:the_odds_api",
            "source_up": 0,
            "rate_limit_remaining": 470,
            "records_per_s": 12.5,
            "freshness_s": None,
            "dead_letters": 5,
        },
    ]

    best = CHECKS["live_odds_board"].expected(records["market_prices_live"], *time_range, None)
    assert len({r["game_id"] for r in best}) == 31  # 30 captured EPL games and the NFL one
    later = (time_range[0], time_range[1] + timedelta(hours=1))
    with_late = CHECKS["live_odds_board"].expected(records["market_prices_live"], *later, None)
    assert 99.0 in {r["best_price"] for r in with_late}  # the update after the range...
    assert 99.0 not in {r["best_price"] for r in best}  # ...does not count within it
    margins = CHECKS["bookmaker_margins"].expected(records["market_agg_1m"], *time_range, None)
    assert all(
        0 < m["mean_margin"] < 0.2 for m in margins if m["bookmaker"] not in {"betfair_ex_eu", "matchbook"}
    )
