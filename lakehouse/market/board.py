"""Market math over a board of latest quotes: lines, best prices, consensus, margins, steam.

Pure Python on purpose (no pyspark): the speed layer's engine (``lakehouse.market.engine``)
calls these functions on each game's board, and the same numbers can be checked line by line
against ``lakehouse.odds`` in tests and recomputed by batch jobs.

Vocabulary: the *board* of a game and market is the latest quote of every bookmaker and
selection; a *line* is the handicap or total those quotes are for (both sides of a spread
share one line); a line is *complete* when every selection has a price from at least one
book, and a bookmaker is *complete* on a line when it prices every selection itself.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse.odds import Arbitrage, arbitrage, devig_multiplicative, devig_shin, margin
from lakehouse.schemas import Market, Selection, SteamDirection, format_timestamp
from lakehouse.trading import ArbitrageLeg, ArbitrageRules, ArbitrageWindow, assess_arbitrage

__all__ = [
    "Line",
    "MarketSummary",
    "Quote",
    "SteamMove",
    "arbitrage_window",
    "detect_steam",
    "line_key",
    "selections_for",
    "summarise_line",
    "summarise_market",
]

Line = float | None
ArbKey = tuple[str, str, Line]  # (game_id, market, line)


@dataclass(frozen=True, slots=True)
class Quote:
    """One bookmaker's price for one selection: the fields of an ``odds`` record the math needs."""

    game_id: str
    sport: str
    market: str
    bookmaker: str
    selection: str
    price: float
    point: float | None
    is_exchange: bool
    last_update: str | datetime

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Quote:
        """From an ``odds`` record dict (``row.asDict()`` for a Spark Row); extra fields are ignored."""
        return cls(
            game_id=record["game_id"],
            sport=record["sport"],
            market=record["market"],
            bookmaker=record["bookmaker"],
            selection=record["selection"],
            price=float(record["price"]),
            point=None if record.get("point") is None else float(record["point"]),
            is_exchange=bool(record["is_exchange"]),
            last_update=record["last_update"],
        )


def line_key(quote: Quote) -> Line:
    """The line a quote belongs to, so both sides of a market are compared on the same one.

    Spreads: the home handicap (an away quote at +0.5 belongs to home -0.5); totals: the
    total; h2h: None (one line).
    """
    if quote.point is None or quote.market not in (Market.SPREADS, Market.TOTALS):
        return None
    if quote.market == Market.SPREADS and quote.selection == Selection.AWAY:
        return -quote.point + 0.0  # + 0.0 turns -0.0 into 0.0, so a pick'em line prints once
    return float(quote.point)


def _point_for(market: str, line: Line, selection: str) -> float | None:
    """Inverse of ``line_key``: the point a selection is quoted at on a line."""
    if line is None:
        return None
    return -line + 0.0 if market == Market.SPREADS and selection == Selection.AWAY else line


THREE_WAY_SPORTS = ("soccer",)
"""Sport families (the sport key's first part) whose h2h always has a draw."""


def selections_for(market: str, quoted: Iterable[str] = (), sport: str | None = None) -> tuple[str, ...]:
    """The selections that make up a complete market, in a fixed order.

    h2h is three-way (home, draw, away) in a sport whose h2h has a draw (``THREE_WAY_SPORTS``),
    or when any book quotes a draw in ``quoted``; otherwise two-way.  A two-way book in a
    three-way market is incomplete, not a market: a soccer book whose home and away prices
    arrive before its draw (one response, read in order) is no arbitrage at 35%.
    """
    if market in (Market.H2H, Market.H2H_LAY):
        if Selection.DRAW in set(quoted) or (sport or "").split("_")[0] in THREE_WAY_SPORTS:
            return (Selection.HOME.value, Selection.DRAW.value, Selection.AWAY.value)
        return (Selection.HOME.value, Selection.AWAY.value)
    if market == Market.SPREADS:
        return (Selection.HOME.value, Selection.AWAY.value)
    if market == Market.TOTALS:
        return (Selection.OVER.value, Selection.UNDER.value)
    raise ValueError(f"unknown market {market!r}")


def _instant(value: str | datetime) -> datetime:
    """An aware datetime; naive values are taken as UTC, the platform-wide convention."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# ---------------------------------------------------------------------- board summary


@dataclass(frozen=True)
class MarketSummary:
    """One complete line of one game's market, as the board stands.

    Mappings keyed by selection follow ``selections``; per-book mappings are sorted by book.
    ``fair_shin``/``fair_multiplicative`` are the *consensus* fair probabilities: each
    complete bookmaker is de-vigged on its own prices and the per-book probabilities are
    averaged (simple mean). De-vigging the best prices instead would mix books and treat
    stale outliers as the market; averaging whole books keeps each one's margin structure
    intact. They are None when no single book prices every selection.
    """

    game_id: str
    sport: str
    market: str
    line: Line
    selections: tuple[str, ...]
    prices: dict[str, dict[str, float]]  # bookmaker -> selection -> price, every book on the line
    best_prices: dict[str, float]
    best_bookmakers: dict[str, str]  # ties -> alphabetically first book
    complete_bookmakers: tuple[str, ...]
    margins: dict[str, float]  # complete bookmaker -> overround - 1 of its own prices
    fair_shin: dict[str, float] | None
    fair_multiplicative: dict[str, float] | None
    arbitrage: Arbitrage  # on the best prices, stakes per 100; computed even when not an arb
    as_of: datetime  # newest last_update on the line
    # The line's (time, quote) pairs, kept by reference (no work on the hot path) for
    # ``arbitrage_window`` to find when each best price was quoted.
    quotes: list[tuple[datetime, Quote]] = field(default_factory=list, repr=False, compare=False)

    @property
    def is_arbitrage(self) -> bool:
        return self.arbitrage.is_arbitrage

    @property
    def key(self) -> ArbKey:
        return (self.game_id, self.market, self.line)

    def point_for(self, selection: str) -> float | None:
        """The selection's own point on this line (away +0.5 on home -0.5)."""
        return _point_for(self.market, self.line, selection)


def summarise_market(quotes: Iterable[Quote]) -> list[MarketSummary]:
    """Summarise every complete line on the board these quotes make, per game and market.

    Only each (game, market, bookmaker, selection)'s latest quote (by ``last_update``; input
    order breaks ties) counts, whatever its point: a book that moves its line leaves the old
    one. Lay markets (``h2h_lay``) are skipped: a lay price is the odds you concede, so "best"
    and de-vig do not apply. Exchange back prices count as a book here, commission not deducted:
    ``arbitrage_window`` judges the best prices net of commission, staleness and suspect prices.
    Lines missing a selection are skipped. Output is sorted by game, market and line.
    """
    latest: dict[tuple[str, str], dict[tuple[str, str], tuple[datetime, Quote]]] = {}
    for q in quotes:
        if q.market.endswith("_lay"):
            continue
        board = latest.setdefault((q.game_id, q.market), {})
        at = _instant(q.last_update)
        current = board.get((q.bookmaker, q.selection))
        if current is None or at >= current[0]:
            board[(q.bookmaker, q.selection)] = (at, q)

    out = []
    for (game_id, market), board in sorted(latest.items()):
        sport = next(iter(board.values()))[1].sport
        selections = selections_for(market, (s for _, s in board), sport)
        lines: dict[Line, list[tuple[datetime, Quote]]] = {}
        for at, q in board.values():
            if q.selection in selections:
                lines.setdefault(line_key(q), []).append((at, q))
        for line in sorted(lines, key=lambda x: (x is not None, x or 0.0)):
            summary = summarise_line(game_id, market, line, selections, lines[line])
            if summary is not None:
                out.append(summary)
    return out


def summarise_line(
    game_id: str, market: str, line: Line, selections: tuple[str, ...], quotes: list[tuple[datetime, Quote]]
) -> MarketSummary | None:
    """One line of ``summarise_market``, from the latest quote of each (bookmaker, selection) on
    it, each with its time; None when a selection has no price.  For a caller that keeps the
    board itself (the speed layer's engine), without regrouping the whole market."""
    prices: dict[str, dict[str, float]] = {}
    for _, q in sorted(quotes, key=lambda aq: aq[1].bookmaker):
        prices.setdefault(q.bookmaker, {})[q.selection] = q.price
    offers = {s: {b: p[s] for b, p in prices.items() if s in p} for s in selections}
    if not all(offers.values()):
        return None
    best_prices = {s: max(by_book.values()) for s, by_book in offers.items()}
    best_bookmakers = {
        s: min(b for b, p in by_book.items() if p == best_prices[s]) for s, by_book in offers.items()
    }
    complete = tuple(b for b, p in prices.items() if all(s in p for s in selections))
    books = {b: [prices[b][s] for s in selections] for b in complete}
    return MarketSummary(
        game_id=game_id,
        sport=quotes[0][1].sport,
        market=market,
        line=line,
        selections=selections,
        prices={b: {s: p[s] for s in selections if s in p} for b, p in prices.items()},
        best_prices=best_prices,
        best_bookmakers=best_bookmakers,
        complete_bookmakers=complete,
        margins={b: _book_margin(tuple(ps)) for b, ps in books.items()},
        fair_shin=_consensus(selections, [_book_shin(tuple(ps)) for ps in books.values()]),
        fair_multiplicative=_consensus(
            selections, [_book_multiplicative(tuple(ps)) for ps in books.values()]
        ),
        arbitrage=arbitrage(best_prices),
        as_of=max(at for at, _ in quotes),
        quotes=quotes,
    )


def arbitrage_window(
    summary: MarketSummary, rules: ArbitrageRules | None = None, total_stake: float = 100.0
) -> ArbitrageWindow | None:
    """The line's best prices judged by the trader's rules (``lakehouse.trading``): each best
    price's own quote time against the line's newest, and the consensus Shin fair probabilities
    as the yardstick for a suspect price; None when the best prices are no gross arbitrage."""
    quoted_at = {(q.bookmaker, q.selection): at for at, q in summary.quotes}
    legs = [
        ArbitrageLeg(
            selection,
            summary.best_bookmakers[selection],
            summary.best_prices[selection],
            quoted_at[summary.best_bookmakers[selection], selection].timestamp(),
        )
        for selection in summary.selections
    ]
    return assess_arbitrage(
        legs,
        newest_quote_s=summary.as_of.timestamp(),
        consensus=summary.fair_shin,
        total_stake=total_stake,
        rules=rules,
    )


# A book's own prices rarely all move between two summaries of the same board, so its de-vig is
# remembered by price tuple: the speed layer re-summarises every window each micro-batch.
@functools.lru_cache(maxsize=1 << 16)
def _book_shin(prices: tuple[float, ...]) -> list[float]:
    return devig_shin(prices)


@functools.lru_cache(maxsize=1 << 16)
def _book_multiplicative(prices: tuple[float, ...]) -> list[float]:
    return devig_multiplicative(prices)


@functools.lru_cache(maxsize=1 << 16)
def _book_margin(prices: tuple[float, ...]) -> float:
    return margin(prices)


def _consensus(selections: tuple[str, ...], per_book: list[list[float]]) -> dict[str, float] | None:
    """Mean per selection of the per-book fair probabilities (still sums to 1)."""
    if not per_book:
        return None
    return {
        s: statistics.fmean(column) for s, column in zip(selections, zip(*per_book, strict=True), strict=True)
    }


# ---------------------------------------------------------------------- steam


@dataclass(frozen=True, slots=True)
class SteamMove:
    """A selection whose price moved the same way at several books in one window."""

    selection: str
    direction: SteamDirection
    books_moved: int
    books_quoting: int
    median_move_pct: float  # signed: negative when shortening
    threshold_pct: float

    def to_record(
        self,
        *,
        window_start: datetime,
        window_end: datetime,
        game_id: str,
        sport: str,
        market: str,
        point: float | None,
        detected_at: datetime,
    ) -> dict[str, Any]:
        """A ``steam_moves`` record; ``point`` is this selection's own point."""
        return {
            "window_start": format_timestamp(window_start),
            "window_end": format_timestamp(window_end),
            "game_id": game_id,
            "sport": sport,
            "market": market,
            "point": point,
            "selection": self.selection,
            "direction": self.direction.value,
            "books_moved": self.books_moved,
            "books_quoting": self.books_quoting,
            "median_move_pct": self.median_move_pct,
            "threshold_pct": self.threshold_pct,
            "detected_at": format_timestamp(detected_at),
        }


def detect_steam(
    window_rows: Iterable[Mapping[str, Any]], threshold_pct: float = 2.0, min_books: int = 3
) -> list[SteamMove]:
    """Selections that steamed in one window of one game, market and line.

    ``window_rows`` carry ``bookmaker``, ``selection``, ``open_price`` and ``last_price``
    (``market_agg_1m`` rows, dicts or Spark Rows; a repeated book/selection keeps the last).
    A book's move is ``last/open - 1`` in percent, rounded to 1e-9 so a move of exactly the
    threshold never counts through float noise. A selection steams when at least
    ``min_books`` books moved by more than ``threshold_pct`` one way and more books moved
    that way than the other (an even split is noise, not steam). Shortening = price down.
    """
    if threshold_pct < 0 or min_books < 1:
        raise ValueError("threshold_pct must be >= 0 and min_books >= 1")
    moves: dict[str, dict[str, float]] = {}
    for row in window_rows:
        opened, last = float(row["open_price"]), float(row["last_price"])
        if not (opened > 1.0 and last > 1.0):
            raise ValueError(f"decimal prices must be > 1.0, got {opened} -> {last}")
        moves.setdefault(row["selection"], {})[row["bookmaker"]] = round((last / opened - 1.0) * 100.0, 9)
    out = []
    for selection, by_book in moves.items():
        down = [m for m in by_book.values() if m < -threshold_pct]
        up = [m for m in by_book.values() if m > threshold_pct]
        for direction, movers, others in (
            (SteamDirection.SHORTENING, down, up),
            (SteamDirection.DRIFTING, up, down),
        ):
            if len(movers) >= min_books and len(movers) > len(others):
                out.append(
                    SteamMove(
                        selection=selection,
                        direction=direction,
                        books_moved=len(movers),
                        books_quoting=len(by_book),
                        median_move_pct=statistics.median(movers),
                        threshold_pct=float(threshold_pct),
                    )
                )
    return out
