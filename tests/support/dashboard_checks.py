"""Expected values of one panel per dashboard, computed in Python from the records Druid ingested.

The Druid test feeds known aggregate records into Druid, runs each checked panel's rendered SQL
(``dashboards.queries.panel_query``) and compares the rows with these functions' output, which
follow the panels' definitions independently of SQL.  Records are the aggregate rows as published
to Kafka (``lakehouse.schemas.aggregates``: ISO-8601 timestamps, ``is_exchange`` a bool).

Conventions shared with the SQL, so results match exactly:

* Druid keeps ``__time`` (the aggregate's ``time_column``) and ``TIME_PARSE`` results to the
  millisecond; the range is ``[time_from, time_to)`` on that millisecond time.
* "Latest" is the row with the greatest such time; two different rows on the same millisecond make
  Druid's choice arbitrary, so the functions raise ``AmbiguousLatestError`` instead of guessing
  (identical resends, which at-least-once delivery produces, are fine).
* Variables: a value, a list of values, ``ALL``/missing for no filter (``market`` defaults to
  ``h2h`` as the dashboard does).
* Compare rows as returned (each function documents the order), floats to ~1e-9 relative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dashboards import (
    arbitrage_radar,
    bookmaker_margins,
    line_movement_steam,
    live_odds_board,
    pipeline_health,
)
from dashboards.queries import ALL
from lakehouse.schemas.aggregates import (
    ARBITRAGE_OPPORTUNITIES,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    PIPELINE_HEALTH,
    STEAM_MOVES,
    AggregateType,
)

Record = Mapping[str, Any]
Row = dict[str, Any]
VariableValues = Mapping[str, str | Sequence[str]]


class AmbiguousLatestError(ValueError):
    """Two rows tie for "latest" on Druid's millisecond time: the panel's value is not determined."""


@dataclass(frozen=True)
class Check:
    dashboard: str
    panel_title: str
    aggregate: AggregateType
    expected: Callable[[Iterable[Record], datetime, datetime, VariableValues | None], list[Row]]


def best_price_per_selection(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None = None
) -> list[Row]:
    """Live odds board, "Best price per selection", from ``market_prices_live`` records.

    Each (game, market, bookmaker, selection)'s current quote is its latest row in the range (by
    ``updated_at``) after the sport/competition/bookmaker filters.  Grouped by (sport, game, market,
    the quote's point, selection): ``best_price`` = max price, ``best_sportsbook_price`` = max over
    non-exchange books (None if only exchanges), ``mean_price``, ``books`` = quotes in the group.
    Ordered by game_id, market, point (null first), selection.
    """
    chosen = _filters(variables, ("sport", "competition", "bookmaker"))
    current = _latest(
        (r for r in _in_range(records, MARKET_PRICES_LIVE, time_from, time_to) if _keep(r, chosen)),
        key=lambda r: (r["game_id"], r["market"], r["bookmaker"], r["selection"], bool(r["is_exchange"])),
        at=lambda r: _time(r, MARKET_PRICES_LIVE.time_column),
    )
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for r in current.values():
        key = (
            r["sport"],
            r["game_id"],
            r["home_team"],
            r["away_team"],
            r["market"],
            r["point"],
            r["selection"],
        )
        groups[key].append(r)
    rows = []
    for (sport, game_id, home, away, market, point, selection), quotes in groups.items():
        prices = [q["price"] for q in quotes]
        books = [q["price"] for q in quotes if not q["is_exchange"]]
        rows.append(
            {
                "sport": sport,
                "game_id": game_id,
                "game": f"{home} v {away}",
                "market": market,
                "point": point,
                "selection": selection,
                "best_price": max(prices),
                "best_sportsbook_price": max(books) if books else None,
                "mean_price": sum(prices) / len(prices),
                "books": len(prices),
            }
        )
    return sorted(rows, key=lambda r: (r["game_id"], r["market"], *_nulls_first(r["point"]), r["selection"]))


def _open_states(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None
) -> list[Record]:
    """Each arbitrage's state (its latest published row in the range, by ``published_at``, after
    the sport and competition filters) that says open and is not retracted."""
    chosen = _filters(variables, ("sport", "competition"))
    states = _latest(
        (r for r in _in_range(records, ARBITRAGE_OPPORTUNITIES, time_from, time_to) if _keep(r, chosen)),
        key=lambda r: (r["arb_id"], r["game_id"], r["sport"], r["market"], r["point"]),
        at=_published,
    )
    return [s for s in states.values() if s["status"] == "open" and not s.get("retracted")]


def open_arbitrages(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None = None
) -> list[Row]:
    """Arbitrage radar, "Open arbitrages": one row, ``open_arbitrages`` = the open states."""
    return [{"open_arbitrages": len(_open_states(records, time_from, time_to, variables))}]


def actionable_arbitrages(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None = None
) -> list[Row]:
    """Arbitrage radar, "Actionable now": the open states whose latest row's assessment (the
    trader's verdict) is ``actionable``."""
    states = _open_states(records, time_from, time_to, variables)
    return [{"actionable": sum(1 for s in states if s.get("assessment") == "actionable")}]


def mean_margin_per_bookmaker(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None = None
) -> list[Row]:
    """Bookmaker margins, "Mean margin per bookmaker", from ``market_agg_1m`` records.

    Rows of the chosen market (default h2h) in the range (by ``window_start``) with a
    ``bookmaker_margin``, after the sport/competition/bookmaker filters; each bar (window, game,
    market, point, bookmaker, selection) counts once, with its latest emission's margin (by
    ``published_at``).  Per bookmaker: ``mean_margin``, ``min_margin``, ``max_margin``, ``bars``.
    Ordered by mean_margin, then bookmaker.
    """
    chosen = _filters(variables, ("sport", "competition", "bookmaker"))
    market = _market(variables)
    bars = _latest(
        (
            r
            for r in _in_range(records, MARKET_AGG_1M, time_from, time_to)
            if r["market"] == market and r.get("bookmaker_margin") is not None and _keep(r, chosen)
        ),
        key=lambda r: (
            _time(r, "window_start"),
            r["game_id"],
            r["sport"],
            r["market"],
            r["point"],
            r["bookmaker"],
            r["selection"],
        ),
        at=_published,
    )
    margins: dict[str, list[float]] = defaultdict(list)
    for bar in bars.values():
        margins[bar["bookmaker"]].append(bar["bookmaker_margin"])
    rows = [
        {
            "bookmaker": book,
            "mean_margin": sum(values) / len(values),
            "min_margin": min(values),
            "max_margin": max(values),
            "bars": len(values),
        }
        for book, values in margins.items()
    ]
    return sorted(rows, key=lambda r: (r["mean_margin"], r["bookmaker"]))


def steam_moves_by_direction(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None = None
) -> list[Row]:
    """Line movement and steam, "Steam moves by direction", from ``steam_moves`` records.

    Rows in the range (by ``window_start``) after the sport and competition filters; each move
    (window, game, market, point, selection) counts once with its latest detection (by
    ``published_at``), unless that detection is retracted.  Per direction: ``moves``,
    ``mean_move_pct`` (mean of median_move_pct), ``max_books_moved``.  Ordered by direction.
    """
    chosen = _filters(variables, ("sport", "competition"))
    moves = _latest(
        (r for r in _in_range(records, STEAM_MOVES, time_from, time_to) if _keep(r, chosen)),
        key=lambda r: (
            _time(r, "window_start"),
            r["game_id"],
            r["sport"],
            r["market"],
            r["point"],
            r["selection"],
        ),
        at=_published,
    )
    by_direction: dict[str, list[Record]] = defaultdict(list)
    for m in (m for m in moves.values() if not m.get("retracted")):
        by_direction[m["direction"]].append(m)
    return [
        {
            "direction": direction,
            "moves": len(ms),
            "mean_move_pct": sum(m["median_move_pct"] for m in ms) / len(ms),
            "max_books_moved": max(m["books_moved"] for m in ms),
        }
        for direction, ms in sorted(by_direction.items())
    ]


SOURCE_METRICS = ("source_up", "rate_limit_remaining", "records_per_s", "freshness_s")


def producer_source_health(
    records: Iterable[Record], time_from: datetime, time_to: datetime, variables: VariableValues | None = None
) -> list[Row]:
    """Pipeline health, "Producer source health", from ``pipeline_health`` records.

    Samples in the range (by ``observed_at``) of ``producer:*`` components passing the component
    filter.  Per component: the latest value of each of source_up, rate_limit_remaining,
    records_per_s and freshness_s (None when it sent none), and ``dead_letters`` = the sum of its
    dead_letters samples (None when none).  Ordered by component.
    """
    chosen = _filters(variables, ("component",))
    samples = [
        r
        for r in _in_range(records, PIPELINE_HEALTH, time_from, time_to)
        if r["component"].startswith("producer:") and _keep(r, chosen)
    ]
    rows = []
    for component in sorted({s["component"] for s in samples}):
        mine = [s for s in samples if s["component"] == component]
        row: Row = {"component": component}
        for metric in SOURCE_METRICS:
            latest = _latest(
                (s for s in mine if s["metric"] == metric),
                key=lambda s: s["component"],
                at=lambda s: _time(s, PIPELINE_HEALTH.time_column),
            )
            row[metric] = latest[component]["value"] if latest else None
        dead = [s["value"] for s in mine if s["metric"] == "dead_letters"]
        row["dead_letters"] = sum(dead) if dead else None
        rows.append(row)
    return rows


CHECKS: dict[str, Check] = {
    c.dashboard: c
    for c in (
        Check(live_odds_board.UID, live_odds_board.BEST_PRICES, MARKET_PRICES_LIVE, best_price_per_selection),
        Check(
            arbitrage_radar.UID, arbitrage_radar.ACTIONABLE, ARBITRAGE_OPPORTUNITIES, actionable_arbitrages
        ),
        Check(bookmaker_margins.UID, bookmaker_margins.MEAN_MARGIN, MARKET_AGG_1M, mean_margin_per_bookmaker),
        Check(
            line_movement_steam.UID,
            line_movement_steam.STEAM_BY_DIRECTION,
            STEAM_MOVES,
            steam_moves_by_direction,
        ),
        Check(pipeline_health.UID, pipeline_health.SOURCE_HEALTH, PIPELINE_HEALTH, producer_source_health),
    )
}
"""The checked panel of each dashboard, by dashboard uid."""


# -- shared semantics ---------------------------------------------------------------------------


def _time(record: Record, column: str) -> datetime:
    """A timestamp as Druid holds it: UTC, truncated to the millisecond."""
    value = record[column]
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"{column}={value!r} has no time zone")
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _published(record: Record) -> datetime:
    """When the aggregates job published this version: its Kafka timestamp, Druid's ``published_at``."""
    return datetime.fromtimestamp(record["published_at"] / 1000, UTC)


def _in_range(
    records: Iterable[Record], agg: AggregateType, time_from: datetime, time_to: datetime
) -> list[Record]:
    return [r for r in records if time_from <= _time(r, agg.time_column) < time_to]


def _filters(variables: VariableValues | None, names: Sequence[str]) -> dict[str, set[str] | None]:
    """Selected values per variable; None means All (no filter)."""
    out: dict[str, set[str] | None] = {}
    for name in names:
        value = (variables or {}).get(name)
        values = [] if value is None else [value] if isinstance(value, str) else list(value)
        out[name] = None if not values or ALL in values else set(values)
    return out


def _market(variables: VariableValues | None) -> str:
    value = (variables or {}).get("market", "h2h")
    return value if isinstance(value, str) else next(iter(value))


def _keep(record: Record, chosen: Mapping[str, set[str] | None]) -> bool:
    columns = {
        "sport": lambda r: r["sport"].split("_", 1)[0],
        "competition": lambda r: r["sport"],
        "bookmaker": lambda r: r["bookmaker"],
        "component": lambda r: r["component"],
    }
    return all(values is None or columns[name](record) in values for name, values in chosen.items())


def _latest(
    records: Iterable[Record], key: Callable[[Record], Any], at: Callable[[Record], datetime]
) -> dict[Any, Record]:
    """The latest record per key; a tie on the latest millisecond is ambiguous in Druid too."""
    best: dict[Any, tuple[datetime, Record]] = {}
    tied: set[Any] = set()
    for r in records:
        k, t = key(r), at(r)
        if k not in best or t > best[k][0]:
            best[k] = (t, r)
            tied.discard(k)
        elif t == best[k][0] and r != best[k][1]:  # an at-least-once resend is identical: no tie
            tied.add(k)
    if tied:
        raise AmbiguousLatestError(
            f"rows tie for latest on the same millisecond for key(s) {sorted(map(str, tied))}"
        )
    return {k: r for k, (_, r) in best.items()}


def _nulls_first(value: float | None) -> tuple[bool, float]:
    return (value is not None, value if value is not None else 0.0)
