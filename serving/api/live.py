"""The live reads of the API, from Druid (the serving store): board, arbitrage, line movement, health.

Druid holds every version of each aggregate row (the topics re-emit a row on every update); the
current row of a key is its version with the greatest ``published_at`` (the Kafka timestamp), and
a retracted arbitrage is no arbitrage.  The board's numbers (best price, consensus fair
probabilities, margins) are the shared market math (``lakehouse.market.board``) over the latest
price of each bookmaker and selection, so they equal what the speed layer computes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from lakehouse.market.board import Quote, summarise_market
from lakehouse.schemas import AGGREGATE_TYPES
from lakehouse.schemas.fields import BOOLEAN

PUBLISHED_AT = "published_at"
KEYS = {agg.name: agg.key for agg in AGGREGATE_TYPES.values()}
TIME_COLUMNS = {agg.name: agg.time_column for agg in AGGREGATE_TYPES.values()}
BOOLEANS = {
    agg.name: tuple(f.name for f in agg.fields if f.type == BOOLEAN) for agg in AGGREGATE_TYPES.values()
}


class Sql(Protocol):
    def sql(self, query: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...


def current(name: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current version of each key among ``rows`` of datasource ``name``, retractions dropped."""
    time_column = TIME_COLUMNS[name]  # Druid's `__time` (a key column of the windowed aggregates)
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r.get(PUBLISHED_AT) or 0, str(r.get("__time")))):
        latest[tuple(row.get("__time" if k == time_column else k) for k in KEYS[name])] = row
    return [_clean(name, r) for r in latest.values() if not r.get("retracted")]


def _clean(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """A Druid row in the aggregate's own shape: the time column by name, booleans as booleans."""
    out = {k: v for k, v in row.items() if k not in ("__time", PUBLISHED_AT, "retracted")}
    out[TIME_COLUMNS[name]] = row.get("__time")
    for column in BOOLEANS[name]:
        if out.get(column) is not None:
            out[column] = bool(out[column])
    return out


class LiveStore:
    """Live reads over a Druid SQL client (``serving.query.DruidQuery``)."""

    def __init__(self, druid: Sql) -> None:
        self.druid = druid

    def prices(self, game_id: str) -> list[dict[str, Any]]:
        rows = self.druid.sql("SELECT * FROM market_prices_live WHERE game_id = %(game)s", {"game": game_id})
        return current("market_prices_live", rows)

    def board(self, game_id: str, now: datetime | None = None) -> dict[str, Any] | None:
        """A game's live odds board: latest price per bookmaker and selection with its staleness,
        and per complete line the best prices, consensus fair probabilities and margins."""
        prices = self.prices(game_id)
        if not prices:
            return None
        now = now or datetime.now(UTC)
        for p in prices:
            p["stale_s"] = round((now - _instant(p["last_update"])).total_seconds(), 3)
        game = max(prices, key=lambda p: str(p["updated_at"]))
        lines = summarise_market(Quote.from_record(p) for p in prices)
        return {
            "game_id": game_id,
            "sport": game["sport"],
            "home_team": game["home_team"],
            "away_team": game["away_team"],
            "commence_time": game["commence_time"],
            "as_of": max(str(p["updated_at"]) for p in prices),
            "prices": sorted(prices, key=lambda p: (p["market"], p["selection"], p["bookmaker"])),
            "lines": [
                {
                    "market": s.market,
                    "line": s.line,
                    "selections": list(s.selections),
                    "best_prices": s.best_prices,
                    "best_bookmakers": s.best_bookmakers,
                    "fair_prob_shin": s.fair_shin,
                    "fair_prob_multiplicative": s.fair_multiplicative,
                    "margins": s.margins,
                    "inverse_sum": s.arbitrage.inverse_sum,
                    "is_arbitrage": s.is_arbitrage,
                }
                for s in lines
            ],
        }

    def games(self, since: datetime, sport: str | None = None) -> list[dict[str, Any]]:
        """Games quoted since ``since``: teams, kick-off, quotes and the newest quote's time."""
        where = "__time >= MILLIS_TO_TIMESTAMP(%(since)s)"
        params: dict[str, Any] = {"since": int(since.timestamp() * 1000)}
        if sport:
            where, params = where + " AND sport = %(sport)s", params | {"sport": sport}
        rows = self.druid.sql(
            "SELECT game_id, LATEST_BY(sport, __time) AS sport, LATEST_BY(home_team, __time) AS home_team, "
            "LATEST_BY(away_team, __time) AS away_team, LATEST_BY(commence_time, __time) AS commence_time, "
            f"COUNT(*) AS quotes, MAX(__time) AS updated_at FROM market_prices_live WHERE {where} GROUP BY 1",
            params,
        )
        return sorted(rows, key=lambda r: (str(r["commence_time"]), r["game_id"]))

    def arbitrage(
        self,
        since: datetime,
        status: str | None = None,
        min_return: float | None = None,
        bookmaker: str | None = None,
        sport: str | None = None,
    ) -> list[dict[str, Any]]:
        """Arbitrage windows changed since ``since``, newest first, filtered as asked."""
        rows = self.druid.sql(
            "SELECT * FROM arbitrage_opportunities WHERE __time >= MILLIS_TO_TIMESTAMP(%(since)s)",
            {"since": int(since.timestamp() * 1000)},
        )
        out = [
            r
            for r in current("arbitrage_opportunities", rows)
            if (status is None or r["status"] == status)
            and (min_return is None or r["guaranteed_return"] >= min_return)
            and (bookmaker is None or bookmaker in (r["bookmakers"] or []))
            and (sport is None or r["sport"] == sport)
        ]
        return sorted(out, key=lambda r: (str(r["updated_at"]), r["arb_id"]), reverse=True)

    def movement(self, game_id: str, market: str | None = None) -> list[dict[str, Any]]:
        """A game's one-minute bars (open, last, low, high, best price, consensus, margin), by time."""
        where, params = "game_id = %(game)s", {"game": game_id}
        if market:
            where, params = where + " AND market = %(market)s", params | {"market": market}
        rows = self.druid.sql(f"SELECT * FROM market_agg_1m WHERE {where}", params)
        bars = current("market_agg_1m", rows)
        return sorted(
            bars,
            key=lambda r: (
                str(r["window_start"]),
                r["market"],
                str(r["point"]),
                r["bookmaker"],
                r["selection"],
            ),
        )

    def health(self, since: datetime) -> list[dict[str, Any]]:
        """The newest sample of every (component, metric) since ``since``, with the count of samples."""
        rows = self.druid.sql(
            'SELECT component, metric, LATEST_BY("value", __time) AS "value", MAX(__time) AS observed_at, '
            "COUNT(*) AS samples FROM pipeline_health WHERE __time >= MILLIS_TO_TIMESTAMP(%(since)s) "
            "GROUP BY 1, 2",
            {"since": int(since.timestamp() * 1000)},
        )
        return rows


def _instant(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)
