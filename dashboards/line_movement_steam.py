"""Line movement and steam: how one game's prices and fair probabilities move, and where sharp
money hit several books at once.

Line movement reads ``market_agg_1m`` (one-minute bars, re-emitted as a window fills, so a bar's
value is its latest emission by ``published_at``) for the chosen game and market.  Steam reads
``steam_moves`` (``__time`` = ``window_start``), one move per window, game, market, line and
selection, its latest detection counting (unless retracted); steam panels follow sport and
competition only.
"""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import variables
from dashboards.layout import Board, stat, table, timeseries
from dashboards.sql import bookmaker_filter, competition_filter, sport_filter, where

UID = "line_movement_steam"
TITLE = "Line movement and steam"
BARS_TABLE = "market_agg_1m"
STEAM_TABLE = "steam_moves"

BEST_PRICE = "Best price by selection"
FAIR_PROB = "Consensus fair probability (Shin) by selection"
MOVERS = "Biggest movers by bookmaker"
STEAM_COUNT = "Steam moves"
STEAM_BY_DIRECTION = "Steam moves by direction"
STEAM_OVER_TIME = "Steam moves per 5 minutes by direction"
RECENT_STEAM = "Recent steam moves"

GAME = "game_id = ${game:sqlstring}"
MARKET = "market = ${market:sqlstring}"
LINE_LABEL = "selection || COALESCE(' ' || CAST(point AS VARCHAR), '')"
"""Series name: the selection, with its line for spreads and totals (``over 2.5``)."""


def _game_series(column: str) -> str:
    return f"""
SELECT __time AS "time", {LINE_LABEL} AS line,
  LATEST_BY({column}, MILLIS_TO_TIMESTAMP(published_at)) AS {column}
FROM {BARS_TABLE}
{where(GAME, MARKET, f"{column} IS NOT NULL")}
GROUP BY 1, 2
ORDER BY 1"""


# A bar's open never changes once set; its close does until the last emission, the newest update.
LAST_PRICE = "LATEST_BY(last_price, MILLIS_TO_TIMESTAMP(published_at))"
MOVERS_SQL = f"""
SELECT game_id, market, point, selection, bookmaker,
  EARLIEST_BY(open_price, __time) AS first_price,
  {LAST_PRICE} AS last_price,
  ({LAST_PRICE} / EARLIEST_BY(open_price, __time) - 1) * 100 AS move_pct,
  ABS({LAST_PRICE} / EARLIEST_BY(open_price, __time) - 1) * 100 AS abs_move_pct
FROM {BARS_TABLE}
{where(MARKET, sport_filter(), competition_filter(), bookmaker_filter())}
GROUP BY game_id, market, point, selection, bookmaker
ORDER BY abs_move_pct DESC
LIMIT 50"""

STEAM_FILTERS = (sport_filter(), competition_filter())

# One row per steam move: its latest detection.
MOVES = f"""
  SELECT __time, game_id, sport, market, point, selection,
    LATEST_BY(direction, MILLIS_TO_TIMESTAMP(published_at)) AS direction,
    LATEST_BY(books_moved, MILLIS_TO_TIMESTAMP(published_at)) AS books_moved,
    LATEST_BY(median_move_pct, MILLIS_TO_TIMESTAMP(published_at)) AS median_move_pct,
    LATEST_BY(COALESCE(retracted, 0), MILLIS_TO_TIMESTAMP(published_at)) AS retracted
  FROM {STEAM_TABLE}
  {where(*STEAM_FILTERS)}
  GROUP BY __time, game_id, sport, market, point, selection"""

STEAM_BY_DIRECTION_SQL = f"""
SELECT direction,
  COUNT(*) AS moves,
  AVG(median_move_pct) AS mean_move_pct,
  MAX(books_moved) AS max_books_moved
FROM ({MOVES}
)
WHERE retracted = 0
GROUP BY direction
ORDER BY direction"""

STEAM_OVER_TIME_SQL = f"""
SELECT TIME_FLOOR(__time, 'PT5M') AS "time", direction, COUNT(*) AS moves
FROM ({MOVES}
)
WHERE retracted = 0
GROUP BY 1, 2
ORDER BY 1"""

RECENT_STEAM_SQL = f"""
SELECT __time AS window_start, game_id, market, point, selection, direction,
  books_moved, books_quoting, median_move_pct, threshold_pct, detected_at
FROM {STEAM_TABLE}
{where(*STEAM_FILTERS, "(retracted IS NULL OR retracted = 0)")}
ORDER BY __time DESC
LIMIT 100"""


def dashboard() -> Dashboard:
    return (
        Board(
            UID,
            TITLE,
            "One game's line movement (best price and consensus fair probability per selection) from "
            "Druid's market_agg_1m, the biggest price moves per bookmaker, and steam moves from steam_moves.",
            tags=["line-movement", "steam", "live"],
            refresh="10s",
            time_from="now-6h",
        )
        .variables(
            variables.sport(BARS_TABLE),
            variables.competition(BARS_TABLE),
            variables.bookmaker(BARS_TABLE),
            variables.market(),
            variables.game(BARS_TABLE),
        )
        .row("Line movement: $game")
        .add(
            timeseries(
                BEST_PRICE,
                "Best price across books at each minute's close, per selection (and line) of the game.",
                _game_series("best_price"),
                BARS_TABLE,
            ),
            timeseries(
                FAIR_PROB,
                "Mean of the books' Shin de-vigged probabilities at each minute's close.",
                _game_series("fair_prob_shin"),
                BARS_TABLE,
                unit="percentunit",
            ),
            table(
                MOVERS,
                "Per bookmaker and selection: first open and last close in the range and the move in %, "
                "largest moves first.",
                MOVERS_SQL,
                BARS_TABLE,
                height=10,
                units={"move_pct": "percent", "abs_move_pct": "percent"},
            ),
        )
        .row("Steam moves")
        .add(
            stat(
                STEAM_COUNT,
                "Steam moves detected in the range.",
                f"SELECT COUNT(*) AS moves\nFROM ({MOVES}\n)\nWHERE retracted = 0",
                STEAM_TABLE,
            ),
            table(
                STEAM_BY_DIRECTION,
                "Steam moves per direction: how many, mean of their median move in %, most books moving.",
                STEAM_BY_DIRECTION_SQL,
                STEAM_TABLE,
                width=18,
                height=4,
            ),
            timeseries(
                STEAM_OVER_TIME,
                "Steam moves per 5 minutes: shortening (price down, money in) and drifting.",
                STEAM_OVER_TIME_SQL,
                STEAM_TABLE,
                bars=True,
                width=24,
            ),
            table(RECENT_STEAM, "The newest steam moves as detected.", RECENT_STEAM_SQL, STEAM_TABLE),
        )
        .build()
    )
