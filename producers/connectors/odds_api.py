"""The Odds API v4 (`/v4/sports/{sport}/odds`) -> canonical odds quotes.

One record per (event, bookmaker, market, outcome) with price, point and `last_update`.
Exchange markets (`h2h_lay`, and books such as Betfair) are kept and flagged
`is_exchange`.  Teams resolve through the shared registry to canonical ids and a
canonical game id; anything that does not resolve becomes a dead-letter reject, never a
guess.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from lakehouse.odds import InvalidOddsError, american_to_decimal
from lakehouse.records import odds_quote, record_id
from lakehouse.schemas import Market, Selection, format_timestamp
from lakehouse.teams import TeamRegistry, game_id, get_registry
from producers.base import HttpRequest, HttpResponse, ParseResult, PollContext, Reject
from producers.connectors._common import MissingApiKeyError, body_reject, load_json_body

SOURCE = "the_odds_api"
SCHEMA_VERSION = 1
EXCHANGES = frozenset({"betfair_ex_eu", "betfair_ex_uk", "betfair_ex_au", "matchbook", "smarkets", "betfair"})
SPORT_FAMILIES = {
    "soccer": "soccer",
    "americanfootball": "americanfootball",
    "basketball": "basketball",
    "icehockey": "icehockey",
    "baseball": "baseball",
}
MARKETS = frozenset(m.value for m in Market)


def sport_family(sport_key: str) -> str | None:
    """`soccer_epl` -> `soccer`; None for a key whose family the platform does not know."""
    return SPORT_FAMILIES.get(sport_key.split("_", 1)[0])


def odds_format_of(events: Sequence[Any]) -> str:
    """``american`` or ``decimal``, for a body whose request is unknown (a capture).

    A whole body is in one format (the request's ``oddsFormat``).  American prices are whole
    numbers of at least 100 in size, negative for favourites; a complete decimal market's inverse
    prices sum to about 1 (1.0 to 1.3), an American one's to about 0.  So a body is American when
    its markets of two or more prices have a median inverse sum under 0.5, or when it has a
    negative price and every price is a whole number of size 100 or more.
    """
    sums: list[float] = []
    prices: list[float] = []
    for event in events:
        for book in (event.get("bookmakers") or []) if isinstance(event, dict) else []:
            for market in book.get("markets") or [] if isinstance(book, dict) else []:
                quoted = [
                    o.get("price")
                    for o in (market.get("outcomes") or [] if isinstance(market, dict) else [])
                    if isinstance(o, dict)
                ]
                numbers = [float(p) for p in quoted if isinstance(p, int | float) and not isinstance(p, bool)]
                prices += numbers
                if len(numbers) >= 2 and all(p > 0 for p in numbers):
                    sums.append(sum(1 / p for p in numbers))
    if sums and statistics.median(sums) < 0.5:
        return "american"
    if prices and min(prices) < 0 and all(p.is_integer() and abs(p) >= 100 for p in prices):
        return "american"
    return "decimal"


def _selection(market: str, name: str, home: str, away: str) -> Selection | None:
    lowered = name.strip().lower()
    if market in ("h2h", "h2h_lay", "spreads"):
        if name == home:
            return Selection.HOME
        if name == away:
            return Selection.AWAY
        if lowered == "draw" and market != "spreads":
            return Selection.DRAW
    elif market == "totals" and lowered in ("over", "under"):
        return Selection(lowered)
    return None


class TheOddsApi:
    """Connector for The Odds API; the API key comes from the environment via settings."""

    name = SOURCE
    feed = "odds"

    def __init__(
        self,
        sports: Sequence[str] = ("soccer_epl",),
        *,
        regions: str = "eu",
        markets: Sequence[str] = ("h2h", "spreads", "totals"),
        odds_format: str = "decimal",
        api_key: str | None = None,
        base_url: str = "https://api.the-odds-api.com",
        registry: TeamRegistry | None = None,
    ) -> None:
        self.sports = tuple(sports)
        self.regions = regions
        self.markets = tuple(markets)
        self.odds_format = odds_format
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._registry = registry

    @property
    def registry(self) -> TeamRegistry:
        if self._registry is None:
            self._registry = get_registry()
        return self._registry

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        if not self._api_key:
            raise MissingApiKeyError("The Odds API needs an API key: set LAKEHOUSE_ODDS_API_KEY")
        return [
            HttpRequest(
                url=f"{self.base_url}/v4/sports/{sport}/odds",
                params={
                    "regions": self.regions,
                    "markets": ",".join(self.markets),
                    "oddsFormat": self.odds_format,
                    "dateFormat": "iso",
                },
                secret_params={"apiKey": self._api_key},
                context={"sport": sport},
            )
            for sport in self.sports
        ]

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        """Quotes of one response, in the odds format the request asked for."""
        body, error = load_json_body(response, "The Odds API")
        if error:
            return body_reject(error, response, SOURCE, request)
        if isinstance(body, dict):
            message = body.get("message") or body.get("error_code") or "unexpected object"
            return body_reject(f"API error: {message}", response, SOURCE, request)
        if not isinstance(body, list):
            return body_reject("expected a list of events", response, SOURCE, request)
        return self.parse_events(
            body, response.fetched_at, request.params.get("oddsFormat", self.odds_format)
        )

    def parse_events(
        self, events: Iterable[Any], fetched_at: datetime | None = None, odds_format: str | None = None
    ) -> ParseResult:
        """Quotes from already-decoded events (the live poll and the replay of captures), prices
        as decimals.  ``odds_format`` is what the request asked for; None (a capture whose request
        is unknown) reads it from the prices (``odds_format_of``)."""
        events = list(events)
        american = (odds_format or odds_format_of(events)) == "american"
        ingested = format_timestamp(fetched_at or datetime.now(UTC))
        result = ParseResult()
        for event in events:
            result.extend(self._parse_event(event, ingested, american))
        return result

    def _parse_event(self, event: Any, ingested: str, american: bool) -> ParseResult:
        if not isinstance(event, dict):
            return ParseResult(rejects=[Reject("event is not an object", event, SOURCE)])
        missing = [
            k
            for k in ("id", "sport_key", "commence_time", "home_team", "away_team", "bookmakers")
            if k not in event
        ]
        if missing:
            return ParseResult(
                rejects=[Reject(f"event is missing field(s) {', '.join(missing)}", event, SOURCE)]
            )
        sport_key, home, away = event["sport_key"], event["home_team"], event["away_team"]
        family = sport_family(sport_key)
        if family is None:
            return ParseResult(rejects=[Reject(f"unknown sport key {sport_key!r}", event, SOURCE)])
        if not event["bookmakers"]:
            return ParseResult(rejects=[Reject(f"event {event['id']} has no bookmakers", event, SOURCE)])
        home_team, why_home = self.registry.try_resolve(home, source=SOURCE, sport=family)
        away_team, why_away = self.registry.try_resolve(away, source=SOURCE, sport=family)
        if home_team is None or away_team is None:
            why = "; ".join(f"{side} {w}" for side, w in (("home", why_home), ("away", why_away)) if w)
            return ParseResult(rejects=[Reject(f"unmatched team: {why}", event, SOURCE)])
        gid = game_id(event["commence_time"], home_team.team_id, away_team.team_id, sport=sport_key)
        result = ParseResult()
        for book in event["bookmakers"]:
            for market in book.get("markets") or []:
                result.extend(self._parse_market(event, book, market, gid, ingested, american))
        return result

    def _parse_market(
        self, event: dict, book: dict, market: dict, gid: str, ingested: str, american: bool
    ) -> ParseResult:
        key = market.get("key")
        if key not in MARKETS:
            return ParseResult(
                rejects=[Reject(f"unknown market {key!r} from {book.get('key')}", market, SOURCE)]
            )
        # Values as sent (possibly missing): the publisher's schema check dead-letters a bad one.
        updated: Any = market.get("last_update") or book.get("last_update")
        bookmaker: Any = book.get("key")
        result = ParseResult()
        for outcome in market.get("outcomes") or []:
            selection = _selection(key, str(outcome.get("name", "")), event["home_team"], event["away_team"])
            if selection is None:
                reason = f"outcome {outcome.get('name')!r} matches neither team in market {key!r}"
                result.rejects.append(Reject(reason, {"event_id": event["id"], "outcome": outcome}, SOURCE))
                continue
            point = outcome.get("point")
            price = outcome.get("price")
            if american and isinstance(price, int | float) and not isinstance(price, bool):
                try:
                    price = american_to_decimal(price)
                except InvalidOddsError as exc:
                    result.rejects.append(
                        Reject(str(exc), {"event_id": event["id"], "outcome": outcome}, SOURCE)
                    )
                    continue
            result.events.append(
                odds_quote(
                    event_id=record_id(SOURCE, event["id"], bookmaker, key, selection, point, updated),
                    source=SOURCE,
                    sport=event["sport_key"],
                    event_time=updated,
                    ingested_at=ingested,
                    schema_version=SCHEMA_VERSION,
                    game_id=gid,
                    source_game_id=event["id"],
                    bookmaker=bookmaker,
                    bookmaker_title=book.get("title"),
                    market=key,
                    selection=selection.value,
                    selection_name=outcome.get("name"),
                    price=price,
                    point=point,
                    is_exchange=bookmaker in EXCHANGES or key.endswith("_lay"),
                    last_update=updated,
                    home_team=event["home_team"],
                    away_team=event["away_team"],
                    commence_time=event["commence_time"],
                )
            )
        return result
