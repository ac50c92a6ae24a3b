"""The real-time aggregate records, each defined exactly once.

The streaming layer writes these to gold Iceberg tables and to Kafka topics that Druid
ingests; both sinks derive their schema from the definitions here (``json_schema``,
``spark_schema``, ``iceberg_schema`` and ``validate`` accept an ``AggregateType`` just like an
``EventType``), so the table, the topic and the Druid spec cannot drift apart.

Aggregates are our own derived records, not feed events, so they carry no envelope
(``source``, ``event_time`` and ``ingested_at`` mean nothing for a window). Like events they
are flat, timestamps are UTC, and they evolve by appending optional fields and bumping
``schema_version``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from lakehouse.schemas.events import KEY_PATTERN, Market, Selection
from lakehouse.schemas.fields import (
    BOOLEAN,
    DOUBLE,
    INT,
    LONG,
    STRING,
    TIMESTAMP,
    Field,
    ListOf,
    check_unique_names,
    optional,
    required,
)
from lakehouse.trading import Status


class ArbitrageStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


ASSESSMENTS: tuple[str, ...] = get_args(Status)
"""The trader's verdicts on an arbitrage window, as ``lakehouse.trading`` defines them."""


class SteamDirection(StrEnum):
    SHORTENING = "shortening"  # price falling: money coming in on the selection
    DRIFTING = "drifting"  # price rising: money leaving it


@dataclass(frozen=True)
class AggregateType:
    """One aggregate record type: the fields as written, with no envelope prepended.

    Duck-type compatible with ``EventType`` for the derivers and ``validate`` (``name``,
    ``schema_version``, ``doc``, ``fields``, ``supported_versions``). ``topic`` is the Kafka
    topic the stream writes to (and Druid reads); ``key`` is the columns identifying a row:
    the Kafka message key, the compaction key and the upsert key of the gold table.
    """

    name: str
    topic: str
    schema_version: int
    doc: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    time_column: str  # the row's time in a time-series store (Druid's __time)

    def __post_init__(self) -> None:
        if self.schema_version < 1:
            raise ValueError(f"{self.name}: schema_version starts at 1")
        check_unique_names(self.fields)
        names = {f.name for f in self.fields}
        unknown = set(self.key) - names
        if unknown:
            raise ValueError(f"{self.name}: key column(s) {sorted(unknown)} are not fields")
        if self.time_column not in names:
            raise ValueError(f"{self.name}: time_column {self.time_column!r} is not a field")

    @property
    def supported_versions(self) -> tuple[int, ...]:
        """Every version up to the current one, as for events (additive evolution)."""
        return tuple(range(1, self.schema_version + 1))

    @property
    def topic_suffix(self) -> str:
        """The topic without its namespace (``agg.market_1m`` -> ``market_1m``)."""
        return self.topic.split(".", 1)[-1]


def _game_id() -> Field:
    return required("game_id", STRING, "Canonical game id, identical across feeds.", min_length=1)


def _sport() -> Field:
    return required("sport", STRING, "Sport key, e.g. soccer_epl.", pattern=KEY_PATTERN)


def _market() -> Field:
    return required("market", STRING, "Market key.", enum=tuple(Market))


def _selection() -> Field:
    return required(
        "selection",
        STRING,
        "Canonical outcome: home/away/draw for h2h and spreads, over/under for totals.",
        enum=tuple(Selection),
    )


def _bookmaker(name: str = "bookmaker", doc: str = "Bookmaker key, e.g. pinnacle.") -> Field:
    return required(name, STRING, doc, pattern=KEY_PATTERN)


def _price(name: str, doc: str, *, is_required: bool = True) -> Field:
    make = required if is_required else optional
    return make(name, DOUBLE, doc, exclusive_minimum=1.0)


def _probability(name: str, doc: str) -> Field:
    return optional(name, DOUBLE, doc, minimum=0.0, maximum=1.0)


_SELECTION_POINT = optional(
    "point",
    DOUBLE,
    "The selection's own handicap or total as quoted (the away side of home -0.5 is +0.5); null for h2h.",
)
_LINE_POINT = optional(
    "point",
    DOUBLE,
    "The market line: the home handicap for spreads (both sides compared on it), the total for "
    "totals; null for h2h.",
)
_WINDOW = (
    required("window_start", TIMESTAMP, "Start of the event-time window (inclusive)."),
    required("window_end", TIMESTAMP, "End of the event-time window (exclusive)."),
)
_UPDATED_AT = required(
    "updated_at",
    TIMESTAMP,
    "Event time the row is as of: the newest quote behind it (replays give the same value).",
)
_RETRACTED = optional(
    "retracted",
    BOOLEAN,
    "True when a quote that arrived out of order showed this row never held: consumers drop the "
    "key (the gold table deletes it). Null or false otherwise.",
)

MARKET_PRICES_LIVE = AggregateType(
    name="market_prices_live",
    topic="agg.market_prices_live",
    schema_version=1,
    doc="The latest price per game, market, bookmaker and selection (a compacted topic).",
    time_column="updated_at",
    key=("game_id", "market", "bookmaker", "selection"),
    fields=(
        _game_id(),
        _sport(),
        _market(),
        _bookmaker(),
        _selection(),
        _SELECTION_POINT,
        _price("price", "Latest decimal price."),
        _price("previous_price", "The price before this one; null on first sight.", is_required=False),
        required("is_exchange", BOOLEAN, "True for betting-exchange quotes: no margin, but commission."),
        required("last_update", TIMESTAMP, "The bookmaker's own update time for this price."),
        required(
            "event_id",
            STRING,
            "event_id of the odds quote this price came from (traces to silver).",
            min_length=1,
        ),
        _UPDATED_AT,
        required("home_team", STRING, "Home team name as sent."),
        required("away_team", STRING, "Away team name as sent."),
        required("commence_time", TIMESTAMP, "Scheduled start of the game."),
    ),
)

MARKET_AGG_1M = AggregateType(
    name="market_agg_1m",
    topic="agg.market_1m",
    schema_version=1,
    doc="One-minute price bars per game, market, line, bookmaker and selection, with the board's "
    "best price, consensus fair probability and the bookmaker's margin at window end.",
    time_column="window_start",
    key=("window_start", "game_id", "market", "point", "bookmaker", "selection"),
    fields=(
        *_WINDOW,
        _game_id(),
        _sport(),
        _market(),
        _SELECTION_POINT,
        _bookmaker(),
        _selection(),
        _price("open_price", "First price of the window."),
        _price("last_price", "Last price of the window."),
        _price("min_price", "Lowest price in the window."),
        _price("max_price", "Highest price in the window."),
        required("quotes", LONG, "Quotes received in the window.", minimum=1),
        # Optional although usually set: when a book moves its line mid-window, the old line may
        # have no complete board at window end, and a required column would reject the bar.
        _price(
            "best_price",
            "Best price across books for this selection and line at window end; null when the line "
            "is not fully quoted then.",
            is_required=False,
        ),
        optional(
            "best_bookmaker",
            STRING,
            "Book offering best_price (alphabetically first on a tie).",
            pattern=KEY_PATTERN,
        ),
        _probability(
            "fair_prob_shin",
            "Consensus fair probability at window end: the mean over every bookmaker quoting all "
            "selections of the line of its own Shin de-vigged probability.",
        ),
        _probability(
            "fair_prob_multiplicative",
            "As fair_prob_shin, de-vigging each book multiplicatively.",
        ),
        optional(
            "bookmaker_margin",
            DOUBLE,
            "This bookmaker's overround - 1 on the line at window end, when it quotes every "
            "selection; negative for exchange books below 100%.",
        ),
        _UPDATED_AT,
    ),
)

ARBITRAGE_OPPORTUNITIES = AggregateType(
    name="arbitrage_opportunities",
    topic="agg.arbitrage",
    schema_version=3,
    doc="A cross-book arbitrage on one game, market and line, from opening to closing; each update "
    "re-emits the row under the same arb_id.",
    time_column="updated_at",
    key=("arb_id",),
    fields=(
        required(
            "arb_id", STRING, "Deterministic id: hash of game_id, market, point and opened_at.", min_length=1
        ),
        _game_id(),
        _sport(),
        _market(),
        _LINE_POINT,
        required("status", STRING, "open while the best prices sum below 100%.", enum=tuple(ArbitrageStatus)),
        required("opened_at", TIMESTAMP, "Event time of the quote that made the arbitrage."),
        optional("closed_at", TIMESTAMP, "Event time of the quote that ended it; null while open."),
        required(
            "age_s",
            DOUBLE,
            "Seconds from opened_at to its last change (to closed_at once closed).",
            minimum=0.0,
        ),
        required(
            "inverse_sum", DOUBLE, "Sum of 1/best price; below 1 is an arbitrage.", exclusive_minimum=0.0
        ),
        required("guaranteed_return", DOUBLE, "1/inverse_sum - 1: profit per unit staked, whatever wins."),
        required("selections", ListOf(STRING), "Selections of the line, in a fixed order."),
        required("best_prices", ListOf(DOUBLE), "Best price per selection, same order."),
        required("bookmakers", ListOf(STRING), "Book offering each best price, same order."),
        required("stakes", ListOf(DOUBLE), "Equal-payout stakes per 100 staked in total, same order."),
        _UPDATED_AT,
        _RETRACTED,
        # v3: the trader's judgement (lakehouse.trading) of the window at its last change
        optional(
            "assessment",
            STRING,
            "suspect (a best price far above the consensus fair price), else stale (a best price "
            "quoted long before the line's newest quote), else commission_eaten (no profit net of "
            "exchange commission), else actionable.",
            enum=tuple(ASSESSMENTS),
        ),
        optional("net_return", DOUBLE, "guaranteed_return on prices net of exchange commission."),
        optional(
            "net_stakes",
            ListOf(DOUBLE),
            "Stakes to place per 100 on prices net of commission, rounded and capped as the trading "
            "settings say.",
        ),
        optional("stale_selections", ListOf(STRING), "Selections whose best price is stale."),
        optional("suspect_selections", ListOf(STRING), "Selections whose best price is suspect."),
    ),
)

STEAM_MOVES = AggregateType(
    name="steam_moves",
    topic="agg.steam_moves",
    schema_version=2,
    doc="A selection whose price moved the same way at several bookmakers within one window "
    "(sharp money hitting the market).",
    time_column="window_start",
    key=("window_start", "game_id", "market", "point", "selection"),
    fields=(
        *_WINDOW,
        _game_id(),
        _sport(),
        _market(),
        _SELECTION_POINT,
        _selection(),
        required("direction", STRING, "shortening = price down.", enum=tuple(SteamDirection)),
        required("books_moved", INT, "Books that moved beyond the threshold in this direction.", minimum=1),
        required("books_quoting", INT, "Books quoting the selection in the window.", minimum=1),
        required(
            "median_move_pct", DOUBLE, "Median signed move (last/open - 1, in %) of the books that moved."
        ),
        required("threshold_pct", DOUBLE, "Move a book needed to count, in %.", minimum=0.0),
        required("detected_at", TIMESTAMP, "Event time the window's board is as of when the move shows."),
        _RETRACTED,
    ),
)

PIPELINE_HEALTH = AggregateType(
    name="pipeline_health",
    topic="pipeline.health",
    schema_version=1,
    doc="One health metric sample from a producer or streaming job.",
    time_column="observed_at",
    key=("component", "metric"),
    fields=(
        required("component", STRING, "Emitter, e.g. producer:the_odds_api or stream:silver.", min_length=1),
        required("metric", STRING, "Metric name, e.g. records_per_s or lag_s.", min_length=1),
        required("value", DOUBLE, "Metric value."),
        optional("labels", STRING, "Extra labels as a JSON object in text, so no sink needs a map type."),
        required("observed_at", TIMESTAMP, "When the value was observed."),
    ),
)

AGGREGATE_TYPES: dict[str, AggregateType] = {
    t.topic_suffix: t
    for t in (MARKET_PRICES_LIVE, MARKET_AGG_1M, ARBITRAGE_OPPORTUNITIES, STEAM_MOVES, PIPELINE_HEALTH)
}
"""Keyed by topic suffix: market_prices_live, market_1m, arbitrage, steam_moves, health."""


def get_aggregate_type(key: str) -> AggregateType:
    """Look up an aggregate by topic suffix, full topic or name, failing with the known keys."""
    for t in AGGREGATE_TYPES.values():
        if key in (t.topic_suffix, t.topic, t.name):
            return t
    raise KeyError(f"unknown aggregate type {key!r} (known: {', '.join(sorted(AGGREGATE_TYPES))})")
