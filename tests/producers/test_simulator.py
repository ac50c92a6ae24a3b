"""The live-market simulator: valid records, a consistent game/market model, margins, arbitrage, rate."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from lakehouse.odds import arbitrage, best_prices, overround
from lakehouse.schemas import validate
from producers.simulator import (
    DEFAULT_BOOKMAKERS,
    QuoteBoard,
    Simulator,
    arbitrage_windows,
    paced,
    restamped,
)

Stream = list[tuple[str, dict]]


@pytest.fixture(scope="module")
def full_games() -> Stream:
    """Two games per sport played to the end: the match clock runs 60x faster than the market's."""
    sim = Simulator(seed=7, games_per_sport=2, game_speed=60, first_kickoff_s=30, kickoff_interval_s=30)
    return list(sim.run(240))


@pytest.fixture(scope="module")
def default_run() -> Stream:
    """Five simulated minutes with every default."""
    return list(Simulator().run(300))


@pytest.mark.parametrize("run", ["full_games", "default_run"])
def test_every_record_validates_and_both_feeds_flow(run: str, request: pytest.FixtureRequest) -> None:
    stream: Stream = request.getfixturevalue(run)
    counts = Counter(feed for feed, _ in stream)
    assert counts["odds"] > 1000 and counts["games"] > 10
    for feed, record in stream:
        validate(feed, record)
    assert {r["source"] for _, r in stream} == {"simulator"}
    times = [r["event_time"] for _, r in stream]
    assert times == sorted(times)
    assert len({r["event_id"] for _, r in stream}) == len(stream)


def test_games_progress_to_final_and_quotes_stop(full_games: Stream) -> None:
    statuses: dict[str, list[str]] = defaultdict(list)
    scores: dict[str, tuple[int, int]] = {}
    final: set[str] = set()
    for feed, r in full_games:
        gid = r["game_id"]
        assert gid not in final, f"{feed} record for {gid} after full time"
        if feed == "odds":
            continue
        statuses[gid].append(r["status"])
        if r["status"] == "scheduled":
            assert r["home_score"] is None and r["period"] is None
            continue
        score = (r["home_score"], r["away_score"])
        before = scores.get(gid, (0, 0))
        assert score[0] >= before[0] and score[1] >= before[1], "scores never decrease"
        scores[gid] = score
        if r["status"] == "final":
            final.add(gid)
    assert len(statuses) == 6
    for gid, seen in statuses.items():  # every game kicks off inside the window, so all finish
        assert seen[0] == "scheduled" and seen[-1] == "final", gid
        assert seen[1:-1] == ["live"] * (len(seen) - 2), gid
    finals = [r for feed, r in full_games if feed == "games" and r["status"] == "final"]
    assert {r["sport"] for r in finals} == {"soccer_epl", "americanfootball_nfl", "basketball_nba"}
    for r in finals:
        assert (r["home_score"], r["away_score"]) == scores[r["game_id"]]
        if r["sport"] == "basketball_nba":
            assert r["home_score"] != r["away_score"], "basketball plays overtime until someone wins"


def test_soccer_is_three_way_and_lines_are_half_points(full_games: Stream) -> None:
    selections: dict[str, set[str]] = defaultdict(set)
    for feed, r in full_games:
        if feed != "odds":
            continue
        if r["market"] == "h2h":
            assert r["point"] is None
            selections[r["sport"]].add(r["selection"])
        else:
            assert r["point"] is not None and (2 * r["point"]) % 2 == 1, r
        if r["market"] == "totals":
            assert r["selection"] in ("over", "under") and r["selection_name"] in ("Over", "Under")
        if r["previous_price"] is not None:
            assert r["previous_price"] > 1.0
    assert selections["soccer_epl"] == {"home", "draw", "away"}
    assert selections["americanfootball_nfl"] == selections["basketball_nba"] == {"home", "away"}


def test_quote_changes_carry_the_books_previous_price(full_games: Stream) -> None:
    last: dict[tuple, tuple[float, float | None]] = {}
    for feed, r in full_games:
        if feed != "odds":
            continue
        key = (r["game_id"], r["bookmaker"], r["market"], r["selection"])
        seen = last.get(key)
        assert r["previous_price"] == (seen[0] if seen else None)
        assert seen != (r["price"], r["point"]), "a quote is only sent when it changed"
        last[key] = (r["price"], r["point"])


def test_teams_come_from_the_registry_with_a_builtin_fallback() -> None:
    from lakehouse.teams import get_registry

    epl = {t.team_id for t in get_registry().teams(sport="soccer", competition="soccer_epl")}
    sim = Simulator(sports=("soccer_epl", "basketball_nba"), games_per_sport=3)
    games = [r for feed, r in sim.run(1) if feed == "games"]
    soccer = [r for r in games if r["sport"] == "soccer_epl"]
    assert soccer and all({r["home_team_id"], r["away_team_id"]} <= epl for r in soccer)
    nba = [r for r in games if r["sport"] == "basketball_nba"]
    assert nba and all(r["home_team_id"].startswith("nba-") for r in nba)
    assert all(r["game_id"].startswith("2025-01-04:") for r in games)
    playing = [t for r in games for t in (r["home_team_id"], r["away_team_id"])]
    assert len(playing) == len(set(playing)), "no team plays two games at once"


def test_a_score_moves_the_fair_price_towards_the_scorer() -> None:
    sim = Simulator(
        seed=3,
        sports=("soccer_epl", "americanfootball_nfl"),
        games_per_sport=10,
        game_speed=10,
        first_kickoff_s=10,
        kickoff_interval_s=5,
    )
    last: dict[str, tuple[int, int]] = {}
    checked = Counter()
    for feed, r in sim.run(700):
        if feed != "games" or r["status"] != "live":
            continue
        before_score = last.get(r["game_id"])
        last[r["game_id"]] = (r["home_score"], r["away_score"])
        if before_score is None:
            continue
        home_scored = r["home_score"] > before_score[0]
        if home_scored == (r["away_score"] > before_score[1]):
            continue  # nobody, or both teams, scored this tick
        side = "home" if home_scored else "away"
        before = sim.fair(r["game_id"], ago_s=sim.tick_seconds)[0].prob(side)
        after = sim.fair(r["game_id"])[0].prob(side)
        assert after >= before - 1e-9, (r, before, after)
        if 0.01 < before < 0.99:  # not already decided (where both are ~0 or ~1 to float precision)
            assert after > before, (r, before, after)
        checked[r["sport"]] += 1
    assert checked["soccer_epl"] >= 10 and checked["americanfootball_nfl"] >= 10, checked


def test_each_book_quotes_its_own_margin(default_run: Stream) -> None:
    board, per_book = QuoteBoard(), defaultdict(list)
    second = None
    for feed, r in default_run:
        if r["event_time"][:19] != second:  # sample every book's h2h once a simulated second
            second = r["event_time"][:19]
            for gid in board.games():
                for book, quotes in board.prices(gid, "h2h").items():
                    per_book[book].append(overround([price for price, _ in quotes.values()]))
        board.apply(feed, r)
    for book in DEFAULT_BOOKMAKERS:
        mean = statistics.mean(per_book[book.key])
        assert 1 + book.margin <= mean <= 1 + book.margin + 0.01, (book.key, mean)
        if book.is_exchange:
            assert mean < 1.02
        else:
            assert 1.02 <= mean <= 1.08, (book.key, mean)


def test_same_seed_same_records_other_seed_other_records() -> None:
    def head(seed: int) -> list[tuple[str, float | str]]:
        run = itertools.islice(Simulator(seed=seed).run(120), 3000)
        return [(r["event_id"], r.get("price", r.get("status"))) for _, r in run]

    first = head(42)
    assert len(first) == 3000
    assert first == head(42)
    other = head(43)
    assert [p for _, p in other] != [p for _, p in first]
    assert not {e for e, _ in other} & {e for e, _ in first}


def test_short_lived_arbitrage_windows_appear_in_five_default_minutes(default_run: Stream) -> None:
    windows, _ = arbitrage_windows(default_run, sample_s=0.5)
    assert windows, "no arbitrage in 5 simulated minutes"
    closed = sorted(w.duration_s for w in windows if w.duration_s is not None)
    slowest = max(b.delay_s + 1.5 * b.requote_s for b in DEFAULT_BOOKMAKERS) + 1.0
    within = sum(d <= slowest for d in closed) / len(closed)
    print(
        f"\n{len(windows)} arbitrage windows in 300 s; duration median {statistics.median(closed)} s, "
        f"max {closed[-1]} s; {within:.0%} closed within the slowest book's delay ({slowest} s); "
        f"median return {statistics.median(w.best_return for w in windows):.2%}; "
        f"by market {dict(Counter(w.market for w in windows))}"
    )
    assert within >= 0.8

    # the board's verdict agrees with lakehouse.odds on the raw best prices
    board = QuoteBoard()
    confirmed = 0
    for feed, r in default_run:
        board.apply(feed, r)
        if feed == "odds" and r["market"] == "h2h":
            quotes = board.prices(r["game_id"], "h2h")
            rows = [(book, sel, price) for book, sels in quotes.items() for sel, (price, _) in sels.items()]
            if len({sel for _, sel, _ in rows}) == (3 if r["sport"].startswith("soccer") else 2):
                confirmed += arbitrage(best_prices(rows)).is_arbitrage
    assert confirmed > 0


def test_for_rate_hits_the_target_quote_rate() -> None:
    sim = Simulator.for_rate(1000, seed=5)
    per_second = Counter(r["event_time"][:19] for feed, r in sim.run(30) if feed == "odds")
    total = sum(per_second.values())
    assert abs(total - 30_000) <= 0.05 * 30_000, total
    assert len(per_second) == 30 and min(per_second.values()) >= 950


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _emission_times(
    rate: float, n: int, stall: Callable[[int, FakeClock], None] | None = None
) -> list[float]:
    fake = FakeClock()
    times = []
    for i, _ in enumerate(paced(range(n), rate, clock=fake.clock, sleep=fake.sleep)):
        times.append(fake.now)
        if stall:
            stall(i, fake)
    return times


def test_paced_emits_at_the_requested_rate() -> None:
    times = _emission_times(rate=2000, n=10_000)
    assert abs(times[-1] - 5.0) <= 0.05 * 5.0
    per_second = Counter(int(t) for t in times)
    assert all(abs(per_second[s] - 2000) <= 100 for s in range(4))


def test_paced_catches_up_without_bursting_above_the_rate() -> None:
    def stall(i: int, fake: FakeClock) -> None:
        if i == 1000:
            fake.now += 2.0  # the consumer hangs for two seconds

    times = _emission_times(rate=1000, n=4000, stall=stall)
    after = [t for t in times if t >= times[1000] + 2.0]
    in_first_10ms = sum(t < times[1000] + 2.0 + 0.01 for t in after)
    assert in_first_10ms <= 50 + 10 + 1  # at most the 50 ms bucket plus the rate itself
    rates = Counter(int(t * 10) for t in times)
    assert max(rates.values()) <= 1000 * 0.1 + 51


def test_paced_passes_records_through_and_restamped_sets_wall_time() -> None:
    stream = list(Simulator(games_per_sport=1).run(5))
    fake = FakeClock()
    assert list(paced(stream, 10_000, clock=fake.clock, sleep=fake.sleep)) == stream
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    stamped = list(restamped(stream, now=lambda: wall))
    assert {r["ingested_at"] for _, r in stamped} == {"2030-01-01T00:00:00.000000Z"}
    assert [r["event_time"] for _, r in stamped] == [r["event_time"] for _, r in stream]
