"""Bookmaker margins: how much each book charges (overround - 1), per market, over time.

Reads ``market_agg_1m``: one-minute bars per game, market, line, bookmaker and selection, re-emitted
as a window fills (``__time`` = ``window_start``), so a bar's value is its latest emission by
``published_at``.  A book's margin is set on a bar only when it quotes every selection of the line;
every selection's bar carries the same value, so within one market each line counts equally.
"""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import variables
from dashboards.layout import Board, stat, table, timeseries
from dashboards.sql import bookmaker_filter, competition_filter, sport_filter, where

UID = "bookmaker_margins"
TITLE = "Bookmaker margins"
TABLE = "market_agg_1m"

MEAN_MARGIN = "Mean margin per bookmaker"
MARKET_MARGIN = "Market mean margin"
BOOKMAKERS = "Bookmakers priced"
GAMES = "Games priced"
MARGIN_OVER_TIME = "Margin by bookmaker (15-minute mean)"
BY_COMPETITION = "Margin by competition"
BEST_PRICE_SHARE = "Best-price share per bookmaker"

MARKET = "market = ${market:sqlstring}"
FILTERS = (MARKET, sport_filter(), competition_filter(), bookmaker_filter())

# Each bar's latest margin: one row per (window, game, market, line, bookmaker, selection).
BARS = f"""
  SELECT __time, game_id, sport, market, point, bookmaker, selection,
    LATEST_BY(bookmaker_margin, MILLIS_TO_TIMESTAMP(published_at)) AS bookmaker_margin
  FROM {TABLE}
  {where(*FILTERS, "bookmaker_margin IS NOT NULL")}
  GROUP BY __time, game_id, sport, market, point, bookmaker, selection"""

MEAN_MARGIN_SQL = f"""
SELECT bookmaker,
  AVG(bookmaker_margin) AS mean_margin,
  MIN(bookmaker_margin) AS min_margin,
  MAX(bookmaker_margin) AS max_margin,
  COUNT(*) AS bars
FROM ({BARS}
)
GROUP BY bookmaker
ORDER BY mean_margin, bookmaker"""

MARGIN_OVER_TIME_SQL = f"""
SELECT TIME_FLOOR(__time, 'PT15M') AS "time", bookmaker, AVG(bookmaker_margin) AS margin
FROM ({BARS}
)
GROUP BY 1, 2
ORDER BY 1"""

BY_COMPETITION_SQL = f"""
SELECT sport AS competition,
  AVG(bookmaker_margin) AS mean_margin,
  MIN(bookmaker_margin) AS min_margin,
  COUNT(*) AS bars
FROM ({BARS}
)
GROUP BY sport
ORDER BY mean_margin, competition"""

# Which book holds the best price: one row per (window, game, market, line, selection).
BEST_PRICE_SHARE_SQL = f"""
SELECT best_bookmaker AS bookmaker, COUNT(*) AS best_price_bars
FROM (
  SELECT __time, game_id, market, point, selection,
    LATEST_BY(best_bookmaker, MILLIS_TO_TIMESTAMP(published_at)) AS best_bookmaker
  FROM {TABLE}
  {where(MARKET, sport_filter(), competition_filter(), "best_bookmaker IS NOT NULL")}
  GROUP BY __time, game_id, market, point, selection
)
WHERE {bookmaker_filter("best_bookmaker")}
GROUP BY best_bookmaker
ORDER BY best_price_bars DESC, bookmaker
LIMIT 50"""


def _count(column: str, alias: str) -> str:
    return (
        f"SELECT COUNT(*) AS {alias}\nFROM (\n  SELECT {column}\n  FROM ({BARS}\n  )\n  GROUP BY {column}\n)"
    )


def dashboard() -> Dashboard:
    return (
        Board(
            UID,
            TITLE,
            "Bookmaker margins (overround - 1) from Druid's market_agg_1m, one market at a time: who is "
            "cheapest, how margins move, and who holds the best price most often.",
            tags=["margins"],
            refresh="1m",
            time_from="now-24h",
        )
        .variables(
            variables.sport(TABLE),
            variables.competition(TABLE),
            variables.bookmaker(TABLE),
            variables.market(),
        )
        .add(
            stat(
                MARKET_MARGIN,
                "Mean margin over every bookmaker's one-minute bars in the market.",
                f"SELECT AVG(bookmaker_margin) AS mean_margin\nFROM ({BARS}\n)",
                TABLE,
                unit="percentunit",
                decimals=2,
                no_value="no data",
            ),
            stat(
                BOOKMAKERS, "Bookmakers with a margin in the range.", _count("bookmaker", "bookmakers"), TABLE
            ),
            stat(
                GAMES,
                "Games with at least one bookmaker margin in the range.",
                _count("game_id", "games"),
                TABLE,
            ),
            stat(
                "Bars",
                "One-minute bars with a margin (one per selection) behind these figures.",
                f"SELECT COUNT(*) AS bars\nFROM ({BARS}\n)",
                TABLE,
            ),
            table(
                MEAN_MARGIN,
                "Per bookmaker: mean, lowest and highest margin over its one-minute bars in the market, "
                "cheapest first.",
                MEAN_MARGIN_SQL,
                TABLE,
                units={
                    "mean_margin": "percentunit",
                    "min_margin": "percentunit",
                    "max_margin": "percentunit",
                },
                width=12,
                height=12,
            ),
            table(
                BEST_PRICE_SHARE,
                "How many bars each bookmaker held the board's best price on (ties go to the book first "
                "alphabetically).",
                BEST_PRICE_SHARE_SQL,
                TABLE,
                width=12,
                height=12,
            ),
            timeseries(
                MARGIN_OVER_TIME,
                "Mean margin per bookmaker in 15-minute buckets.",
                MARGIN_OVER_TIME_SQL,
                TABLE,
                unit="percentunit",
                width=24,
            ),
            table(
                BY_COMPETITION,
                "Mean margin per competition, across bookmakers.",
                BY_COMPETITION_SQL,
                TABLE,
                units={
                    "mean_margin": "percentunit",
                    "min_margin": "percentunit",
                },
                height=8,
            ),
        )
        .build()
    )
