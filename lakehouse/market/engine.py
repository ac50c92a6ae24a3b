"""The speed layer's market engine: one game's quotes in, its aggregate records out, deterministically.

A ``GameState`` holds what the aggregates of one game need between batches, and
``GameState.apply`` folds a batch of that game's quotes into it, returning the aggregate records
whose value changed.  The Spark job keeps one ``GameState`` per game in its state store
(``streaming.aggregates``); tests and batch recomputations drive the same code directly.

**Every output is a function of the set of quotes, not of how they were batched or ordered.**
Quotes are ordered by ``(event_time, event_id)``; the board at an instant is the latest quote of
each (market, bookmaker, selection) at or before it, and every row is defined on that timeline:

* ``market_prices_live``: the latest quote per (market, bookmaker, selection); its previous
  price is the producer's own ``previous_price``, else the quote before it;
* ``market_agg_1m``: open/last/min/max/count per window and (market, point, bookmaker,
  selection), with the best price, consensus fair probabilities and margin of the board *at the
  window's end*; ``updated_at`` is the newest event time on that board;
* ``arbitrage_opportunities``: each interval in which a line's best prices sum below 1 (the
  trader's test: a 100% book in float noise is none), opened and closed at the event times of the
  quotes that made and ended it, with the trader's verdict (``lakehouse.trading``: actionable,
  stale, suspect, commission_eaten) taken on the board of each quote on the line;
* ``steam_moves``: selections that moved the same way at several books within one window.

A quote that arrives out of order (older than one already applied) re-derives what it touches:
the windows from its own on, and the arbitrage timeline from the start of its window (the engine
asks for the game's recent quotes through ``history``).  An arbitrage or steam move that the
re-derivation shows never held is published once more with ``retracted`` set, so the latest
non-retracted row per key is the same whatever the arrival order.  A quote more than ``lateness``
behind the game's newest is *late*: counted and left out (silver keeps it).  Each game is its own
timeline, so a replay of an old capture is not late next to a live feed.  Windows wholly behind
the game's watermark are final and leave the state.

Times are integer microseconds since the epoch (UTC) throughout.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from lakehouse.market.board import (
    Line,
    MarketSummary,
    Quote,
    arbitrage_window,
    detect_steam,
    selections_for,
    summarise_line,
    summarise_market,
)
from lakehouse.odds import arbitrage
from lakehouse.schemas import (
    ARBITRAGE_OPPORTUNITIES,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    STEAM_MOVES,
    ArbitrageStatus,
    format_timestamp,
)
from lakehouse.trading import ArbitrageRules, ArbitrageWindow

if TYPE_CHECKING:
    from lakehouse.config import Settings

__all__ = [
    "EngineSettings",
    "GameMeta",
    "GameState",
    "History",
    "Output",
    "Tick",
    "Verdict",
    "stamp",
    "to_micros",
]

US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(value: datetime | str) -> int:
    """Microseconds since the epoch of a datetime or an ISO 8601 string (naive means UTC)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


@functools.lru_cache(maxsize=1 << 16)
def stamp(micros: int) -> str:
    """The canonical timestamp text of a time in microseconds (remembered: times repeat a lot)."""
    return format_timestamp(_EPOCH + timedelta(microseconds=micros))


class Tick(NamedTuple):
    """One odds quote as the engine keeps it: small to store, ordered by (event time, event id)."""

    t: int  # event time, µs
    event_id: str
    market: str
    bookmaker: str
    selection: str
    price: float
    point: float | None
    is_exchange: bool
    last_update: int  # µs
    previous_price: float | None

    @property
    def order(self) -> tuple[int, str]:
        return (self.t, self.event_id)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Tick:
        """A validated ``odds`` record as the engine keeps it (tests and benches drive the engine
        with records; the Spark job builds ticks from its Arrow columns)."""
        return cls(
            to_micros(record["event_time"]),
            record["event_id"],
            record["market"],
            record["bookmaker"],
            record["selection"],
            float(record["price"]),
            record.get("point"),
            bool(record["is_exchange"]),
            to_micros(record["last_update"]),
            record.get("previous_price"),
        )


class GameMeta(NamedTuple):
    sport: str
    home_team: str
    away_team: str
    commence_time: int  # µs

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> GameMeta:
        return cls(
            record["sport"], record["home_team"], record["away_team"], to_micros(record["commence_time"])
        )


_NO_META = GameMeta("", "", "", 0)


@dataclass(frozen=True)
class EngineSettings:
    window_s: int = 60
    lateness_s: float = 120.0
    steam_threshold_pct: float = 2.0
    steam_min_books: int = 3
    rules: ArbitrageRules = field(default_factory=ArbitrageRules)  # the trader's judgement of a window

    @classmethod
    def of(cls, settings: Settings) -> EngineSettings:
        """The engine as configured: the speed layer runs it so, and the batch reconciliation too."""
        s = settings.streaming
        return cls(
            window_s=s.window_s,
            lateness_s=s.aggregates_lateness_s,
            steam_threshold_pct=s.steam_threshold_pct,
            steam_min_books=s.steam_min_books,
            rules=settings.trading.rules(),
        )

    @property
    def window_us(self) -> int:
        return self.window_s * US

    @property
    def lateness_us(self) -> int:
        return int(self.lateness_s * US)


class Output(NamedTuple):
    """One aggregate record to publish: its aggregate type name, Kafka key and value."""

    aggregate: str
    key: str
    record: dict[str, Any]


History = Callable[[int], Iterable[Tick]]
"""``history(since)``: the game's applied ticks with event time >= ``since`` (for re-derivation)."""

BoardKey = tuple[str, str, str]  # market, bookmaker, selection
BarKey = tuple[str, float | None, str, str]  # market, point, bookmaker, selection
LineKey = tuple[str, Line]  # market, line
SteamKey = tuple[str, float | None, str]  # market, point, selection
BestLine = tuple[tuple[str, ...], tuple[float, ...], tuple[str, ...]]  # selections, prices, books


@dataclass
class Bar:
    open: Tick
    last: Tick
    low: float
    high: float
    count: int

    def add(self, tick: Tick) -> None:
        if tick.order < self.open.order:
            self.open = tick
        if tick.order > self.last.order:
            self.last = tick
        self.low = min(self.low, tick.price)
        self.high = max(self.high, tick.price)
        self.count += 1


class Verdict(NamedTuple):
    """The trader's judgement of an arbitrage (``lakehouse.trading``) as its record carries it."""

    status: str  # actionable | stale | suspect | commission_eaten
    net_return: float
    stakes: tuple[float, ...]
    stale: tuple[str, ...]
    suspect: tuple[str, ...]

    @staticmethod
    def of(window: ArbitrageWindow) -> Verdict:
        return Verdict(window.status, window.net_return, window.stakes, window.stale, window.suspect)


@dataclass
class OpenArb:
    """An arbitrage in progress on one line: when it opened, and its last state and when that was.

    The verdict is taken on the board of the quote that last changed it, so a record is a function
    of the timeline, not of where a batch ended."""

    arb_id: str
    market: str
    line: Line
    opened_at: int
    best: BestLine
    last_t: int  # event time of the last quote that changed it
    verdict: Verdict | None = None  # None only in state written before verdicts existed

    def copy(self) -> OpenArb:
        return OpenArb(
            self.arb_id, self.market, self.line, self.opened_at, self.best, self.last_t, self.verdict
        )


@dataclass
class Window:
    start: int
    bars: dict[BarKey, Bar] = field(default_factory=dict)
    lasts: dict[BoardKey, Tick] = field(default_factory=dict)  # latest quote per board key in it
    arbs_at_start: dict[LineKey, OpenArb] | None = None  # the timeline's open arbs when it began
    published: dict[BarKey, bytes] = field(default_factory=dict)  # digests of the bars sent
    steam: dict[SteamKey, dict[str, Any]] = field(default_factory=dict)  # steam rows sent


@dataclass
class Published:
    """The last record sent for an arbitrage, to skip unchanged re-sends and to retract it."""

    opened_at: int
    closed_at: int | None
    record: dict[str, Any]


@dataclass
class GameState:
    """Everything one game's aggregates need between batches (pickled into the state store)."""

    game_id: str
    meta: GameMeta = _NO_META
    max_t: int | None = None
    cursor: tuple[int, str] | None = None  # order of the last tick the arbitrage timeline applied
    live: dict[BoardKey, tuple[Tick, Tick | None]] = field(default_factory=dict)
    base: dict[BoardKey, Tick] = field(default_factory=dict)  # the board before the oldest window
    windows: dict[int, Window] = field(default_factory=dict)
    board: dict[str, dict[tuple[str, str], Tick]] = field(default_factory=dict)  # market -> board at cursor
    arbs: dict[LineKey, OpenArb] = field(default_factory=dict)  # open at ``cursor``
    published: dict[str, Published] = field(default_factory=dict)  # arbitrages not yet final
    late: int = 0
    duplicates: int = 0

    # -- persistence -------------------------------------------------------------------------
    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(blob: bytes) -> GameState:
        state = pickle.loads(blob)
        if not isinstance(state, GameState):
            raise TypeError(f"state blob holds a {type(state).__name__}, not a GameState")
        return state

    # -- one batch ---------------------------------------------------------------------------
    def apply(
        self, ticks: Iterable[Tick], meta: GameMeta, settings: EngineSettings, history: History
    ) -> tuple[list[Output], list[Tick]]:
        """Fold ``ticks`` in; returns the changed records and the ticks applied (for the history).

        ``meta`` is the game as its newest quote states it.  ``history(since)`` must return every
        tick applied earlier with event time >= ``since``; it is called only when a tick arrives
        out of order.
        """
        self.meta = meta
        self.__dict__.pop("_quotes", None)
        watermark = None if self.max_t is None else self.max_t - settings.lateness_us
        fresh: dict[str, Tick] = {}
        for tick in sorted(ticks):
            if watermark is not None and tick.t < watermark:
                self.late += 1
            elif tick.event_id in fresh:
                self.duplicates += 1
            else:
                fresh[tick.event_id] = tick
        new = sorted(fresh.values())
        if not new:
            return [], []
        past: list[Tick] = []
        in_order = self.cursor is None or new[0].order > self.cursor
        rewind = 0
        if not in_order:
            rewind = self._rewind_start(new[0].t, settings)
            past = sorted(history(rewind))
            seen = {tick.event_id for tick in past}
            kept = [tick for tick in new if tick.event_id not in seen]
            self.duplicates += len(new) - len(kept)
            new = kept
            if not new:
                return [], []
        for tick in new:
            self._add_live(tick)
            self._add_to_window(tick, settings)
        self.max_t = max(self.max_t if self.max_t is not None else new[-1].t, new[-1].t)
        outputs = self._live_outputs({(t.market, t.bookmaker, t.selection) for t in new})
        if in_order:
            outputs += self._advance(new, settings)
        else:
            outputs += self._rederive(sorted([*past, *new]), rewind, settings)
        outputs += self._window_outputs(new[0].t, settings)
        self._evict(settings)
        return outputs, new

    # -- live prices -------------------------------------------------------------------------
    def _add_live(self, tick: Tick) -> None:
        key = (tick.market, tick.bookmaker, tick.selection)
        current = self.live.get(key)
        if current is None:
            self.live[key] = (tick, None)
            return
        first, second = current
        if tick.order > first.order:
            self.live[key] = (tick, first)
        elif second is None or tick.order > second.order:
            self.live[key] = (first, tick)

    def _live_outputs(self, keys: Iterable[BoardKey]) -> list[Output]:
        out = []
        for key in sorted(keys):
            latest, before = self.live[key]
            previous = latest.previous_price
            if previous is None and before is not None:
                previous = before.price
            record = {
                "game_id": self.game_id,
                "sport": self.meta.sport,
                "market": latest.market,
                "bookmaker": latest.bookmaker,
                "selection": latest.selection,
                "point": latest.point,
                "price": latest.price,
                "previous_price": previous,
                "is_exchange": latest.is_exchange,
                "last_update": stamp(latest.last_update),
                "event_id": latest.event_id,
                "updated_at": stamp(latest.t),
                "home_team": self.meta.home_team,
                "away_team": self.meta.away_team,
                "commence_time": stamp(self.meta.commence_time),
            }
            out.append(Output(MARKET_PRICES_LIVE.name, _key(MARKET_PRICES_LIVE.key, record), record))
        return out

    # -- windows -----------------------------------------------------------------------------
    @staticmethod
    def _window_start(t: int, settings: EngineSettings) -> int:
        return t - t % settings.window_us

    def _add_to_window(self, tick: Tick, settings: EngineSettings) -> None:
        start = self._window_start(tick.t, settings)
        window = self.windows.get(start)
        if window is None:
            window = self.windows[start] = Window(start)
        bar_key = (tick.market, tick.point, tick.bookmaker, tick.selection)
        bar = window.bars.get(bar_key)
        if bar is None:
            window.bars[bar_key] = Bar(tick, tick, tick.price, tick.price, 1)
        else:
            bar.add(tick)
        board_key = (tick.market, tick.bookmaker, tick.selection)
        last = window.lasts.get(board_key)
        if last is None or tick.order > last.order:
            window.lasts[board_key] = tick

    def _board_before(self, start: int, *, inclusive: bool) -> dict[BoardKey, Tick]:
        """The board at the start (or, ``inclusive``, the end) of window ``start``."""
        board = dict(self.base)
        for ws in sorted(self.windows):
            if ws > start or (ws == start and not inclusive):
                break
            board.update(self.windows[ws].lasts)
        return board

    def _window_outputs(self, since: int, settings: EngineSettings) -> list[Output]:
        out: list[Output] = []
        first = self._window_start(since, settings)
        for start in sorted(ws for ws in self.windows if ws >= first):
            window = self.windows[start]
            board = self._board_before(start, inclusive=True)
            summaries = self._summaries(board.values())
            as_of = stamp(max(tick.t for tick in board.values()))
            end = start + settings.window_us
            for bar_key in sorted(window.bars, key=_sortable):
                market, point, book, selection = bar_key
                bar = window.bars[bar_key]
                summary = _summary_for(summaries.get(market, ()), selection, point)
                record = {
                    "window_start": stamp(start),
                    "window_end": stamp(end),
                    "game_id": self.game_id,
                    "sport": self.meta.sport,
                    "market": market,
                    "point": point,
                    "bookmaker": book,
                    "selection": selection,
                    "open_price": bar.open.price,
                    "last_price": bar.last.price,
                    "min_price": bar.low,
                    "max_price": bar.high,
                    "quotes": bar.count,
                    "best_price": summary.best_prices.get(selection) if summary else None,
                    "best_bookmaker": summary.best_bookmakers.get(selection) if summary else None,
                    "fair_prob_shin": (summary.fair_shin or {}).get(selection) if summary else None,
                    "fair_prob_multiplicative": (summary.fair_multiplicative or {}).get(selection)
                    if summary
                    else None,
                    "bookmaker_margin": summary.margins.get(book) if summary else None,
                    "updated_at": as_of,
                }
                digest = _digest(record)
                if window.published.get(bar_key) != digest:
                    window.published[bar_key] = digest
                    out.append(Output(MARKET_AGG_1M.name, _key(MARKET_AGG_1M.key, record), record))
            out += self._steam_outputs(window, end, as_of, settings)
        return out

    def _summaries(self, board: Iterable[Tick]) -> dict[str, list[MarketSummary]]:
        by_market: dict[str, list[MarketSummary]] = {}
        for summary in summarise_market(self._quote(tick) for tick in board):
            by_market.setdefault(summary.market, []).append(summary)
        return by_market

    def _quote(self, tick: Tick) -> Quote:
        """The board's view of a tick, ordered by event time (``last_update`` is the tie order)."""
        return self._timed_quote(tick)[1]

    def _timed_quote(self, tick: Tick) -> tuple[datetime, Quote]:
        """The tick's time and ``_quote``, remembered for the batch (``apply`` forgets them, as the
        game's sport may change): a board is summarised again at every window and at every quote
        on a line with an arbitrage."""
        cache: dict[Tick, tuple[datetime, Quote]] = self.__dict__.setdefault("_quotes", {})
        pair = cache.get(tick)
        if pair is None:
            quote = Quote(
                game_id=self.game_id,
                sport=self.meta.sport,
                market=tick.market,
                bookmaker=tick.bookmaker,
                selection=tick.selection,
                price=tick.price,
                point=tick.point,
                is_exchange=tick.is_exchange,
                last_update=stamp(tick.t),
            )
            pair = cache[tick] = (_datetime(tick.t), quote)
        return pair

    def _steam_outputs(self, window: Window, end: int, as_of: str, settings: EngineSettings) -> list[Output]:
        groups: dict[LineKey, list[dict[str, Any]]] = {}
        for (market, point, book, selection), bar in window.bars.items():
            line = _line(market, selection, point)
            groups.setdefault((market, line), []).append(
                {"bookmaker": book, "selection": selection, "point": point}
                | {"open_price": bar.open.price, "last_price": bar.last.price}
            )
        found: dict[SteamKey, dict[str, Any]] = {}
        for (market, _), rows in groups.items():
            points = {row["selection"]: row["point"] for row in rows}
            for move in detect_steam(rows, settings.steam_threshold_pct, settings.steam_min_books):
                record = move.to_record(
                    window_start=_datetime(window.start),
                    window_end=_datetime(end),
                    game_id=self.game_id,
                    sport=self.meta.sport,
                    market=market,
                    point=points.get(move.selection),
                    detected_at=_datetime(to_micros(as_of)),
                )
                found[(market, record["point"], move.selection)] = record | {"retracted": False}
        out = []
        for key in sorted(set(found) | set(window.steam), key=_sortable):
            detected = found.get(key)
            if detected is None:  # re-derivation shows it never held
                sent = window.steam.pop(key) | {"retracted": True}
            elif window.steam.get(key) == detected:
                continue
            else:
                sent = window.steam[key] = detected
            out.append(Output(STEAM_MOVES.name, _key(STEAM_MOVES.key, sent), sent))
        return out

    # -- arbitrage timeline ------------------------------------------------------------------
    def _advance(self, ticks: Sequence[Tick], settings: EngineSettings) -> list[Output]:
        touched: dict[str, tuple[OpenArb, int | None]] = {}
        for tick in ticks:
            self._step(tick, settings, touched)
        return self._arb_outputs(touched)

    def _rewind_start(self, t: int, settings: EngineSettings) -> int:
        """Where re-derivation for a tick at ``t`` starts: a window whose opening state is known.

        That is the tick's own window if the timeline went through it, else the latest window
        before it that the timeline went through, else (nothing happened before) the tick's
        window, opening with what was open when the timeline's first window began.
        """
        own = self._window_start(t, settings)
        known = sorted(ws for ws, w in self.windows.items() if w.arbs_at_start is not None)
        before = [ws for ws in known if ws <= own]
        if before:
            return before[-1]
        if own not in self.windows:
            self.windows[own] = Window(own)
        after = self.windows[known[0]].arbs_at_start if known else {}
        self.windows[own].arbs_at_start = {k: arb.copy() for k, arb in (after or {}).items()}
        return own

    def _rederive(self, ticks: Sequence[Tick], start: int, settings: EngineSettings) -> list[Output]:
        """Re-run the timeline from window ``start`` (see ``_rewind_start``) over every tick from there."""
        opening = self.windows[start].arbs_at_start or {}
        self.arbs = {k: arb.copy() for k, arb in opening.items()}
        self.board = {}
        for (market, book, selection), tick in self._board_before(start, inclusive=False).items():
            self.board.setdefault(market, {})[(book, selection)] = tick
        self.__dict__.pop("_lines_index", None)
        self.__dict__.pop("_bests_index", None)
        self.__dict__.pop("_selections_index", None)
        self.cursor = None
        redone = {arb_id for arb_id, held in self.published.items() if held.opened_at >= start}
        touched: dict[str, tuple[OpenArb, int | None]] = {
            arb.arb_id: (arb, None) for arb in self.arbs.values()
        }
        for tick in ticks:
            if tick.t >= start:
                self._step(tick, settings, touched)
        out = self._arb_outputs(touched)
        for arb_id in sorted(redone - set(touched)):
            held = self.published.pop(arb_id)
            out.append(Output(ARBITRAGE_OPPORTUNITIES.name, arb_id, held.record | {"retracted": True}))
        return out

    def _step(
        self, tick: Tick, settings: EngineSettings, touched: dict[str, tuple[OpenArb, int | None]]
    ) -> None:
        """Apply one quote to the timeline's board; open, update or close the arbitrages it touches."""
        start = self._window_start(tick.t, settings)
        if self.cursor is None or self.cursor[0] < start:
            self.windows[start].arbs_at_start = {k: arb.copy() for k, arb in self.arbs.items()}
        market_board = self.board.setdefault(tick.market, {})
        key = (tick.bookmaker, tick.selection)
        before = market_board.get(key)
        market_board[key] = tick
        line = _line(tick.market, tick.selection, tick.point)
        lines = {line}
        if before is None:  # a new book or selection: the market may have become three-way
            self.__dict__.get("_selections_index", {}).pop(tick.market, None)
            self._index_line(tick, line, None, None)
        else:
            old_line = _line(before.market, before.selection, before.point)
            lines.add(old_line)
            self._index_line(tick, line, before, old_line)
        self.cursor = tick.order
        if tick.market.endswith("_lay"):
            return  # lay prices are the odds conceded, not offered: no best price to combine
        for line in lines:
            best = self._best(tick.market, line)
            current = self.arbs.get((tick.market, line))
            # lakehouse.odds.arbitrage's test first, without building stakes for every quote; then
            # the trader's own (``lakehouse.trading``: a 100% book in float noise is no window)
            window = None
            if best is not None and sum(1.0 / price for price in best[1]) < 1.0:
                window = self._judge(tick.market, line, settings)
            if best is not None and window is not None:
                verdict = Verdict.of(window)
                if current is None:
                    new_id = arb_id(self.game_id, tick.market, line, tick.t)
                    current = self.arbs[(tick.market, line)] = OpenArb(
                        new_id, tick.market, line, tick.t, best, tick.t, verdict
                    )
                elif current.best != best or current.verdict != verdict:
                    current.best, current.last_t, current.verdict = best, tick.t, verdict
                touched[current.arb_id] = (current, None)
            elif current is not None:
                del self.arbs[(tick.market, line)]
                touched[current.arb_id] = (current, tick.t)

    def _judge(self, market: str, line: Line, settings: EngineSettings) -> ArbitrageWindow | None:
        """The line's best prices on the timeline's board, judged by the trader's rules: each best
        price's quote time against the line's newest, the consensus Shin fair probabilities as the
        yardstick for a suspect price (``board.arbitrage_window``, as the CLI and the demo judge)."""
        board = self.board[market]
        selections = self._selections(market)
        on_line = [
            self._timed_quote(tick)
            for (_, selection), tick in board.items()
            if selection in selections and _line(market, selection, tick.point) == line
        ]
        summary = summarise_line(self.game_id, market, line, selections, on_line)
        return None if summary is None else arbitrage_window(summary, settings.rules)

    @property
    def _lines(self) -> dict[LineKey, dict[str, dict[str, float]]]:
        """(market, line) -> selection -> bookmaker -> price on the timeline's board.

        An index over ``board`` for ``_best``, rebuilt after unpickling rather than stored.
        """
        lines: dict[LineKey, dict[str, dict[str, float]]] | None = self.__dict__.get("_lines_index")
        if lines is None:
            lines = {}
            for market, board in self.board.items():
                for (book, selection), tick in board.items():
                    line = _line(market, selection, tick.point)
                    lines.setdefault((market, line), {}).setdefault(selection, {})[book] = tick.price
            self.__dict__["_lines_index"] = lines
        return lines

    @property
    def _bests(self) -> dict[tuple[str, Line, str], tuple[float, str]]:
        """(market, line, selection) -> (best price, its book), for the selections ``_best`` met
        since the index was built; ``_index_line`` keeps each in step with the quotes."""
        held: dict[tuple[str, Line, str], tuple[float, str]] = self.__dict__.setdefault("_bests_index", {})
        return held

    def _index_line(self, tick: Tick, line: Line, before: Tick | None, old_line: Line) -> None:
        """Index ``tick`` (on ``line``) in place of ``before``, the book's last quote of the selection.

        A remembered best changes only when the quote beats it, or when the best book's own price
        drops or leaves the line (then it is found again on the next ask)."""
        lines, bests = self._lines, self._bests
        if before is not None:
            lines.get((before.market, old_line), {}).get(before.selection, {}).pop(before.bookmaker, None)
            if old_line != line:  # the quote left its line (rare): find that line's best again
                bests.pop((before.market, old_line, before.selection), None)
        lines.setdefault((tick.market, line), {}).setdefault(tick.selection, {})[tick.bookmaker] = tick.price
        key = (tick.market, line, tick.selection)
        held = bests.get(key)
        if held is not None:
            if tick.price > held[0] or (tick.price == held[0] and tick.bookmaker <= held[1]):
                bests[key] = (tick.price, tick.bookmaker)
            elif held[1] == tick.bookmaker:  # the best book lowered its price
                del bests[key]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in _UNSTORED}

    def _selections(self, market: str) -> tuple[str, ...]:
        """``selections_for`` the market's board, kept until a new book or selection joins it
        (``_best`` asks once per quote, and the board's keys rarely change)."""
        index: dict[str, tuple[str, ...]] = self.__dict__.setdefault("_selections_index", {})
        held = index.get(market)
        if held is None:
            held = index[market] = selections_for(
                market, {s for (_, s) in self.board[market]}, self.meta.sport
            )
        return held

    def _best(self, market: str, line: Line) -> BestLine | None:
        """Best price and book per selection on one line of the board, or None when incomplete.

        Each selection's best is remembered (``_bests``): the line's best is asked for at every
        quote, and a quote rarely changes it."""
        selections = self._selections(market)
        on_line = self._lines.get((market, line), {})
        bests = self._bests
        prices: list[float] = []
        books: list[str] = []
        for selection in selections:
            held = bests.get((market, line, selection))
            if held is None:
                quoted = on_line.get(selection)
                if not quoted:
                    return None
                price = max(quoted.values())
                tied = [b for b, p in quoted.items() if p == price]
                # ties: first book by name
                held = bests[(market, line, selection)] = (price, tied[0] if len(tied) == 1 else min(tied))
            prices.append(held[0])
            books.append(held[1])
        return selections, tuple(prices), tuple(books)

    def _arb_outputs(self, touched: dict[str, tuple[OpenArb, int | None]]) -> list[Output]:
        out = []
        for arb_id_ in sorted(touched):
            arb, closed_at = touched[arb_id_]
            record = self._arb_record(arb, closed_at)
            held = self.published.get(arb_id_)
            if held is not None and held.record == record:
                continue
            self.published[arb_id_] = Published(arb.opened_at, closed_at, record)
            out.append(Output(ARBITRAGE_OPPORTUNITIES.name, arb_id_, record))
        return out

    def _arb_record(self, arb: OpenArb, closed_at: int | None) -> dict[str, Any]:
        selections, prices, books = arb.best
        math = arbitrage(dict(zip(selections, prices, strict=True)))
        until = closed_at if closed_at is not None else arb.last_t
        return {
            "arb_id": arb.arb_id,
            "game_id": self.game_id,
            "sport": self.meta.sport,
            "market": arb.market,
            "point": arb.line,
            "status": (ArbitrageStatus.CLOSED if closed_at is not None else ArbitrageStatus.OPEN).value,
            "opened_at": stamp(arb.opened_at),
            "closed_at": stamp(closed_at) if closed_at is not None else None,
            "age_s": (until - arb.opened_at) / US,
            "inverse_sum": math.inverse_sum,
            "guaranteed_return": math.guaranteed_return,
            "selections": list(selections),
            "best_prices": list(prices),
            "bookmakers": list(books),
            "stakes": list(math.stakes),
            **_verdict_fields(arb.verdict),
            "updated_at": stamp(until),
            "retracted": False,
        }

    # -- eviction ----------------------------------------------------------------------------
    def _evict(self, settings: EngineSettings) -> None:
        """Windows wholly behind the game's watermark are final: fold them into the base board."""
        if self.max_t is None:
            return
        watermark = self.max_t - settings.lateness_us
        for start in sorted(self.windows):
            if start + settings.window_us > watermark:
                break
            self.base.update(self.windows.pop(start).lasts)
        oldest = min(self.windows, default=None)
        for arb_id_ in [a for a, held in self.published.items() if held.closed_at is not None]:
            held = self.published[arb_id_]
            if oldest is None or held.opened_at < oldest:  # no re-derivation can reach it any more
                del self.published[arb_id_]


def _verdict_fields(verdict: Verdict | None) -> dict[str, Any]:
    if verdict is None:
        return {}
    return {
        "assessment": verdict.status,
        "net_return": verdict.net_return,
        "net_stakes": list(verdict.stakes),
        "stale_selections": list(verdict.stale),
        "suspect_selections": list(verdict.suspect),
    }


def arb_id(game_id: str, market: str, line: Line, opened_at: int) -> str:
    """Deterministic id of one arbitrage interval, so every re-emission upserts one row."""
    parts = (game_id, market, "" if line is None else repr(float(line)), stamp(opened_at))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def _line(market: str, selection: str, point: float | None) -> Line:
    """``board.line_key`` of a tick: the home handicap for spreads, the total for totals, None for h2h."""
    if point is None or market not in _LINED:
        return None
    if market == _SPREADS and selection == _AWAY:
        return -point + 0.0
    return float(point)


_LINED = frozenset({"spreads", "totals"})
# Derived per process or batch, never pickled.
_UNSTORED = frozenset({"_lines_index", "_bests_index", "_selections_index", "_quotes"})
_SPREADS, _AWAY = "spreads", "away"


def _key(columns: Sequence[str], record: dict[str, Any]) -> str:
    return "|".join(str(record.get(c)) for c in columns)


def _digest(record: dict[str, Any]) -> bytes:
    return hashlib.blake2b(repr(tuple(record.values())).encode(), digest_size=12).digest()


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    """A sort key for tuples holding None among floats or strings."""
    return tuple((v is None, "" if v is None else v) for v in key)


def _summary_for(
    summaries: Iterable[MarketSummary], selection: str, point: float | None
) -> MarketSummary | None:
    for summary in summaries:
        if selection in summary.selections and summary.point_for(selection) == point:
            return summary
    return None


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
