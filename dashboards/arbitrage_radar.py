"""Arbitrage radar: open cross-book arbitrages, the trader's assessment of each (actionable, stale,
suspect, commission_eaten: ``lakehouse.trading``), their return gross and net of commission, and
how long they live.

Reads ``arbitrage_opportunities``: every update re-emits the arbitrage under the same ``arb_id``
(``__time`` = ``updated_at``, its last change in event time), so an arbitrage's state is its latest
published row in the range (by ``published_at``).  The list
columns (selections, best prices, bookmakers, stakes) are only displayed, never filtered on: the
bookmaker variable does not apply here.
"""

from __future__ import annotations

from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import variables
from dashboards.layout import Board, stat, table, timeseries
from dashboards.sql import competition_filter, sport_filter, where

UID = "arbitrage_radar"
TITLE = "Arbitrage radar"
TABLE = "arbitrage_opportunities"

OPEN = "Open arbitrages"
ACTIONABLE = "Actionable now"
BEST_RETURN = "Best open return"
SEEN = "Arbitrages seen"
MEAN_LIFETIME = "Mean lifetime of closed arbitrages"
OPEN_TABLE = "Open arbitrage windows"
LATEST_UPDATES = "Latest arbitrage updates"
UPDATES_BY_STATUS = "Arbitrage updates per minute by status"
RETURN_BY_MARKET = "Best guaranteed return per minute by market"
LIFETIME_BY_MARKET = "Arbitrage lifetime by market"

FILTERS = (sport_filter(), competition_filter())

# Each arbitrage's state: its latest published row in the range ('retracted' when a quote that
# arrived late showed it never held).
STATES = f"""
  SELECT arb_id, game_id, sport, market, point,
    CASE WHEN LATEST_BY(COALESCE(retracted, 0), MILLIS_TO_TIMESTAMP(published_at)) = 1 THEN 'retracted'
      ELSE LATEST_BY(status, MILLIS_TO_TIMESTAMP(published_at)) END AS status,
    LATEST_BY(assessment, MILLIS_TO_TIMESTAMP(published_at)) AS assessment,
    LATEST_BY(guaranteed_return, MILLIS_TO_TIMESTAMP(published_at)) AS guaranteed_return,
    LATEST_BY(net_return, MILLIS_TO_TIMESTAMP(published_at)) AS net_return,
    LATEST_BY(inverse_sum, MILLIS_TO_TIMESTAMP(published_at)) AS inverse_sum,
    LATEST_BY(age_s, MILLIS_TO_TIMESTAMP(published_at)) AS age_s,
    LATEST_BY(opened_at, MILLIS_TO_TIMESTAMP(published_at)) AS opened_at
  FROM {TABLE}
  {where(*FILTERS)}
  GROUP BY arb_id, game_id, sport, market, point"""


def _from_states(select: str, condition: str = "") -> str:
    tail = f"\nWHERE {condition}" if condition else ""
    return f"SELECT {select}\nFROM ({STATES}\n){tail}"


OPEN_SQL = _from_states("COUNT(*) AS open_arbitrages", "status = 'open'")

ACTIONABLE_SQL = _from_states("COUNT(*) AS actionable", "status = 'open' AND assessment = 'actionable'")

OPEN_TABLE_SQL = f"""
SELECT arb_id, game_id, sport, market, point, assessment, guaranteed_return, net_return, inverse_sum,
  age_s, opened_at
FROM ({STATES}
)
WHERE status = 'open'
ORDER BY net_return DESC, guaranteed_return DESC
LIMIT 200"""

LATEST_UPDATES_SQL = f"""
SELECT __time AS updated_at, arb_id, game_id, market, point, status, assessment, guaranteed_return,
  net_return, age_s, selections, best_prices, bookmakers, net_stakes, stale_selections, suspect_selections
FROM {TABLE}
{where(*FILTERS)}
ORDER BY __time DESC
LIMIT 100"""

UPDATES_BY_STATUS_SQL = f"""
SELECT TIME_FLOOR(__time, 'PT1M') AS "time", status, COUNT(*) AS updates
FROM {TABLE}
{where(*FILTERS)}
GROUP BY 1, 2
ORDER BY 1"""

RETURN_BY_MARKET_SQL = f"""
SELECT TIME_FLOOR(__time, 'PT1M') AS "time", market, MAX(guaranteed_return) AS best_return
FROM {TABLE}
{where(*FILTERS, "status = 'open'")}
GROUP BY 1, 2
ORDER BY 1"""

LIFETIME_BY_MARKET_SQL = f"""
SELECT market,
  COUNT(*) AS closed,
  AVG(age_s) AS mean_age_s,
  MAX(age_s) AS max_age_s,
  AVG(guaranteed_return) AS mean_return
FROM ({STATES}
)
WHERE status = 'closed'
GROUP BY market
ORDER BY market"""


def dashboard() -> Dashboard:
    return (
        Board(
            UID,
            TITLE,
            "Cross-book arbitrages from Druid's arbitrage_opportunities: what is open now, the return it "
            "guarantees, and how long arbitrages stay open.",
            tags=["arbitrage", "live"],
            refresh="5s",
            time_from="now-3h",
        )
        .variables(variables.sport(TABLE), variables.competition(TABLE))
        .add(
            stat(OPEN, "Arbitrages whose latest update in the range says open.", OPEN_SQL, TABLE, width=5),
            stat(
                ACTIONABLE,
                "Open arbitrages a trader would take: no suspect or stale best price, a profit net of "
                "exchange commission on the rounded stakes (lakehouse.trading; LAKEHOUSE_TRADING__*).",
                ACTIONABLE_SQL,
                TABLE,
                no_value="none",
                width=5,
            ),
            stat(
                BEST_RETURN,
                "Highest guaranteed return (profit per unit staked) among the open arbitrages.",
                _from_states("MAX(guaranteed_return) AS best_return", "status = 'open'"),
                TABLE,
                unit="percentunit",
                decimals=2,
                no_value="none open",
                width=5,
            ),
            stat(
                SEEN,
                "Arbitrages updated in the range, open or closed.",
                _from_states("COUNT(*) AS arbitrages", "status <> 'retracted'"),
                TABLE,
                width=4,
            ),
            stat(
                MEAN_LIFETIME,
                "Mean seconds from opening to closing of the arbitrages closed in the range.",
                _from_states("AVG(age_s) AS mean_age_s", "status = 'closed'"),
                TABLE,
                unit="s",
                decimals=1,
                no_value="none closed",
                width=5,
            ),
            table(
                OPEN_TABLE,
                "Open arbitrages, best net return first: the trader's assessment (actionable, stale, "
                "suspect, commission_eaten), the return gross and net of commission, the book-sum of the "
                "best prices (inverse_sum < 1) and seconds open so far.",
                OPEN_TABLE_SQL,
                TABLE,
                units={"guaranteed_return": "percentunit", "net_return": "percentunit", "age_s": "s"},
            ),
            timeseries(
                RETURN_BY_MARKET,
                "Best guaranteed return among open-arbitrage updates per minute, one series per market.",
                RETURN_BY_MARKET_SQL,
                TABLE,
                unit="percentunit",
            ),
            timeseries(
                UPDATES_BY_STATUS,
                "Arbitrage updates per minute: open (still there) and closed (gone).",
                UPDATES_BY_STATUS_SQL,
                TABLE,
                bars=True,
            ),
            table(
                LIFETIME_BY_MARKET,
                "Arbitrages closed in the range, per market: how many, how long they lived, what they paid.",
                LIFETIME_BY_MARKET_SQL,
                TABLE,
                units={"mean_age_s": "s", "max_age_s": "s", "mean_return": "percentunit"},
                height=8,
            ),
            table(
                LATEST_UPDATES,
                "The newest updates as received, with the stakes to place per 100 (net of commission, "
                "rounded) and which best prices are stale or suspect.",
                LATEST_UPDATES_SQL,
                TABLE,
                units={"guaranteed_return": "percentunit", "net_return": "percentunit", "age_s": "s"},
            ),
        )
        .build()
    )
