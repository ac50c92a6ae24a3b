"""Valid aggregate records for smoke tests and benchmarks of the Druid ingestion.

The streaming job writes the real ones; these are built by hand, one plausible record per
aggregate type, and checked against the shared schema (`lakehouse.schemas.validate`) so a
record Druid receives here is one the stream could have written. `marker` goes into a key
column (game id or component) so a run can find exactly its own rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lakehouse.odds import arbitrage
from lakehouse.schemas import AGGREGATE_TYPES, AggregateType, format_timestamp, validate

_BOOKS = ("pinnacle", "bet365", "unibet", "williamhill")
_SELECTIONS = ("home", "draw", "away")


def _ts(value: datetime) -> str:
    return format_timestamp(value)


def _game(marker: str, i: int) -> str:
    return f"2024-03-27:{marker}:game{i % 7}"


def _market_prices_live(marker: str, i: int, at: datetime) -> dict[str, Any]:
    price = round(1.8 + (i % 50) / 100, 2)
    return {
        "game_id": _game(marker, i),
        "sport": "soccer_epl",
        "market": "h2h",
        "bookmaker": _BOOKS[i % len(_BOOKS)],
        "selection": _SELECTIONS[i % 3],
        "point": None,
        "price": price,
        "previous_price": None if i % 4 == 0 else round(price + 0.05, 2),
        "is_exchange": i % 5 == 0,
        "last_update": _ts(at - timedelta(seconds=2)),
        "event_id": f"{marker}-q{i}",
        "updated_at": _ts(at),
        "home_team": "Arsenal",
        "away_team": "Luton Town",
        "commence_time": _ts(at + timedelta(hours=3)),
    }


def _market_agg_1m(marker: str, i: int, at: datetime) -> dict[str, Any]:
    start = at.replace(second=0, microsecond=0)
    low = round(2.0 + (i % 30) / 100, 2)
    return {
        "window_start": _ts(start),
        "window_end": _ts(start + timedelta(minutes=1)),
        "game_id": _game(marker, i),
        "sport": "soccer_epl",
        "market": "totals",
        "point": 2.5,
        "bookmaker": _BOOKS[i % len(_BOOKS)],
        "selection": ("over", "under")[i % 2],
        "open_price": round(low + 0.04, 2),
        "last_price": round(low + 0.02, 2),
        "min_price": low,
        "max_price": round(low + 0.05, 2),
        "quotes": 1 + i % 9,
        "best_price": round(low + 0.08, 2),
        "best_bookmaker": "pinnacle",
        "fair_prob_shin": 0.47,
        "fair_prob_multiplicative": 0.468,
        "bookmaker_margin": 0.041,
        "updated_at": _ts(at),
    }


def _arbitrage_opportunities(marker: str, i: int, at: datetime) -> dict[str, Any]:
    prices = [2.9 + (i % 5) / 10, 3.6, 3.1]
    arb = arbitrage(prices)  # 1/2.9 + 1/3.6 + 1/3.1 < 1: a real arbitrage
    opened = at - timedelta(seconds=30 + i)
    return {
        "arb_id": f"{marker}-arb{i}",
        "game_id": _game(marker, i),
        "sport": "soccer_epl",
        "market": "h2h",
        "point": None,
        "status": "open",
        "opened_at": _ts(opened),
        "closed_at": None,
        "age_s": (at - opened).total_seconds(),
        "inverse_sum": arb.inverse_sum,
        "guaranteed_return": arb.guaranteed_return,
        "selections": list(_SELECTIONS),
        "best_prices": prices,
        "bookmakers": ["pinnacle", "bet365", "pinnacle"],  # a book may be best on two selections
        "stakes": [round(s, 6) for s in arb.stakes],
        "updated_at": _ts(at),
    }


def _steam_moves(marker: str, i: int, at: datetime) -> dict[str, Any]:
    start = at.replace(second=0, microsecond=0)
    return {
        "window_start": _ts(start),
        "window_end": _ts(start + timedelta(minutes=1)),
        "game_id": _game(marker, i),
        "sport": "soccer_epl",
        "market": "h2h",
        "point": None,
        "selection": _SELECTIONS[i % 3],
        "direction": ("shortening", "drifting")[i % 2],
        "books_moved": 3 + i % 3,
        "books_quoting": 8,
        "median_move_pct": -3.5 if i % 2 == 0 else 2.75,
        "threshold_pct": 2.0,
        "detected_at": _ts(at),
    }


def _pipeline_health(marker: str, i: int, at: datetime) -> dict[str, Any]:
    return {
        "component": f"producer:{marker}",
        "metric": ("records_per_s", "lag_s")[i % 2],
        "value": float(1000 + i),
        "labels": '{"topic": "odds.quotes"}',
        "observed_at": _ts(at),
    }


BUILDERS: dict[str, Callable[[str, int, datetime], dict[str, Any]]] = {
    "market_prices_live": _market_prices_live,
    "market_agg_1m": _market_agg_1m,
    "arbitrage_opportunities": _arbitrage_opportunities,
    "steam_moves": _steam_moves,
    "pipeline_health": _pipeline_health,
}

MARKER_COLUMN = {name: ("component" if name == "pipeline_health" else "game_id") for name in BUILDERS}
"""The column carrying the marker, per aggregate (for `LIKE '%<marker>%'`-free exact filters)."""


def sample_record(agg: AggregateType, marker: str, i: int = 0, at: datetime | None = None) -> dict[str, Any]:
    """One valid record of `agg`, canonicalised by the shared validator."""
    try:
        build = BUILDERS[agg.name]
    except KeyError:
        raise KeyError(
            f"no sample builder for aggregate {agg.name!r}; add one to serving/samples.py"
        ) from None
    return validate(agg, build(marker, i, at or datetime.now(UTC)))


def marker_value(agg: AggregateType, marker: str, i: int = 0) -> str:
    """The exact value of the marker column of record `i` (to filter a run's rows in SQL)."""
    return f"producer:{marker}" if agg.name == "pipeline_health" else _game(marker, i)


def sample_batch(marker: str, per_type: int, at: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """`per_type` records of every aggregate type, keyed by aggregate name."""
    at = at or datetime.now(UTC)
    return {
        agg.name: [sample_record(agg, marker, i, at + timedelta(milliseconds=i)) for i in range(per_type)]
        for agg in AGGREGATE_TYPES.values()
    }
