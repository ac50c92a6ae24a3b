"""Aggregate records for the dashboard tests, and DuckDB set up to run the dashboards' Druid SQL.

Records: ``market_prices_live`` and ``market_agg_1m`` come from the real The Odds API capture (30
EPL games, 17 bookmakers) through the live connector's parser and the shared odds math; the
arbitrage, steam and health records are few and hand-written, each there for one rule (a closed
arbitrage, a re-detected move, a source going down).  Every record is validated against its
aggregate schema, as the stream would publish it.

DuckDB stands in for Druid's SQL *semantics* only (same grouping, filters, latest-by, ranges)
through a handful of function shims; whether Druid itself parses and answers each query is the
serving layer's Druid test.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from lakehouse.config import Settings
from lakehouse.odds import devig_shin, overround
from lakehouse.schemas import validate
from lakehouse.schemas.aggregates import (
    ARBITRAGE_OPPORTUNITIES,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    PIPELINE_HEALTH,
    STEAM_MOVES,
    AggregateType,
)
from lakehouse.schemas.fields import BOOLEAN, DOUBLE, INT, LONG, STRING, TIMESTAMP, ListOf
from lakehouse.schemas.timestamps import format_timestamp

T0 = datetime(2024, 3, 27, 18, 0, tzinfo=UTC)  # the capture was taken at about 18:03 UTC
RANGE = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
CAPTURE = "odds-api/soccer_epl_odds_2024-03-27.json"
AGGREGATES = (MARKET_PRICES_LIVE, MARKET_AGG_1M, ARBITRAGE_OPPORTUNITIES, STEAM_MOVES, PIPELINE_HEALTH)


def ts(at: datetime) -> str:
    return format_timestamp(at)


def _valid(agg: AggregateType, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [validate(agg, r) for r in records]


@pytest.fixture(scope="session")
def capture_quotes() -> list[dict[str, Any]]:
    from producers.replay import odds_api_capture

    result = odds_api_capture(Settings().shared_data_dir / CAPTURE)
    assert len(result.events) == 1281 and not result.rejects
    return result.events


@pytest.fixture(scope="session")
def live_prices(capture_quotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every captured quote as a live price (one ms apart), every 5th re-priced 5% longer ten
    minutes later, two NFL prices, and one update after the test range that must not count."""
    fields = [f.name for f in MARKET_PRICES_LIVE.fields]
    rows = []
    for i, q in enumerate(capture_quotes):
        row = {k: q.get(k) for k in fields} | {"updated_at": ts(T0 + timedelta(milliseconds=i))}
        rows.append(row)
        if i % 5 == 0:
            later = T0 + timedelta(minutes=10, milliseconds=i)
            rows.append(
                row
                | {
                    "price": round(q["price"] * 1.05, 3),
                    "previous_price": q["price"],
                    "updated_at": ts(later),
                }
            )
    nfl = {
        "game_id": "2024-09-06:kansas-city-chiefs:baltimore-ravens",
        "sport": "americanfootball_nfl",
        "market": "h2h",
        "point": None,
        "previous_price": None,
        "is_exchange": False,
        "last_update": ts(T0),
        "event_id": "nfl-1",
        "home_team": "Kansas City Chiefs",
        "away_team": "Baltimore Ravens",
        "commence_time": ts(T0 + timedelta(days=163)),
    }
    for j, (book, selection, price) in enumerate(
        [
            ("pinnacle", "home", 1.8),
            ("pinnacle", "away", 2.1),
            ("draftkings", "home", 1.77),
            ("draftkings", "away", 2.05),
        ]
    ):
        rows.append(
            nfl
            | {
                "bookmaker": book,
                "selection": selection,
                "price": price,
                "updated_at": ts(T0 + timedelta(seconds=5 + j)),
            }
        )
    late = rows[0] | {"price": 99.0, "updated_at": ts(RANGE[1] + timedelta(minutes=1))}
    return _valid(MARKET_PRICES_LIVE, [*rows, late])


@pytest.fixture(scope="session")
def minute_bars(capture_quotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """h2h one-minute bars from the capture with the shared odds math: each book's margin on each
    game, the board's best price and Shin consensus.  Window T0 is emitted twice (a stale margin
    first), window T0+1m once with margins 10% higher; one book's bar lacks a margin."""
    books: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    meta: dict[str, dict[str, Any]] = {}
    for q in capture_quotes:
        if q["market"] == "h2h":
            books[q["game_id"]][q["bookmaker"]][q["selection"]] = q["price"]
            meta[q["game_id"]] = q
    rows = []
    for game_id, by_book in books.items():
        full = {b: p for b, p in by_book.items() if set(p) == {"home", "draw", "away"}}
        shin = {
            b: dict(zip(("home", "draw", "away"), devig_shin([p["home"], p["draw"], p["away"]]), strict=True))
            for b, p in full.items()
        }
        for minute, scale in ((0, 1.0), (1, 1.1)):
            start = T0 + timedelta(minutes=minute)
            for book, prices in by_book.items():
                margin = (overround(prices.values()) - 1) * scale if book in full else None
                for selection, price in prices.items():
                    # the best price's book, alphabetically first on a tie, as the stream picks it
                    best = min(sorted(full), key=lambda b, s=selection: -full[b][s])
                    bar = {
                        "window_start": ts(start),
                        "window_end": ts(start + timedelta(minutes=1)),
                        "game_id": game_id,
                        "sport": meta[game_id]["sport"],
                        "market": "h2h",
                        "point": None,
                        "bookmaker": book,
                        "selection": selection,
                        "open_price": price,
                        "last_price": round(price * scale, 3),
                        "min_price": min(price, round(price * scale, 3)),
                        "max_price": max(price, round(price * scale, 3)),
                        "quotes": 1,
                        "best_price": full[best][selection],
                        "best_bookmaker": best,
                        "fair_prob_shin": sum(s[selection] for s in shin.values()) / len(shin),
                        "fair_prob_multiplicative": None,
                        "bookmaker_margin": margin,
                        "updated_at": ts(start + timedelta(seconds=2)),
                    }
                    rows.append(bar)
                    if minute == 0 and margin is not None:
                        rows.append(
                            bar
                            | {
                                "bookmaker_margin": margin + 0.01,
                                "updated_at": ts(start + timedelta(seconds=1)),
                            }
                        )
    totals = rows[0] | {"market": "totals", "point": 2.5, "selection": "over", "bookmaker_margin": 0.5}
    return _valid(MARKET_AGG_1M, [*rows, totals])


def _arb(
    arb_id: str,
    at: datetime,
    status: str,
    ret: float,
    *,
    sport: str = "soccer_epl",
    age: float = 0.0,
    assessment: str = "actionable",
) -> dict[str, Any]:
    return {
        "arb_id": arb_id,
        "game_id": f"2024-03-30:{arb_id}",
        "sport": sport,
        "market": "h2h",
        "point": None,
        "status": status,
        "opened_at": ts(T0),
        "closed_at": ts(at) if status == "closed" else None,
        "age_s": age,
        "inverse_sum": 1 / (1 + ret),
        "guaranteed_return": ret,
        "selections": ["home", "draw", "away"],
        "best_prices": [10.0, 5.87, 1.38],
        "bookmakers": ["sport888", "betfair_ex_eu", "pinnacle"],
        "stakes": [10.0, 17.0, 73.0],
        "assessment": assessment,
        "net_return": ret - 0.001,
        "net_stakes": [10.0, 17.0, 73.0],
        "stale_selections": ["home"] if assessment == "stale" else [],
        "suspect_selections": ["home"] if assessment == "suspect" else [],
        "updated_at": ts(at),
    }


@pytest.fixture(scope="session")
def arbitrages() -> list[dict[str, Any]]:
    """a: open, stale then actionable; b: opened then closed; c: open NFL; d: open after the
    range; e: open, actionable then suspect."""
    s = timedelta(seconds=1)
    return _valid(
        ARBITRAGE_OPPORTUNITIES,
        [
            _arb("a", T0 + s, "open", 0.004, age=1, assessment="stale"),
            _arb("a", T0 + 5 * s, "open", 0.005, age=5),
            _arb("e", T0 + 6 * s, "open", 0.03, age=0),
            _arb("e", T0 + 7 * s, "open", 0.03, age=1, assessment="suspect"),
            _arb("b", T0 + 2 * s, "open", 0.002, age=2),
            _arb("b", T0 + 30 * s, "closed", 0.002, age=30),
            _arb("c", T0 + 3 * s, "open", 0.010, sport="americanfootball_nfl", age=3),
            _arb("d", RANGE[1] + s, "open", 0.2, age=1),
        ],
    )


def _move(
    minute: int,
    selection: str,
    direction: str,
    detected_s: int,
    median: float,
    books: int,
    sport: str = "soccer_epl",
) -> dict[str, Any]:
    start = T0 + timedelta(minutes=minute)
    return {
        "window_start": ts(start),
        "window_end": ts(start + timedelta(minutes=1)),
        "game_id": "2024-03-30:newcastle-united:west-ham-united",
        "sport": sport,
        "market": "h2h",
        "point": None,
        "selection": selection,
        "direction": direction,
        "books_moved": books,
        "books_quoting": 12,
        "median_move_pct": median,
        "threshold_pct": 2.0,
        "detected_at": ts(start + timedelta(seconds=detected_s)),
    }


@pytest.fixture(scope="session")
def steam() -> list[dict[str, Any]]:
    """Three moves in range (one detected twice, its later detection counting), one NFL move."""
    return _valid(
        STEAM_MOVES,
        [
            _move(0, "home", "shortening", 10, -3.0, 4),
            _move(0, "home", "shortening", 40, -4.0, 6),
            _move(0, "away", "drifting", 12, 2.5, 3),
            _move(3, "draw", "shortening", 5, -2.2, 3),
            _move(5, "home", "drifting", 5, 5.0, 5, sport="americanfootball_nfl"),
        ],
    )


def _sample(component: str, metric: str, value: float, seconds: float) -> dict[str, Any]:
    return {
        "component": component,
        "metric": metric,
        "value": value,
        "labels": None,
        "observed_at": ts(T0 + timedelta(seconds=seconds)),
    }


@pytest.fixture(scope="session")
def health() -> list[dict[str, Any]]:
    """the_odds_api goes down, espn stays up; two jobs with lag, timings and dead letters."""
    samples = [
        _sample("producer:the_odds_api", "source_up", 1, 0),
        _sample("producer:the_odds_api", "source_up", 0, 20),
        _sample("producer:the_odds_api", "rate_limit_remaining", 480, 0),
        _sample("producer:the_odds_api", "rate_limit_remaining", 470, 20),
        _sample("producer:the_odds_api", "records_per_s", 12.5, 10),
        _sample("producer:the_odds_api", "dead_letters", 2, 10),
        _sample("producer:the_odds_api", "dead_letters", 3, 20),
        _sample("producer:espn", "source_up", 1, 5),
        _sample("producer:espn", "freshness_s", 4.2, 5),
        _sample("stream:silver", "records_per_s", 900.0, 10),
        _sample("stream:silver", "input_rows", 9000, 10),
        _sample("stream:silver", "processing_ms", 850, 10),
        _sample("stream:silver", "lag_records", 1200, 10),
        _sample("stream:silver", "lag_records", 300, 20),
        _sample("stream:silver", "freshness_s", 2.5, 20),
        _sample("stream:aggregates", "lag_records", 50, 15),
        _sample("stream:aggregates", "dead_letters", 1, 15),
        _sample("producer:espn", "source_up", 0, 7200),  # after the range
    ]
    return _valid(PIPELINE_HEALTH, samples)


@pytest.fixture(scope="session")
def time_range() -> tuple[datetime, datetime]:
    """The range every test renders for: an hour either side of the capture."""
    return RANGE


# Which column orders these hand-written records' versions, i.e. the order they were published in.
_PUBLISHED_BY = {
    MARKET_PRICES_LIVE.name: "updated_at",
    MARKET_AGG_1M.name: "updated_at",
    ARBITRAGE_OPPORTUNITIES.name: "updated_at",
    STEAM_MOVES.name: "detected_at",
    PIPELINE_HEALTH.name: "observed_at",
}


def _published(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record with ``published_at``, the Kafka timestamp (ms) Druid ingests beside it."""
    column = _PUBLISHED_BY[name]
    return [
        r | {"published_at": int(datetime.fromisoformat(r[column].replace("Z", "+00:00")).timestamp() * 1000)}
        for r in rows
    ]


@pytest.fixture(scope="session")
def records(live_prices, minute_bars, arbitrages, steam, health) -> dict[str, list[dict[str, Any]]]:
    return {
        MARKET_PRICES_LIVE.name: _published(MARKET_PRICES_LIVE.name, live_prices),
        MARKET_AGG_1M.name: _published(MARKET_AGG_1M.name, minute_bars),
        ARBITRAGE_OPPORTUNITIES.name: _published(ARBITRAGE_OPPORTUNITIES.name, arbitrages),
        STEAM_MOVES.name: _published(STEAM_MOVES.name, steam),
        PIPELINE_HEALTH.name: _published(PIPELINE_HEALTH.name, health),
    }


# -- DuckDB with Druid's functions -----------------------------------------------------------------

_SHIMS = (
    "CREATE MACRO MILLIS_TO_TIMESTAMP(ms) AS epoch_ms(CAST(ms AS BIGINT))",
    "CREATE MACRO TIMESTAMP_TO_MILLIS(t) AS epoch_ms(t)",
    "CREATE MACRO TIME_PARSE(s) AS date_trunc('millisecond', CAST(replace(s, 'Z', '') AS TIMESTAMP))",
    "CREATE MACRO PERIOD_MS(p) AS CASE p WHEN 'PT10S' THEN 10000 WHEN 'PT1M' THEN 60000 "
    "WHEN 'PT5M' THEN 300000 WHEN 'PT15M' THEN 900000 WHEN 'PT1H' THEN 3600000 END",
    "CREATE MACRO TIME_FLOOR(t, p) AS epoch_ms(epoch_ms(t) // PERIOD_MS(p) * PERIOD_MS(p))",
)
# Aggregates cannot be macros that take FILTER clauses: rename them to DuckDB's equivalents.
_RENAMES = ((re.compile(r"\bLATEST_BY\("), "arg_max("), (re.compile(r"\bEARLIEST_BY\("), "arg_min("))


def _duck_type(field_type: Any) -> str:
    if isinstance(field_type, ListOf):
        return f"{_duck_type(field_type.element)}[]"
    return {
        STRING: "VARCHAR",
        TIMESTAMP: "VARCHAR",
        DOUBLE: "DOUBLE",
        LONG: "BIGINT",
        INT: "BIGINT",
        BOOLEAN: "BIGINT",
    }[field_type]


def _druid_row(agg: AggregateType, record: dict[str, Any]) -> list[Any]:
    """A record as Druid stores it: __time to the millisecond, booleans 0/1, other times as text."""
    out = []
    for f in agg.fields:
        value = record[f.name]
        if f.name == agg.time_column:
            at = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
            value = at.replace(microsecond=at.microsecond // 1000 * 1000)
        elif f.type is BOOLEAN and value is not None:
            value = int(value)
        out.append(value)
    return [*out, record["published_at"]]


@pytest.fixture(scope="session")
def druid_sql(records: dict[str, list[dict[str, Any]]]) -> Iterator[Callable[[str], list[dict[str, Any]]]]:
    """Run one rendered dashboard query on DuckDB tables shaped like the Druid datasources."""
    con = duckdb.connect()
    for shim in _SHIMS:
        con.execute(shim)
    for agg in AGGREGATES:
        columns = [
            "__time TIMESTAMP" if f.name == agg.time_column else f"{f.name} {_duck_type(f.type)}"
            for f in agg.fields
        ] + ["published_at BIGINT"]
        con.execute(f"CREATE TABLE {agg.name} ({', '.join(columns)})")
        rows = [_druid_row(agg, r) for r in records[agg.name]]
        con.executemany(f"INSERT INTO {agg.name} VALUES ({', '.join('?' * len(columns))})", rows)

    def run(sql: str) -> list[dict[str, Any]]:
        for pattern, replacement in _RENAMES:
            sql = pattern.sub(replacement, sql)
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    yield run
    con.close()
