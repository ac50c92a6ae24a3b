"""The bankroll simulation, its figures and the strategies, against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from lakehouse.models.backtest import Bets, evaluate, max_drawdown, simulate
from lakehouse.models.strategies import Market, Staking, arbitrage_bets, value_bets

D1, D2 = np.datetime64("2024-01-06"), np.datetime64("2024-01-13")


def bets() -> Bets:
    return Bets(
        match_id=["a", "b", "c"],
        date=np.array([D1, D1, D2]),
        selection=["home", "away", "draw"],
        price=np.array([2.0, 4.0, 3.5]),
        won=np.array([True, False, False]),
        fraction=np.array([0.1, 0.05, 0.2]),
        unit=np.ones(3),
        closing_fair=np.array([0.55, np.nan, 0.25]),
    )


def test_flat_staking_by_hand() -> None:
    result, path = evaluate(bets(), "s", "flat", bankroll=10.0)
    # day 1: +1 (2.0 won) -1 = 0 -> 10 ; day 2: -1 -> 9
    assert path.bankroll.tolist() == [10.0, 9.0]
    assert (result.bets, result.turnover, result.profit) == (3, 3.0, -1.0)
    assert result.roi == pytest.approx(-0.1) and result.yield_ == pytest.approx(-1 / 3)
    assert result.clv == pytest.approx(((2.0 * 0.55 - 1) + (3.5 * 0.25 - 1)) / 2)  # the NaN close is skipped
    assert result.max_drawdown == pytest.approx(0.1)


def test_kelly_stakes_come_from_the_days_opening_bankroll() -> None:
    stakes, path = simulate(bets(), "kelly", bankroll=100.0)
    # day 1: 10 and 5 from 100 -> +10 - 5 = 105 ; day 2: 0.2 of 105 = 21, lost -> 84
    assert stakes.tolist() == pytest.approx([10.0, 5.0, 21.0])
    assert path.bankroll.tolist() == pytest.approx([105.0, 84.0])
    assert max_drawdown(path.bankroll, 100.0) == pytest.approx(21 / 105)


def test_a_days_kelly_exposure_is_capped() -> None:
    b = bets()
    b.fraction = np.array([0.4, 0.4, 0.1])
    stakes, _ = simulate(b, "kelly", bankroll=100.0, max_day_exposure=0.5)
    assert stakes[:2].tolist() == pytest.approx([25.0, 25.0])


def test_drawdown_is_measured_from_running_peaks() -> None:
    assert max_drawdown(np.array([120.0, 90.0, 130.0, 117.0]), 100.0) == pytest.approx(0.25)
    assert max_drawdown(np.array([101.0, 102.0]), 100.0) == 0.0


def market() -> Market:
    return Market(
        match_id=["a", "b", "c"],
        date=np.array([D1, D1, D2]),
        outcome=np.array([0, 2, 1]),
        best_price=np.array([[2.1, 3.6, 3.9], [1.5, 4.5, 7.0], [np.nan, 3.3, 2.2]]),
        closing_fair=np.array([[0.5, 0.27, 0.23], [0.6, 0.25, 0.15], [0.3, 0.3, 0.4]]),
    )


def test_value_bets_take_the_largest_edge_over_the_threshold() -> None:
    m = market()
    p = np.array([[0.52, 0.26, 0.22], [0.62, 0.22, 0.16], [0.5, 0.32, 0.18]])
    got = value_bets(m, np.arange(3), p, Staking(min_edge=0.03, kelly_multiplier=0.5, kelly_cap=0.5))
    # a: edges 0.092, -0.064, -0.142 -> home ; b: -0.07, -0.01, 0.12 -> away ; c: home has no price,
    # draw 0.056 -> draw (its missing price never wins)
    assert got.match_id == ["a", "b", "c"] and got.selection == ["home", "away", "draw"]
    assert got.price.tolist() == [2.1, 7.0, 3.3]
    assert got.won.tolist() == [True, True, True]
    assert got.fraction.tolist() == pytest.approx([0.5 * 0.092 / 1.1, 0.5 * 0.12 / 6.0, 0.5 * 0.056 / 2.3])
    assert got.closing_fair.tolist() == [0.5, 0.15, 0.3]
    assert len(value_bets(m, np.arange(3), p, Staking(min_edge=0.2))) == 0


def test_arbitrage_legs_pay_the_same_whatever_happens() -> None:
    m = market()
    got, statuses = arbitrage_bets(m, Staking(arbitrage_fraction=0.1))
    # a: 1/2.1 + 1/3.6 + 1/3.9 = 1.0108 (no arb) ; b: 1/1.5 + 1/4.5 + 1/7 = 1.0317 ; c lacks a price
    assert len(got) == 0 and not statuses
    m.best_price[1] = [2.2, 4.5, 7.0]  # 0.4545 + 0.2222 + 0.1429 = 0.8196: an arbitrage
    m.best_book = [("b1", "b2", "b3")] * 3
    got, statuses = arbitrage_bets(m, Staking(arbitrage_fraction=0.1))
    assert statuses == {"actionable": 1}
    assert got.match_id == ["b"] * 3 and got.won.tolist() == [False, False, True]
    payouts = got.unit * got.price
    assert payouts.tolist() == pytest.approx([payouts[0]] * 3)
    assert got.unit.sum() == pytest.approx(1.0) and got.fraction.sum() == pytest.approx(0.1)
    result, _ = evaluate(got, "arbitrage", "flat", bankroll=100.0)
    inverse = 1 / 2.2 + 1 / 4.5 + 1 / 7.0
    assert result.profit == pytest.approx(1 / inverse - 1)


def test_a_suspect_price_or_an_exchange_commission_keeps_an_arbitrage_off_the_book() -> None:
    m = market()
    m.best_price[1] = [2.1, 3.9, 4.6]  # 0.4762 + 0.2564 + 0.2174 = 0.9500: 5.3% gross
    m.best_book = [("b1", "b2", "b3")] * 3
    consensus = np.full((3, 3), np.nan)
    consensus[1] = [0.49, 0.275, 0.235]  # edges 2.9%, 7.3%, 8.1%: under the 10% rule
    got, statuses = arbitrage_bets(m, Staking(), consensus)
    assert statuses == {"actionable": 1} and len(got) == 3
    consensus[1] = [0.48, 0.275, 0.245]  # 4.6 x 0.245 - 1 = 12.7%: a likely palpable error
    got, statuses = arbitrage_bets(m, Staking(), consensus)
    assert statuses == {"suspect": 1} and len(got) == 0
    # 0.5 + 0.32787 + 0.16667 = 0.99454 gross; Betfair's 5% on the away leg's winnings makes it
    # 1 + 5 x 0.95 = 5.75, and 0.5 + 0.32787 + 0.17391 = 1.00178: eaten by commission
    m.best_price[1] = [2.0, 3.05, 6.0]
    assert arbitrage_bets(m, Staking())[1] == {"actionable": 1}
    m.best_book = [("b1", "b2", "betfair_ex_uk")] * 3
    got, statuses = arbitrage_bets(m, Staking())
    assert statuses == {"commission_eaten": 1} and len(got) == 0
