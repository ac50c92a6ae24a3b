"""An independent recomputation of a game's aggregates from its whole set of quotes, for tests.

Slow and plain on purpose: every window's board is rebuilt from scratch, and the arbitrage
timeline re-summarises the whole market with ``lakehouse.market.summarise_market`` after every
quote and judges each line with the trader's rules (``arbitrage_window``).  The engine
(``lakehouse.market.engine``) must publish exactly these rows, latest row per key, whatever the
batching and arrival order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from lakehouse.market import EngineSettings, GameMeta, Quote, Tick, detect_steam, line_key, summarise_market
from lakehouse.market.board import arbitrage_window
from lakehouse.market.engine import stamp
from lakehouse.odds import arbitrage
from lakehouse.trading import ArbitrageWindow

US = 1_000_000
Rows = dict[tuple[str, str], dict[str, Any]]  # (aggregate, key) -> record


def latest_rows(outputs: Iterable[Any]) -> Rows:
    """What a consumer of the topics holds: the latest record per key, retracted keys dropped."""
    held: Rows = {}
    for out in outputs:
        held[(out.aggregate, out.key)] = out.record
    return {
        k: {f: v for f, v in r.items() if f != "retracted"} for k, r in held.items() if not r.get("retracted")
    }


def _quote(game_id: str, meta: GameMeta, tick: Tick) -> Quote:
    return Quote(
        game_id,
        meta.sport,
        tick.market,
        tick.bookmaker,
        tick.selection,
        tick.price,
        tick.point,
        tick.is_exchange,
        stamp(tick.t),
    )


def _key(*parts: Any) -> str:
    return "|".join(str(p) for p in parts)


def expected_rows(game_id: str, meta: GameMeta, ticks: Sequence[Tick], settings: EngineSettings) -> Rows:
    ticks = sorted({t.event_id: t for t in sorted(ticks, reverse=True)}.values())  # first of each id
    rows: Rows = {}
    w = settings.window_us
    # live prices
    by_key: dict[tuple[str, str, str], list[Tick]] = {}
    for t in ticks:
        by_key.setdefault((t.market, t.bookmaker, t.selection), []).append(t)
    for (market, book, selection), seq in by_key.items():
        latest = seq[-1]
        previous = (
            latest.previous_price
            if latest.previous_price is not None
            else (seq[-2].price if len(seq) > 1 else None)
        )
        record = {
            "game_id": game_id,
            "sport": meta.sport,
            "market": market,
            "bookmaker": book,
            "selection": selection,
            "point": latest.point,
            "price": latest.price,
            "previous_price": previous,
            "is_exchange": latest.is_exchange,
            "last_update": stamp(latest.last_update),
            "event_id": latest.event_id,
            "updated_at": stamp(latest.t),
            "home_team": meta.home_team,
            "away_team": meta.away_team,
            "commence_time": stamp(meta.commence_time),
        }
        rows[("market_prices_live", _key(game_id, market, book, selection))] = record
    # windows and steam
    for start in sorted({t.t - t.t % w for t in ticks}):
        end = start + w
        inside = [t for t in ticks if start <= t.t < end]
        board: dict[tuple[str, str, str], Tick] = {}
        for t in ticks:
            if t.t < end:
                board[(t.market, t.bookmaker, t.selection)] = t
        summaries = summarise_market(_quote(game_id, meta, t) for t in board.values())
        as_of = stamp(max(t.t for t in board.values()))
        bars: dict[tuple[str, float | None, str, str], list[Tick]] = {}
        for t in inside:
            bars.setdefault((t.market, t.point, t.bookmaker, t.selection), []).append(t)
        steam_rows: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for (market, point, book, selection), seq in bars.items():
            summary = next(
                (
                    s
                    for s in summaries
                    if s.market == market and selection in s.selections and s.point_for(selection) == point
                ),
                None,
            )
            record = {
                "window_start": stamp(start),
                "window_end": stamp(end),
                "game_id": game_id,
                "sport": meta.sport,
                "market": market,
                "point": point,
                "bookmaker": book,
                "selection": selection,
                "open_price": seq[0].price,
                "last_price": seq[-1].price,
                "min_price": min(t.price for t in seq),
                "max_price": max(t.price for t in seq),
                "quotes": len(seq),
                "best_price": summary.best_prices.get(selection) if summary else None,
                "best_bookmaker": summary.best_bookmakers.get(selection) if summary else None,
                "fair_prob_shin": (summary.fair_shin or {}).get(selection) if summary else None,
                "fair_prob_multiplicative": (summary.fair_multiplicative or {}).get(selection)
                if summary
                else None,
                "bookmaker_margin": summary.margins.get(book) if summary else None,
                "updated_at": as_of,
            }
            rows[("market_agg_1m", _key(stamp(start), game_id, market, point, book, selection))] = record
            line = line_key(_quote(game_id, meta, seq[-1]))
            steam_rows.setdefault((market, line), []).append(
                {
                    "bookmaker": book,
                    "selection": selection,
                    "point": point,
                    "open_price": seq[0].price,
                    "last_price": seq[-1].price,
                }
            )
        for (market, _line), group in steam_rows.items():
            points = {r["selection"]: r["point"] for r in group}
            for move in detect_steam(group, settings.steam_threshold_pct, settings.steam_min_books):
                point = points.get(move.selection)
                record = {
                    "window_start": stamp(start),
                    "window_end": stamp(end),
                    "game_id": game_id,
                    "sport": meta.sport,
                    "market": market,
                    "point": point,
                    "selection": move.selection,
                    "direction": move.direction.value,
                    "books_moved": move.books_moved,
                    "books_quoting": move.books_quoting,
                    "median_move_pct": move.median_move_pct,
                    "threshold_pct": move.threshold_pct,
                    "detected_at": as_of,
                }
                rows[("steam_moves", _key(stamp(start), game_id, market, point, move.selection))] = record
    # arbitrage timeline: the whole market re-summarised after every quote
    board = {}
    open_arbs: dict[tuple[str, Any], dict[str, Any]] = {}
    for t in ticks:
        board[(t.market, t.bookmaker, t.selection)] = t
        if t.market.endswith("_lay"):
            continue
        current = {
            s.line: s
            for s in summarise_market(
                _quote(game_id, meta, x) for x in board.values() if x.market == t.market
            )
        }
        for line in {*(k[1] for k in open_arbs if k[0] == t.market), *current}:
            summary = current.get(line)
            window = None if summary is None else arbitrage_window(summary, settings.rules)
            arb = open_arbs.get((t.market, line))
            if window is not None and summary is not None:
                best = (
                    summary.selections,
                    tuple(summary.best_prices[s] for s in summary.selections),
                    tuple(summary.best_bookmakers[s] for s in summary.selections),
                )
                if arb is None:
                    arb = open_arbs[(t.market, line)] = {
                        "opened_at": t.t,
                        "best": best,
                        "last_t": t.t,
                        "window": window,
                    }
                elif arb["best"] != best or _verdict(arb["window"]) != _verdict(window):
                    arb["best"], arb["last_t"], arb["window"] = best, t.t, window
                rows[("arbitrage_opportunities", _arb_id(game_id, t.market, line, arb["opened_at"]))] = _arb(
                    game_id, meta, t.market, line, arb, None
                )
            elif arb is not None:
                del open_arbs[(t.market, line)]
                rows[("arbitrage_opportunities", _arb_id(game_id, t.market, line, arb["opened_at"]))] = _arb(
                    game_id, meta, t.market, line, arb, t.t
                )
    return rows


def _arb_id(game_id: str, market: str, line: Any, opened_at: int) -> str:
    parts = (game_id, market, "" if line is None else repr(float(line)), stamp(opened_at))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def _arb(
    game_id: str, meta: GameMeta, market: str, line: Any, arb: dict[str, Any], closed_at: int | None
) -> dict[str, Any]:
    selections, prices, books = arb["best"]
    math = arbitrage(dict(zip(selections, prices, strict=True)))
    until = closed_at if closed_at is not None else arb["last_t"]
    return {
        "arb_id": _arb_id(game_id, market, line, arb["opened_at"]),
        "game_id": game_id,
        "sport": meta.sport,
        "market": market,
        "point": line,
        "status": "closed" if closed_at is not None else "open",
        "opened_at": stamp(arb["opened_at"]),
        "closed_at": stamp(closed_at) if closed_at is not None else None,
        "age_s": (until - arb["opened_at"]) / US,
        "inverse_sum": math.inverse_sum,
        "guaranteed_return": math.guaranteed_return,
        "selections": list(selections),
        "best_prices": list(prices),
        "bookmakers": list(books),
        "stakes": list(math.stakes),
        "assessment": arb["window"].status,
        "net_return": arb["window"].net_return,
        "net_stakes": list(arb["window"].stakes),
        "stale_selections": list(arb["window"].stale),
        "suspect_selections": list(arb["window"].suspect),
        "updated_at": stamp(until),
    }


def _verdict(window: ArbitrageWindow) -> tuple[Any, ...]:
    return (window.status, window.net_return, window.stakes, window.stale, window.suspect)
