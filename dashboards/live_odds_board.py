"""Live odds board: the current price of every selection at every bookmaker, and the best of them.

Reads ``market_prices_live``, which receives every price update (``__time`` = ``updated_at``), so
"current" is each (game, market, bookmaker, selection)'s latest row in the range: ``LATEST_BY``.
"""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import variables
from dashboards.layout import Board, stat, table, timeseries
from dashboards.sql import bookmaker_filter, competition_filter, game_label, sport_filter, where

UID = "live_odds_board"
TITLE = "Live odds board"
TABLE = "market_prices_live"

GAMES = "Games on the board"
BOOKMAKERS = "Bookmakers quoting"
UPDATES = "Price updates"
BEST_PRICES = "Best price per selection"
LATEST_PRICES = "Latest prices by bookmaker"
UPDATES_BY_BOOK = "Price updates per minute by bookmaker"
MOVES = "Shortening and drifting updates per minute"

FILTERS = (sport_filter(), competition_filter(), bookmaker_filter())

# The current quote of each (game, market, bookmaker, selection): its latest row in the range.
CURRENT_QUOTES = f"""
  SELECT game_id, sport, home_team, away_team, market, bookmaker, selection, is_exchange,
    LATEST_BY(point, __time) AS point,
    LATEST_BY(price, __time) AS price
  FROM {TABLE}
  {where(*FILTERS)}
  GROUP BY game_id, sport, home_team, away_team, market, bookmaker, selection, is_exchange"""


def _count_distinct(column: str, alias: str) -> str:
    # Exact, unlike COUNT(DISTINCT ...), which Druid answers with a sketch by default.
    return (
        f"SELECT COUNT(*) AS {alias}\nFROM (\n  SELECT {column}\n  FROM {TABLE}\n"
        f"  {where(*FILTERS)}\n  GROUP BY {column}\n)"
    )


BEST_PRICES_SQL = f"""
SELECT sport, game_id, {game_label()} AS game, market, point, selection,
  MAX(price) AS best_price,
  MAX(price) FILTER (WHERE is_exchange = 0) AS best_sportsbook_price,
  AVG(price) AS mean_price,
  COUNT(*) AS books
FROM ({CURRENT_QUOTES}
)
GROUP BY sport, game_id, home_team, away_team, market, point, selection
ORDER BY game_id, market, point, selection"""

LATEST_PRICES_SQL = f"""
SELECT game_id, {game_label()} AS game, market, selection, bookmaker,
  LATEST_BY(point, __time) AS point,
  LATEST_BY(price, __time) AS price,
  LATEST_BY(previous_price, __time) AS previous_price,
  LATEST_BY(last_update, __time) AS last_update,
  MAX(is_exchange) AS is_exchange,
  COUNT(*) AS updates
FROM {TABLE}
{where(*FILTERS)}
GROUP BY game_id, home_team, away_team, market, selection, bookmaker
ORDER BY game_id, market, selection, bookmaker
LIMIT 1000"""

UPDATES_BY_BOOK_SQL = f"""
SELECT TIME_FLOOR(__time, 'PT1M') AS "time", bookmaker, COUNT(*) AS updates
FROM {TABLE}
{where(*FILTERS)}
GROUP BY 1, 2
ORDER BY 1"""

MOVES_SQL = f"""
SELECT TIME_FLOOR(__time, 'PT1M') AS "time",
  COUNT(*) FILTER (WHERE price < previous_price) AS shortening,
  COUNT(*) FILTER (WHERE price > previous_price) AS drifting
FROM {TABLE}
{where(*FILTERS)}
GROUP BY 1
ORDER BY 1"""


def dashboard() -> Dashboard:
    return (
        Board(
            UID,
            TITLE,
            "Current prices across bookmakers from Druid's market_prices_live: best price per selection, "
            "every book's latest quote and the flow of updates.",
            tags=["odds", "live"],
            refresh="5s",
            time_from="now-1h",
        )
        .variables(variables.sport(TABLE), variables.competition(TABLE), variables.bookmaker(TABLE))
        .add(
            stat(
                GAMES,
                "Games with at least one price update in the range.",
                _count_distinct("game_id", "games"),
                TABLE,
            ),
            stat(
                BOOKMAKERS,
                "Bookmakers that updated a price in the range.",
                _count_distinct("bookmaker", "bookmakers"),
                TABLE,
            ),
            stat(
                UPDATES,
                "Price updates received in the range.",
                f"SELECT COUNT(*) AS updates\nFROM {TABLE}\n{where(*FILTERS)}",
                TABLE,
            ),
            stat(
                "Seconds since last update",
                "Age of the newest price update in the range.",
                "SELECT (TIMESTAMP_TO_MILLIS(CURRENT_TIMESTAMP) - TIMESTAMP_TO_MILLIS(MAX(__time)))"
                f" / 1000.0 AS seconds_since_update\nFROM {TABLE}\n{where(*FILTERS)}",
                TABLE,
                unit="s",
                decimals=1,
                no_value="no data",
            ),
            table(
                BEST_PRICES,
                "Per game, market, line and selection: the best current price across bookmakers, the best "
                "at a sportsbook (exchanges excluded), the mean, and how many books quote it.",
                BEST_PRICES_SQL,
                TABLE,
                height=12,
            ),
            table(
                LATEST_PRICES,
                "Every bookmaker's latest price per selection, with the price before it.",
                LATEST_PRICES_SQL,
                TABLE,
                height=12,
            ),
            timeseries(
                UPDATES_BY_BOOK,
                "Price updates per minute, one series per bookmaker.",
                UPDATES_BY_BOOK_SQL,
                TABLE,
                bars=True,
            ),
            timeseries(
                MOVES,
                "Updates per minute whose price fell (shortening) or rose (drifting) from the previous one.",
                MOVES_SQL,
                TABLE,
            ),
        )
        .build()
    )
