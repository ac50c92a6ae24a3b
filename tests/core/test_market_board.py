"""Market math of the real-time aggregates, checked against lakehouse.odds on hand-built and real boards."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any

import pytest

from lakehouse.config import Settings
from lakehouse.market.board import (
    Quote,
    detect_steam,
    line_key,
    selections_for,
    summarise_market,
)
from lakehouse.odds import best_prices, devig_multiplicative, devig_shin, margin
from lakehouse.schemas import STEAM_MOVES, validate
from producers.connectors.odds_api import TheOddsApi

GAME = "2024-03-30:newcastle-united:west-ham-united"
T0 = datetime(2024, 3, 27, 18, 0, tzinfo=UTC)

# Three complete books on a three-way h2h; the best prices 2.10 / 3.60 / 4.20 come from a
# different book each and make the published +0.80% arbitrage with stakes 48 / 28 / 24.
BOOKS = {
    "book_a": {"home": 2.10, "draw": 3.30, "away": 3.80},
    "book_b": {"home": 2.00, "draw": 3.60, "away": 3.90},
    "book_c": {"home": 2.05, "draw": 3.40, "away": 4.20},
}
ORDER = ("home", "draw", "away")


def q(
    bookmaker: str,
    selection: str,
    price: float,
    *,
    market: str = "h2h",
    point: float | None = None,
    at: datetime = T0,
    game_id: str = GAME,
    sport: str = "soccer_epl",
) -> Quote:
    return Quote(game_id, sport, market, bookmaker, selection, price, point, False, at)


def board(books: dict[str, dict[str, float]] = BOOKS, **kw: Any) -> list[Quote]:
    return [q(b, s, p, **kw) for b, prices in books.items() for s, p in prices.items()]


def test_h2h_board_best_prices_margins_consensus_and_arbitrage() -> None:
    [s] = summarise_market(board())
    assert (s.game_id, s.market, s.line, s.selections) == (GAME, "h2h", None, ORDER)
    assert s.best_prices == {"home": 2.10, "draw": 3.60, "away": 4.20}
    assert s.best_bookmakers == {"home": "book_a", "draw": "book_b", "away": "book_c"}
    assert s.complete_bookmakers == ("book_a", "book_b", "book_c")
    for book, prices in BOOKS.items():
        ordered = [prices[x] for x in ORDER]
        assert s.margins[book] == pytest.approx(sum(1 / p for p in ordered) - 1)
    shin = [devig_shin([p[x] for x in ORDER]) for p in BOOKS.values()]
    mult = [devig_multiplicative([p[x] for x in ORDER]) for p in BOOKS.values()]
    assert s.fair_shin is not None and s.fair_multiplicative is not None
    for i, sel in enumerate(ORDER):
        assert s.fair_shin[sel] == pytest.approx(sum(b[i] for b in shin) / 3, abs=1e-12)
        assert s.fair_multiplicative[sel] == pytest.approx(sum(b[i] for b in mult) / 3, abs=1e-12)
    assert sum(s.fair_shin.values()) == pytest.approx(1.0)
    assert s.is_arbitrage
    assert s.arbitrage.guaranteed_return == pytest.approx(0.0080, abs=5e-5)
    assert s.arbitrage.selections == ORDER
    assert s.arbitrage.stakes == pytest.approx((48.0, 28.0, 24.0))


def test_latest_quote_wins_ties_pick_the_first_book_and_partial_books_stay_out_of_consensus() -> None:
    quotes = [
        *board(),
        q("book_a", "home", 2.50, at=T0 - timedelta(minutes=5)),  # stale, arrives late: ignored
        q("a_bet", "home", 2.10),  # ties the best home price but quotes nothing else
        q("book_a", "home", 1.20, market="h2h_lay"),  # lay markets are not summarised
    ]
    [s] = summarise_market(quotes)
    assert s.best_prices["home"] == 2.10
    assert s.best_bookmakers["home"] == "a_bet"
    assert s.prices["a_bet"] == {"home": 2.10}
    assert "a_bet" not in s.complete_bookmakers and "a_bet" not in s.margins
    assert s.fair_shin == summarise_market(board())[0].fair_shin


def test_two_way_h2h_and_missing_selection() -> None:
    two_way = {b: {"home": p["home"], "away": p["away"]} for b, p in BOOKS.items()}
    [s] = summarise_market(board(two_way, sport="basketball_nba"))
    assert s.selections == ("home", "away") == selections_for("h2h")
    assert s.arbitrage.inverse_sum == pytest.approx(1 / 2.10 + 1 / 4.20)
    # once anyone quotes a draw the market is three-way, so a line nobody else completes is skipped
    with_draw = [*board(two_way, sport="basketball_nba"), q("book_a", "draw", 3.3, sport="basketball_nba")]
    assert summarise_market(with_draw)[0].complete_bookmakers == ("book_a",)
    # Soccer's h2h is three-way before any draw arrives: home and away alone (one response of a
    # book read before its draw, prices summing to 0.71) are no market, hence no arbitrage.
    assert selections_for("h2h", (), "soccer_france_ligue_one") == ("home", "draw", "away")
    assert summarise_market(board(two_way)) == []
    assert summarise_market(board({"book_a": {"home": 2.1, "draw": 3.3}})) == []
    assert selections_for("totals") == ("over", "under")
    with pytest.raises(ValueError, match="unknown market"):
        selections_for("outrights")


def test_spreads_pair_home_and_away_on_one_line_and_skip_incomplete_lines() -> None:
    quotes = [
        q("book_a", "home", 1.95, market="spreads", point=-0.5),
        q("book_a", "away", 1.90, market="spreads", point=0.5),
        q("book_b", "home", 1.98, market="spreads", point=-0.5),
        q("book_b", "away", 2.40, market="spreads", point=1.5),  # book_b is one-sided on -0.5 and -1.5
        q("book_c", "home", 2.60, market="spreads", point=-1.0, at=T0 - timedelta(minutes=1)),
        q("book_c", "away", 1.50, market="spreads", point=1.0, at=T0 - timedelta(minutes=1)),
        q("book_c", "home", 1.97, market="spreads", point=-0.5),  # book_c moved off -1.0 ...
        q("book_c", "away", 1.93, market="spreads", point=0.5),  # ... on both sides
        q("book_d", "home", 1.50, market="spreads", point=0.0),
        q("book_d", "away", 2.50, market="spreads", point=0.0),
    ]
    assert [line_key(x) for x in quotes[:3]] == [-0.5, -0.5, -0.5]
    assert line_key(quotes[3]) == -1.5 and line_key(quotes[5]) == -1.0
    assert str(line_key(quotes[-1])) == "0.0"  # not -0.0
    summaries = summarise_market(quotes)
    assert [s.line for s in summaries] == [-0.5, 0.0]
    s = summaries[0]
    assert s.selections == ("home", "away")
    assert s.best_prices == {"home": 1.98, "away": 1.93}
    assert s.best_bookmakers == {"home": "book_b", "away": "book_c"}
    assert s.prices["book_b"] == {"home": 1.98}
    assert s.complete_bookmakers == ("book_a", "book_c")
    assert s.margins["book_a"] == pytest.approx(1 / 1.95 + 1 / 1.90 - 1)
    assert (s.point_for("home"), s.point_for("away")) == (-0.5, 0.5)
    assert s.as_of == T0


def test_totals_lines_and_h2h_have_no_line() -> None:
    assert line_key(q("b", "over", 1.9, market="totals", point=2.5)) == 2.5
    assert line_key(q("b", "under", 1.9, market="totals", point=2.5)) == 2.5
    assert line_key(q("b", "home", 1.9)) is None
    quotes = [
        q("book_a", "over", 1.90, market="totals", point=2.5),
        q("book_a", "under", 1.95, market="totals", point=2.5),
        q("book_b", "over", 1.60, market="totals", point=3.5),  # line 3.5 has no under
    ]
    [s] = summarise_market(quotes)
    assert (s.line, s.point_for("under")) == (2.5, 2.5)


# ---------------------------------------------------------------------- steam


def rows(selection: str, moves: list[tuple[float, float]]) -> list[dict[str, Any]]:
    return [
        {"bookmaker": f"book_{i}", "selection": selection, "open_price": o, "last_price": c}
        for i, (o, c) in enumerate(moves)
    ]


def test_steam_in_both_directions() -> None:
    window = [
        *rows("home", [(2.00, 1.90), (2.10, 2.00), (2.05, 1.98), (2.00, 1.99)]),  # 3 beyond -2%
        *rows("away", [(4.00, 4.20), (4.00, 4.40), (3.90, 4.10), (4.00, 4.00)]),  # 3 beyond +2%
        *rows("draw", [(3.50, 3.60), (3.40, 3.50), (3.30, 3.30)]),  # moves of ~2.9% at two books only
    ]
    moves = {m.selection: m for m in detect_steam(window, threshold_pct=2.0, min_books=3)}
    assert set(moves) == {"home", "away"}
    home, away = moves["home"], moves["away"]
    assert (home.direction, home.books_moved, home.books_quoting) == ("shortening", 3, 4)
    assert home.median_move_pct == pytest.approx((2.00 / 2.10 - 1) * 100)
    assert (away.direction, away.books_moved, away.books_quoting) == ("drifting", 3, 4)
    assert away.median_move_pct == pytest.approx((4.10 / 3.90 - 1) * 100)
    assert detect_steam(window, threshold_pct=2.0, min_books=4) == []
    assert [m.selection for m in detect_steam(window, threshold_pct=2.0, min_books=2)] == [
        "home",
        "away",
        "draw",
    ]
    assert [m.selection for m in detect_steam(window, threshold_pct=5.0, min_books=1)] == ["away"]


def test_steam_threshold_is_strict_and_split_moves_are_not_steam() -> None:
    exactly = rows("over", [(2.00, 2.04), (1.50, 1.53), (2.50, 2.55)])  # +2.000% each, float noise aside
    assert detect_steam(exactly, threshold_pct=2.0) == []
    assert len(detect_steam(exactly, threshold_pct=1.99)) == 1
    split = rows("over", [(2.0, 2.2), (2.0, 2.2), (2.0, 2.2), (2.0, 1.8), (2.0, 1.8), (2.0, 1.8)])
    assert detect_steam(split) == []
    with pytest.raises(ValueError, match=r"> 1\.0"):
        detect_steam(rows("over", [(1.0, 1.5)]))


def test_steam_record_validates() -> None:
    [move] = detect_steam(rows("over", [(2.0, 1.9), (2.0, 1.9), (2.0, 1.9)]))
    record = move.to_record(
        window_start=T0,
        window_end=T0 + timedelta(minutes=1),
        game_id=GAME,
        sport="soccer_epl",
        market="totals",
        point=2.5,
        detected_at=T0 + timedelta(minutes=1, seconds=2),
    )
    assert validate(STEAM_MOVES, record) == {**record, "retracted": None}
    assert record["direction"] == "shortening" and record["median_move_pct"] == pytest.approx(-5.0)


# ---------------------------------------------------------------------- real capture


def test_real_capture_matches_a_direct_recomputation() -> None:
    path = Settings().shared_data_dir / "odds-api" / "soccer_epl_odds_2024-03-27.json"
    events = json.loads(path.read_text())
    parsed = TheOddsApi().parse_events(events)
    assert not parsed.rejects
    quotes = [Quote.from_record(r) for r in parsed.events]
    by_game: dict[str, list[Quote]] = {}
    for quote in quotes:
        if quote.market == "h2h":
            by_game.setdefault(quote.game_id, []).append(quote)
    summaries = {g: summarise_market(qs) for g, qs in by_game.items()}
    assert len(summaries) == len(events) == 30
    assert all(len(s) == 1 and s[0].selections == ORDER for s in summaries.values())

    raw = next(e for e in events if e["home_team"] == "Newcastle United")
    [s] = summaries[GAME]

    def outcome(name: str) -> str:
        return {raw["home_team"]: "home", raw["away_team"]: "away", "Draw": "draw"}[name]

    books: dict[str, dict[str, float]] = {}
    for book in raw["bookmakers"]:
        for market in book["markets"]:
            if market["key"] == "h2h":
                books[book["key"]] = {outcome(o["name"]): o["price"] for o in market["outcomes"]}
    best = best_prices({sel: {b: p[sel] for b, p in books.items() if sel in p} for sel in ORDER})
    assert s.best_prices == {sel: best[sel].price for sel in ORDER}
    assert s.best_bookmakers == {sel: best[sel].bookmakers[0] for sel in ORDER}
    pinnacle = [books["pinnacle"][sel] for sel in ORDER]
    assert s.margins["pinnacle"] == pytest.approx(margin(pinnacle))
    complete = [[p[sel] for sel in ORDER] for p in books.values() if len(p) == 3]
    assert len(s.complete_bookmakers) == len(complete)
    shin = [devig_shin(prices) for prices in complete]
    assert s.fair_shin == pytest.approx({sel: fmean(b[i] for b in shin) for i, sel in enumerate(ORDER)})
    pinnacle_fair = devig_shin(pinnacle)
    # the consensus sits within a few points of the sharp book's own fair line
    assert all(abs(s.fair_shin[sel] - pinnacle_fair[i]) < 0.03 for i, sel in enumerate(ORDER))
    inverse = sum(1 / best[sel].price for sel in ORDER)
    assert s.arbitrage.inverse_sum == pytest.approx(inverse)
    assert s.is_arbitrage == (inverse < 1)
