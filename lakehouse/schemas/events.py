"""The canonical event types, each defined exactly once.

Records are flat: the envelope fields followed by the feed's own fields, no nested
``payload`` struct. Flat rows read the same in Kafka JSON, Spark, Iceberg and SQL
(no ``payload.price`` paths), partition and sort on plain columns, and evolve by
appending columns.

Evolution rules (they keep Iceberg field ids and old records valid):

* only append OPTIONAL fields at the end of ``payload`` and bump ``schema_version``;
* never rename, reorder, retype or remove a field, and leave the envelope alone;
* every older version stays accepted, because an additive change cannot make an old
  record invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property
from typing import Protocol

from lakehouse.schemas.fields import (
    BOOLEAN,
    DOUBLE,
    INT,
    STRING,
    TIMESTAMP,
    Field,
    ListOf,
    check_unique_names,
    optional,
    required,
)

KEY_PATTERN = r"^[a-z0-9]+(_[a-z0-9]+)*$"
"""Lower snake_case machine keys (sources, sport keys, bookmaker keys)."""


class Market(StrEnum):
    H2H = "h2h"
    H2H_LAY = "h2h_lay"
    SPREADS = "spreads"
    TOTALS = "totals"


class Selection(StrEnum):
    HOME = "home"
    AWAY = "away"
    DRAW = "draw"
    OVER = "over"
    UNDER = "under"


class GameStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    FINAL = "final"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


class WeatherKind(StrEnum):
    CURRENT = "current"
    FORECAST = "forecast"


ENVELOPE: tuple[Field, ...] = (
    required(
        "event_id",
        STRING,
        "Unique id of this record; derived from the source record so replays deduplicate.",
        min_length=1,
    ),
    required(
        "source",
        STRING,
        "Feed the record came from: the_odds_api, espn, openweather, open_meteo, newsapi, gnews, "
        "rss, simulator or replay.",
        pattern=KEY_PATTERN,
    ),
    required(
        "sport",
        STRING,
        "Sport key in The Odds API style (<sport>_<league>, e.g. soccer_epl, basketball_nba): "
        "the finest grain every feed can map to, and the partition key.",
        pattern=KEY_PATTERN,
    ),
    required("event_time", TIMESTAMP, "When it happened at the source (UTC)."),
    required(
        "ingested_at",
        TIMESTAMP,
        "When our producer received it (UTC); ingested_at - event_time is the feed lag.",
    ),
    required(
        "schema_version",
        INT,
        "Version of this event type's schema the record was written against.",
        minimum=1,
    ),
)

_GAME_ID = "Canonical game id, identical across feeds for the same fixture."
_SOURCE_GAME_ID = "The source's own id for the game, kept for tracing and re-matching."


class RecordType(Protocol):
    """What the schema derivers and ``validate`` need of a record type: feed events and aggregates."""

    @property
    def name(self) -> str: ...

    @property
    def schema_version(self) -> int: ...

    @property
    def doc(self) -> str: ...

    @property
    def fields(self) -> tuple[Field, ...]: ...

    @property
    def supported_versions(self) -> tuple[int, ...]: ...

    def __hash__(self) -> int: ...


@dataclass(frozen=True)
class EventType:
    """One feed's record type: the envelope plus ``payload`` fields, flattened."""

    name: str
    schema_version: int
    doc: str
    payload: tuple[Field, ...]

    def __post_init__(self) -> None:
        if self.schema_version < 1:
            raise ValueError(f"{self.name}: schema_version starts at 1")
        check_unique_names(self.fields)

    @property
    def supported_versions(self) -> tuple[int, ...]:
        """Every version up to the current one; additive evolution keeps old records valid."""
        return tuple(range(1, self.schema_version + 1))

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """The full flat record, with schema_version pinned to the supported versions."""
        envelope = tuple(
            replace(f, enum=self.supported_versions) if f.name == "schema_version" else f for f in ENVELOPE
        )
        return (*envelope, *self.payload)

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


ODDS_QUOTE = EventType(
    name="odds",
    schema_version=1,
    doc="One price for one selection of one market at one bookmaker.",
    payload=(
        required("game_id", STRING, _GAME_ID, min_length=1),
        required("source_game_id", STRING, _SOURCE_GAME_ID, min_length=1),
        required(
            "bookmaker", STRING, "Bookmaker key as sent, e.g. pinnacle, betfair_ex_uk.", pattern=KEY_PATTERN
        ),
        optional("bookmaker_title", STRING, "Bookmaker display name as sent."),
        required("market", STRING, "Market key.", enum=tuple(Market)),
        required(
            "selection",
            STRING,
            "Canonical outcome: home/away/draw for h2h and spreads, over/under for totals.",
            enum=tuple(Selection),
        ),
        required("selection_name", STRING, "Outcome name exactly as sent (team name, 'Draw', 'Over')."),
        required("price", DOUBLE, "Decimal odds; above 1.0, since 1.0 pays nothing.", exclusive_minimum=1.0),
        optional("point", DOUBLE, "Handicap or total line for spreads and totals; null for h2h."),
        required("is_exchange", BOOLEAN, "True for betting-exchange quotes: no margin, but commission."),
        required("last_update", TIMESTAMP, "The bookmaker's own update time for this market."),
        optional(
            "previous_price",
            DOUBLE,
            "Price the producer last saw for this quote, for change detection; null on first sight.",
            exclusive_minimum=1.0,
        ),
        required("home_team", STRING, "Home team name as sent."),
        required("away_team", STRING, "Away team name as sent."),
        required("commence_time", TIMESTAMP, "Scheduled start of the game."),
    ),
)

GAME_EVENT = EventType(
    name="games",
    schema_version=2,  # 2: status_detail
    doc="A snapshot of one game's schedule, state and score.",
    payload=(
        required("game_id", STRING, _GAME_ID, min_length=1),
        required("source_game_id", STRING, _SOURCE_GAME_ID, min_length=1),
        required("competition", STRING, "Competition or league name as sent, e.g. 'Premier League'."),
        required("home_team", STRING, "Home team name as sent."),
        required("away_team", STRING, "Away team name as sent."),
        optional("home_team_id", STRING, "Canonical home team id, when resolved."),
        optional("away_team_id", STRING, "Canonical away team id, when resolved."),
        required("commence_time", TIMESTAMP, "Scheduled start of the game."),
        required("status", STRING, "Game status.", enum=tuple(GameStatus)),
        optional("period", INT, "Current period (half, quarter, inning); null before kick-off.", minimum=0),
        optional("clock", STRING, "Game clock as displayed by the source, e.g. \"67'\" or '04:12'."),
        optional("home_score", INT, "Home score; null before the game starts.", minimum=0),
        optional("away_score", INT, "Away score; null before the game starts.", minimum=0),
        optional("venue_name", STRING, "Venue name."),
        optional("venue_city", STRING, "Venue city."),
        optional("venue_country", STRING, "Venue country."),
        optional("venue_lat", DOUBLE, "Venue latitude, degrees.", minimum=-90.0, maximum=90.0),
        optional("venue_lon", DOUBLE, "Venue longitude, degrees.", minimum=-180.0, maximum=180.0),
        optional(
            "status_detail",
            STRING,
            "The source's own short status once play starts: 'Top 9th', 'Halftime', 'AET', 'FT-Pens'.",
        ),
    ),
)

WEATHER_OBSERVATION = EventType(
    name="weather",
    schema_version=1,
    doc="Current conditions or a forecast at a venue.",
    payload=(
        optional("game_id", STRING, "Canonical game id the weather was fetched for, if any."),
        required("location_name", STRING, "Place name, usually the venue or its city."),
        required("lat", DOUBLE, "Latitude, degrees.", minimum=-90.0, maximum=90.0),
        required("lon", DOUBLE, "Longitude, degrees.", minimum=-180.0, maximum=180.0),
        required("kind", STRING, "Observed conditions or a forecast.", enum=tuple(WeatherKind)),
        required(
            "valid_at",
            TIMESTAMP,
            "Time the values hold for: observation time (current) or target time (forecast).",
        ),
        optional("temperature_c", DOUBLE, "Air temperature, °C."),
        optional("feels_like_c", DOUBLE, "Apparent temperature, °C."),
        optional("humidity_pct", DOUBLE, "Relative humidity, %.", minimum=0.0, maximum=100.0),
        optional("wind_speed_ms", DOUBLE, "Wind speed, m/s.", minimum=0.0),
        optional(
            "wind_direction_deg", DOUBLE, "Wind direction, degrees from north.", minimum=0.0, maximum=360.0
        ),
        optional("precipitation_mm", DOUBLE, "Precipitation over the source's interval, mm.", minimum=0.0),
        optional("condition", STRING, "Short condition text as sent, e.g. 'light rain'."),
    ),
)

NEWS_ARTICLE = EventType(
    name="news",
    schema_version=1,
    doc="A news article, tagged with the teams it mentions.",
    payload=(
        required(
            "article_id", STRING, "Stable article id (the source's id, or a hash of the URL).", min_length=1
        ),
        required("url", STRING, "Canonical article URL.", pattern=r"^https?://"),
        required("title", STRING, "Headline.", min_length=1),
        optional("description", STRING, "Summary or lead paragraph as sent."),
        required("published_at", TIMESTAMP, "Publication time given by the outlet."),
        required("outlet", STRING, "Publishing outlet, e.g. 'BBC Sport' (the feed itself is `source`)."),
        required("team_ids", ListOf(STRING), "Canonical ids of the teams mentioned; empty if none resolved."),
        required("teams", ListOf(STRING), "Team names as mentioned in the article; empty if none."),
        optional("game_id", STRING, "Canonical game id, when the article is about one game."),
    ),
)

EVENT_TYPES: dict[str, EventType] = {
    t.name: t for t in (ODDS_QUOTE, GAME_EVENT, WEATHER_OBSERVATION, NEWS_ARTICLE)
}


def get_event_type(name: str) -> EventType:
    """Look up a registered event type, failing with the known names."""
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown event type {name!r} (known: {', '.join(sorted(EVENT_TYPES))})") from None
