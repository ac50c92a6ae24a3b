"""Playing bets through a bankroll, day by day, and the figures a desk reads off the result.

Bets of one day are staked from that day's opening bankroll (their results are not known when
the next one is placed); a Kelly stake is a fraction of it, a flat stake one unit.  The figures:
bets, turnover, profit, ROI (profit over the starting bankroll), yield (profit over turnover),
closing-line value (mean of ``price * closing fair probability - 1``) and maximum drawdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from lakehouse.models.scoring import Floats

StakeSizing = Literal["flat", "kelly"]


@dataclass
class Bets:
    """Bets column-wise; ``fraction`` is the Kelly bankroll fraction, ``unit`` the flat stake."""

    match_id: list[str]
    date: npt.NDArray[np.datetime64]
    selection: list[str]
    price: Floats
    won: npt.NDArray[np.bool_]
    fraction: Floats
    unit: Floats
    closing_fair: Floats  # NaN where the match has no closing line

    def __len__(self) -> int:
        return len(self.match_id)


@dataclass(frozen=True, slots=True)
class Result:
    strategy: str
    staking: StakeSizing
    bets: int
    turnover: float
    profit: float
    roi: float
    yield_: float
    clv: float
    max_drawdown: float
    final_bankroll: float


@dataclass
class BankrollPath:
    """The bankroll at the close of each betting day."""

    dates: npt.NDArray[np.datetime64]
    bankroll: Floats


MAX_DAY_EXPOSURE = 0.5
"""Kelly stakes of one day together risk at most this share of the bankroll (scaled down to it)."""


def simulate(
    bets: Bets, staking: StakeSizing, bankroll: float = 100.0, max_day_exposure: float = MAX_DAY_EXPOSURE
) -> tuple[Floats, BankrollPath]:
    """Stakes of every bet and the bankroll path (``staking``: flat units or Kelly fractions)."""
    stakes = np.zeros(len(bets))
    days = np.unique(bets.date)
    path = np.empty(len(days))
    for k, day in enumerate(days):
        today = np.flatnonzero(bets.date == day)
        if staking == "flat":
            stake = bets.unit[today]
        else:
            fractions = bets.fraction[today]
            exposure = float(fractions.sum())
            if exposure > max_day_exposure:
                fractions = fractions * (max_day_exposure / exposure)
            stake = fractions * bankroll
        stakes[today] = stake
        bankroll += float(np.sum(np.where(bets.won[today], stake * (bets.price[today] - 1.0), -stake)))
        path[k] = bankroll
    return stakes, BankrollPath(days, path)


def max_drawdown(path: Floats, start: float) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0 = never below a peak)."""
    if len(path) == 0:
        return 0.0
    values = np.concatenate([[start], path])
    peaks = np.maximum.accumulate(values)
    return float(np.max((peaks - values) / peaks))


def evaluate(
    bets: Bets, strategy: str, staking: StakeSizing, bankroll: float = 100.0
) -> tuple[Result, BankrollPath]:
    stakes, path = simulate(bets, staking, bankroll)
    turnover = float(stakes.sum())
    final = float(path.bankroll[-1]) if len(path.bankroll) else bankroll
    profit = final - bankroll
    has_close = ~np.isnan(bets.closing_fair)
    clv = (
        float(np.mean(bets.price[has_close] * bets.closing_fair[has_close] - 1.0))
        if has_close.any()
        else float("nan")
    )
    result = Result(
        strategy=strategy,
        staking=staking,
        bets=len(bets),
        turnover=turnover,
        profit=profit,
        roi=profit / bankroll,
        yield_=profit / turnover if turnover else 0.0,
        clv=clv,
        max_drawdown=max_drawdown(path.bankroll, bankroll),
        final_bankroll=final,
    )
    return result, path
