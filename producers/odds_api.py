"""The Odds API v4 `/sports/{sport}/odds` response -> canonical odds-quote records.

One record per (event, bookmaker, market, outcome).  Parsing is separate from fetching so
the live connector, the replay of captured files and the demo share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from lakehouse.schemas import Market, Selection, format_timestamp

SOURCE = "the_odds_api"
SCHEMA_VERSION = 1
EXCHANGES = frozenset({"betfair_ex_eu", "betfair_ex_uk", "betfair_ex_au", "matchbook", "smarkets", "betfair"})


class OddsApiParseError(ValueError):
    """The body is not the documented shape; the message names the field that is off."""


def game_id_for(source_game_id: str) -> str:
    """Provisional game id namespaced by source (the team registry maps it to a canonical one)."""
    return f"{SOURCE}:{source_game_id}"


def _selection(market: str, name: str, home: str, away: str) -> Selection:
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
    raise OddsApiParseError(
        f"outcome {name!r} matches neither team ({home!r} v {away!r}) in market {market!r}"
    )


def _quote_id(*parts: Any) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()


def quotes_from_odds_api(
    events: Iterable[dict[str, Any]], ingested_at: datetime | None = None
) -> Iterator[dict]:
    """Canonical odds-quote records (not yet validated) from a list of Odds API events."""
    ingested = format_timestamp(ingested_at or datetime.now(UTC))
    for event in events:
        try:
            source_game_id, sport = event["id"], event["sport_key"]
            home, away, commence = event["home_team"], event["away_team"], event["commence_time"]
            bookmakers = event["bookmakers"]
        except (KeyError, TypeError) as exc:
            raise OddsApiParseError(f"event is missing field {exc}") from exc
        for book in bookmakers:
            for market in book.get("markets", []):
                key = market["key"]
                if key not in {m.value for m in Market}:
                    raise OddsApiParseError(f"unknown market {key!r} from {book['key']}")
                updated = market.get("last_update") or book["last_update"]
                for outcome in market["outcomes"]:
                    selection = _selection(key, outcome["name"], home, away)
                    point = outcome.get("point")
                    yield {
                        "event_id": _quote_id(
                            SOURCE, source_game_id, book["key"], key, selection, point, updated
                        ),
                        "source": SOURCE,
                        "sport": sport,
                        "event_time": updated,
                        "ingested_at": ingested,
                        "schema_version": SCHEMA_VERSION,
                        "game_id": game_id_for(source_game_id),
                        "source_game_id": source_game_id,
                        "bookmaker": book["key"],
                        "bookmaker_title": book.get("title"),
                        "market": key,
                        "selection": selection.value,
                        "selection_name": outcome["name"],
                        "price": outcome["price"],
                        "point": point,
                        "is_exchange": book["key"] in EXCHANGES or key.endswith("_lay"),
                        "last_update": updated,
                        "previous_price": None,
                        "home_team": home,
                        "away_team": away,
                        "commence_time": commence,
                    }
