"""The market engine: its rows equal an independent recomputation, whatever the batching and order."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.market.engine import Output, _line, stamp, to_micros
from lakehouse.schemas import get_aggregate_type, validate
from tests.support.market_oracle import expected_rows, latest_rows

GAME = "2024-03-30:boston-celtics:miami-heat"
META = GameMeta("basketball_nba", "Boston Celtics", "Miami Heat", to_micros("2024-03-30T15:00:00Z"))
T0 = to_micros("2024-03-30T12:00:00Z")
US = 1_000_000
SETTINGS = EngineSettings(window_s=60, lateness_s=120, steam_threshold_pct=2.0, steam_min_books=2)


def tick(
    s: float,
    book: str,
    selection: str,
    price: float,
    *,
    market: str = "h2h",
    point: float | None = None,
    n: int = 0,
    previous: float | None = None,
) -> Tick:
    t = T0 + int(s * US)
    return Tick(
        t,
        f"{book}-{selection}-{s}-{n}",
        market,
        book,
        selection,
        price,
        point,
        book == "betfair_ex_uk",
        t,
        previous,
    )


def run(
    batches: Sequence[Sequence[Tick]], engine: EngineSettings = SETTINGS
) -> tuple[GameState, list[Output]]:
    """Feed batches through one state (pickled between batches, as the state store does)."""
    state = GameState(GAME)
    applied: list[Tick] = []
    outputs: list[Output] = []

    def history(since: int) -> list[Tick]:
        return [t for t in applied if t.t >= since]

    for batch in batches:
        state = GameState.loads(state.dumps())
        out, new = state.apply(batch, META, engine, history)
        applied.extend(new)
        outputs += out
    return state, outputs


def test_rows_validate_against_the_aggregate_schemas() -> None:
    ticks = [
        tick(1, "a", "home", 2.1),
        tick(2, "a", "draw", 3.4),
        tick(3, "a", "away", 3.9),
        tick(4, "b", "home", 2.3),
        tick(5, "b", "draw", 3.6),
        tick(6, "b", "away", 4.2),
    ]
    _, outputs = run([ticks])
    assert {o.aggregate for o in outputs} >= {
        "market_prices_live",
        "market_agg_1m",
        "arbitrage_opportunities",
    }
    for out in outputs:
        assert validate(get_aggregate_type(out.aggregate), out.record) is not None


def test_a_three_way_market_board_windows_and_an_arbitrage_on_event_time() -> None:
    ticks = [
        tick(1, "a", "home", 2.0),
        tick(2, "a", "draw", 3.0),
        tick(3, "a", "away", 3.6),
        tick(4, "b", "home", 2.2),
        tick(5, "b", "draw", 3.2),
        tick(6, "b", "away", 3.6),
        tick(70, "c", "home", 1.9),
        tick(71, "c", "away", 4.1),
        tick(72, "c", "draw", 4.5),  # 1/2.2+1/4.5+1/4.1 < 1
        tick(130, "c", "draw", 3.2),  # gone again
    ]
    _, outputs = run([ticks])
    rows = latest_rows(outputs)
    (arb,) = [r for (agg, _), r in rows.items() if agg == "arbitrage_opportunities"]
    assert (arb["opened_at"], arb["closed_at"], arb["status"]) == (
        stamp(T0 + 72 * US),
        stamp(T0 + 130 * US),
        "closed",
    )
    assert arb["best_prices"] == [2.2, 4.5, 4.1] and arb["bookmakers"] == ["b", "c", "c"]
    assert arb["inverse_sum"] == pytest.approx(1 / 2.2 + 1 / 4.5 + 1 / 4.1) and arb["age_s"] == 58.0
    live = rows[("market_prices_live", f"{GAME}|h2h|c|draw")]
    assert (live["price"], live["previous_price"], live["updated_at"]) == (3.2, 4.5, stamp(T0 + 130 * US))
    # Window 2 (60-120 s) sees the board at its end: a and b from window 1, c from its own quotes.
    bar = rows[("market_agg_1m", f"{stamp(T0 + 60 * US)}|{GAME}|h2h|None|c|draw")]
    assert (bar["open_price"], bar["last_price"], bar["quotes"], bar["best_price"]) == (4.5, 4.5, 1, 4.5)
    assert bar["best_bookmaker"] == "c" and bar["bookmaker_margin"] == pytest.approx(
        1 / 1.9 + 1 / 4.5 + 1 / 4.1 - 1
    )
    assert bar["updated_at"] == stamp(T0 + 72 * US)
    assert rows == expected_rows(GAME, META, ticks, SETTINGS)


def test_the_capture_bug_a_window_keeps_the_consensus_of_every_book() -> None:
    """Books of one window arriving in separate batches must not leave an earlier consensus behind."""
    ticks = [
        tick(s, book, sel, p)
        for s, (book, sel, p) in enumerate(
            [
                ("a", "home", 2.0),
                ("a", "draw", 3.4),
                ("a", "away", 4.0),
                ("b", "home", 2.1),
                ("b", "draw", 3.3),
                ("b", "away", 3.7),
                ("c", "home", 1.95),
                ("c", "draw", 3.5),
                ("c", "away", 4.2),
            ]
        )
    ]
    one = latest_rows(run([ticks])[1])
    split = latest_rows(run([ticks[:3], ticks[3:6], ticks[6:]])[1])
    assert split == one == expected_rows(GAME, META, ticks, SETTINGS)
    bar = one[("market_agg_1m", f"{stamp(T0)}|{GAME}|h2h|None|a|home")]
    assert bar["fair_prob_shin"] == pytest.approx(  # the mean of the three books' own Shin probabilities
        expected_rows(GAME, META, ticks, SETTINGS)[("market_agg_1m", f"{stamp(T0)}|{GAME}|h2h|None|a|home")][
            "fair_prob_shin"
        ]
    )


def test_out_of_order_quotes_rederive_and_retract() -> None:
    """A late-arriving quote that kills an arbitrage already published retracts it."""
    base = [
        tick(1, "a", "home", 2.0),
        tick(2, "a", "away", 2.0),
        tick(3, "b", "home", 1.9),
        tick(4, "b", "away", 1.7),
    ]
    arb_maker = tick(10, "c", "home", 2.2)  # 1/2.2 + 1/2.0 < 1: an arbitrage from t=10
    spoiler = tick(8, "a", "away", 1.6)  # older, arrives last: from t=8 the best away is 1.7, no arbitrage
    in_order = latest_rows(run([[*base, spoiler, arb_maker]])[1])
    _, shuffled_out = run([base, [arb_maker], [spoiler]])
    shuffled = latest_rows(shuffled_out)
    assert shuffled == in_order == expected_rows(GAME, META, [*base, spoiler, arb_maker], SETTINGS)
    retracted = [o for o in shuffled_out if o.record.get("retracted")]
    assert [o.aggregate for o in retracted] == ["arbitrage_opportunities"]


def test_late_and_duplicate_quotes_are_counted_and_left_out() -> None:
    first = [tick(1000, "a", "home", 2.0), tick(1001, "a", "away", 2.0)]
    late = tick(800, "b", "home", 2.5)  # 200 s behind the game's newest, lateness 120 s
    state, outputs = run([first, [late, first[0]]])
    assert (state.late, state.duplicates) == (1, 1)
    assert ("market_prices_live", f"{GAME}|h2h|b|home") not in latest_rows(outputs)


def test_state_is_bounded_windows_behind_the_watermark_leave() -> None:
    ticks = [tick(s, "a", ("home", "away")[s % 2], 2.0 + (s % 7) / 100) for s in range(0, 3600, 5)]
    state, _ = run([ticks[i : i + 37] for i in range(0, len(ticks), 37)])
    assert len(state.windows) <= 4  # 120 s lateness + the current 60 s window
    assert len(state.live) == 2 and len(state.base) == 2


# ---------------------------------------------------------------------- differential, generated

BOOKS = ("a", "b", "c", "d", "betfair_ex_uk")


@st.composite
def game_quotes(draw: Any) -> list[Tick]:
    n = draw(st.integers(min_value=1, max_value=60))
    out = []
    for i in range(n):
        market = draw(st.sampled_from(["h2h", "h2h", "totals", "spreads", "h2h_lay"]))
        selection = draw(
            st.sampled_from(
                {
                    "h2h": ["home", "draw", "away"],
                    "h2h_lay": ["home", "draw", "away"],
                    "totals": ["over", "under"],
                    "spreads": ["home", "away"],
                }[market]
            )
        )
        point = None
        if market == "totals":
            point = draw(st.sampled_from([2.5, 3.0]))
        elif market == "spreads":
            point = draw(st.sampled_from([-0.5, 0.5, -1.0, 1.0]))
        price = draw(st.sampled_from([1.5, 1.8, 1.9, 2.0, 2.05, 2.1, 2.3, 2.6, 3.2, 3.6, 4.0, 4.6, 5.5]))
        s = draw(st.integers(min_value=0, max_value=400))
        out.append(
            tick(
                s,
                draw(st.sampled_from(BOOKS)),
                selection,
                price,
                market=market,
                point=point,
                n=i,
                previous=draw(st.sampled_from([None, None, 1.7])),
            )
        )
    return out


def _arrivals(ticks: list[Tick], rng: random.Random, lateness_s: int) -> list[Tick]:
    """A shuffle in which no quote arrives more than ``lateness_s`` behind the newest one before it."""
    ordered = sorted(ticks)
    jittered = sorted(ordered, key=lambda t: t.t / US + rng.uniform(0, lateness_s * 0.9))
    newest = -1
    for t in jittered:
        assert t.t >= newest - lateness_s * US
        newest = max(newest, t.t)
    return jittered


@settings(max_examples=150, deadline=None)
@given(
    ticks=game_quotes(),
    seed=st.integers(min_value=0, max_value=2**32),
    sizes=st.sampled_from([1, 2, 7, 1000]),
)
def test_any_batching_and_order_within_lateness_gives_the_oracles_rows(
    ticks: list[Tick], seed: int, sizes: int
) -> None:
    rng = random.Random(seed)
    arrivals = _arrivals(ticks, rng, int(SETTINGS.lateness_s))
    batches = [arrivals[i : i + sizes] for i in range(0, len(arrivals), sizes)]
    _, outputs = run(batches)
    assert latest_rows(outputs) == expected_rows(GAME, META, ticks, SETTINGS)


@settings(max_examples=200, deadline=None)
@given(ticks=game_quotes(), seed=st.integers(min_value=0, max_value=2**32))
def test_the_remembered_best_prices_are_the_boards(ticks: list[Tick], seed: int) -> None:
    """The engine remembers each selection's best price and book between quotes, and updates it
    from each quote alone; after any arrival order (re-derivation included) every remembered best
    is the board's own: the highest price on the line, ties to the first book by name."""
    arrivals = _arrivals(ticks, random.Random(seed), int(SETTINGS.lateness_s))
    state, _ = run([arrivals])
    remembered = state.__dict__.get("_bests_index", {})
    for (market, line, selection), held in remembered.items():
        quoted = [
            (tick.price, book)
            for (book, sel), tick in state.board[market].items()
            if sel == selection and _line(market, sel, tick.point) == line
        ]
        best = max(price for price, _ in quoted)
        assert held == (best, min(book for price, book in quoted if price == best))


def test_a_steam_move_a_late_quote_undoes_is_retracted() -> None:
    moves = [
        tick(1, "a", "home", 2.0),
        tick(2, "b", "home", 2.0),
        tick(30, "a", "home", 1.8),
        tick(31, "b", "home", 1.8),
    ]
    earlier = tick(0.5, "a", "home", 1.8)  # a opened the window at 1.8 already: only b moved
    _, outputs = run([moves, [earlier]])
    steam = [o.record for o in outputs if o.aggregate == "steam_moves"]
    assert [(r["direction"], r["books_moved"], r["retracted"]) for r in steam] == [
        ("shortening", 2, False),
        ("shortening", 2, True),
    ]
    assert latest_rows(outputs) == expected_rows(GAME, META, [*moves, earlier], SETTINGS)


def _arb_rows(outputs: list[Output]) -> list[dict[str, Any]]:
    return [r for (agg, _), r in latest_rows(outputs).items() if agg == "arbitrage_opportunities"]


def test_an_arbitrage_goes_stale_when_its_line_moves_on_without_it() -> None:
    """The verdict is the trader's on the board of each quote: a worse price quoted 197 s after the
    legs changes no best price, yet makes every leg stale (max quote age 120 s)."""
    legs = [tick(1, "a", "home", 2.2), tick(2, "b", "draw", 3.6), tick(3, "c", "away", 4.0)]
    later = tick(200, "d", "home", 1.5)
    for batches in ([legs], [[*legs, later]], [legs, [later]], [[x] for x in [*legs, later]]):
        _, outputs = run(batches)
        (arb,) = _arb_rows(outputs)
        inverse = 1 / 2.2 + 1 / 3.6 + 1 / 4.0  # 0.982: no exchange, so net = gross
        assert arb["net_return"] == pytest.approx(1 / inverse - 1) and arb["status"] == "open"
        # equal payout: 100 * (1/price) / inverse, rounded half up to whole units
        assert arb["net_stakes"] == [round(100 / 2.2 / inverse), round(100 / 3.6 / inverse), 25.0]
        if later in batches[-1]:
            assert arb["assessment"] == "stale" and arb["updated_at"] == stamp(T0 + 200 * US)
            assert arb["stale_selections"] == ["home", "draw", "away"] and arb["age_s"] == 197.0
        else:
            assert arb["assessment"] == "actionable" and arb["stale_selections"] == []
    assert _arb_rows(run([legs, [later]])[1]) == _arb_rows(run([[*legs, later]])[1])


def test_exchange_commission_eats_a_thin_arbitrage() -> None:
    # 1/2.1 + 1/3.7 + 1/4.0 = 0.9965 gross; Betfair's 5% makes the draw 1 + 2.7 x 0.95 = 3.565
    ticks = [tick(1, "a", "home", 2.1), tick(2, "betfair_ex_uk", "draw", 3.7), tick(3, "c", "away", 4.0)]
    _, outputs = run([ticks])
    (arb,) = _arb_rows(outputs)
    assert arb["guaranteed_return"] == pytest.approx(1 / (1 / 2.1 + 1 / 3.7 + 1 / 4.0) - 1)
    assert (
        arb["net_return"] == pytest.approx(1 / (1 / 2.1 + 1 / 3.565 + 1 / 4.0) - 1) and arb["net_return"] < 0
    )
    assert arb["assessment"] == "commission_eaten"
    assert latest_rows(outputs) == expected_rows(GAME, META, ticks, SETTINGS)


def test_a_price_far_above_the_consensus_is_suspect() -> None:
    books = [
        tick(1, "a", "home", 2.0),
        tick(2, "a", "draw", 3.4),
        tick(3, "a", "away", 3.8),
        tick(4, "b", "home", 2.05),
        tick(5, "b", "draw", 3.3),
        tick(6, "b", "away", 3.9),
    ]
    palpable = tick(7, "c", "home", 2.9)  # 1/2.9 + 1/3.4 + 1/3.9 = 0.895: a 12% "arbitrage"
    _, outputs = run([books, [palpable]])
    (arb,) = _arb_rows(outputs)
    assert arb["assessment"] == "suspect" and arb["suspect_selections"] == ["home"]
    assert arb["best_prices"] == [2.9, 3.4, 3.9] and arb["bookmakers"] == ["c", "a", "b"]
    assert latest_rows(outputs) == expected_rows(GAME, META, [*books, palpable], SETTINGS)


def test_the_engine_judges_the_epl_capture_as_the_command_does(shared_data: Path) -> None:
    """The speed layer's open arbitrages at the end of the real capture carry the verdicts
    `lakehouse arbitrage` gives the same body: one implementation of the trader's rules."""
    from lakehouse.market.board import Quote, arbitrage_window, summarise_market
    from producers.replay import odds_api_capture

    records = odds_api_capture(shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").events
    games: dict[str, list[Tick]] = {}
    metas: dict[str, GameMeta] = {}
    for r in records:
        games.setdefault(r["game_id"], []).append(Tick.from_record(r))
        metas[r["game_id"]] = GameMeta.from_record(r)
    engine = EngineSettings(lateness_s=1e9)  # a snapshot: no quote is late
    live: dict[str, str] = {}
    for game_id, ticks in games.items():
        out, _ = GameState(game_id).apply(ticks, metas[game_id], engine, lambda since: [])
        arbs = {o.key: o.record for o in out if o.aggregate == "arbitrage_opportunities"}
        live |= {r["game_id"]: r["assessment"] for r in arbs.values() if r["status"] == "open"}
    judged = {
        s.game_id: w.status
        for s in summarise_market(Quote.from_record(r) for r in records)
        if (w := arbitrage_window(s)) is not None
    }
    assert live == judged
    assert Counter(live.values()) == {"stale": 11, "suspect": 6, "commission_eaten": 4}
