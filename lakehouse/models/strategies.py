"""Betting strategies over a season's matches: which bets each would have placed, and how big.

All read the same aligned per-match arrays (columns in ``scoring.OUTCOMES`` order, NaN where a
price is missing) and return ``Bets`` for ``backtest.evaluate``:

- value bets: the selection with the largest edge ``p * price - 1`` over ``min_edge``, where p is
  a model's probability (or Pinnacle's opening price de-vigged: the sharp-against-soft bet);
- arbitrage: all three selections at the best prices when the trader's rules
  (``lakehouse.trading.assess_arbitrage``) call the window actionable: not a suspect price
  against the consensus (Pinnacle's opening line), not eaten by commission; staked for equal
  payout net of commission.  The prices of one file were collected together, so none is stale.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lakehouse.models.backtest import Bets
from lakehouse.models.scoring import OUTCOMES, Floats
from lakehouse.models.staking import stake_fraction
from lakehouse.trading import ArbitrageLeg, ArbitrageRules, assess_arbitrage


@dataclass
class Market:
    """Per match: its day, what happened, the prices one could take and the closing fair line."""

    match_id: list[str]
    date: npt.NDArray[np.datetime64]
    outcome: npt.NDArray[np.int64]  # 0 home, 1 draw, 2 away
    best_price: Floats  # n x 3: best opening price among the individual bookmakers
    closing_fair: Floats  # n x 3: Pinnacle's closing line, Shin de-vigged
    best_book: list[tuple[str, str, str]] = field(default_factory=list)  # who offers each best price

    def __len__(self) -> int:
        return len(self.match_id)

    def rows(self, ids: list[str]) -> npt.NDArray[np.intp]:
        """Positions of matches by id (an id the market lacks fails, naming it)."""
        where = {m: i for i, m in enumerate(self.match_id)}
        missing = [m for m in ids if m not in where]
        if missing:
            raise KeyError(f"{len(missing)} predicted matches have no market, e.g. {missing[0]!r}")
        return np.array([where[m] for m in ids], dtype=np.intp)


@dataclass(frozen=True, slots=True)
class Staking:
    min_edge: float = 0.03
    kelly_multiplier: float = 0.25
    kelly_cap: float = 0.05
    arbitrage_fraction: float = 0.05  # of the bankroll per arbitrage (all legs together)


def _bets(
    market: Market, rows: list[int], legs: list[int], price: Floats, fraction: Floats, unit: Floats
) -> Bets:
    index = np.array(rows, dtype=np.intp)
    leg = np.array(legs, dtype=np.intp)
    return Bets(
        match_id=[market.match_id[i] for i in rows],
        date=market.date[index] if rows else np.array([], dtype="datetime64[D]"),
        selection=[OUTCOMES[k] for k in legs],
        price=price,
        won=market.outcome[index] == leg if rows else np.array([], dtype=bool),
        fraction=fraction,
        unit=unit,
        closing_fair=market.closing_fair[index, leg] if rows else np.array([]),
    )


def value_bets(market: Market, rows: npt.NDArray[np.intp], probabilities: Floats, staking: Staking) -> Bets:
    """At most one bet per match: the selection of largest edge, when it beats ``min_edge``."""
    prices = market.best_price[rows]
    edge = np.where(np.isnan(prices), -np.inf, probabilities * np.nan_to_num(prices, nan=1.0) - 1.0)
    pick = np.argmax(edge, axis=1)
    best = edge[np.arange(len(rows)), pick]
    chosen = np.flatnonzero(best > staking.min_edge)
    legs = pick[chosen]
    price = prices[chosen, legs]
    p = probabilities[chosen, legs]
    fraction = stake_fraction(p, price, staking.kelly_multiplier, staking.kelly_cap)
    return _bets(market, rows[chosen].tolist(), legs.tolist(), price, fraction, np.ones(len(chosen)))


def arbitrage_bets(
    market: Market, staking: Staking, consensus: Floats | None = None, rules: ArbitrageRules | None = None
) -> tuple[Bets, Counter[str]]:
    """The actionable arbitrages among the best opening prices (three legs each), and how many
    windows each status had; ``consensus`` (n x 3 fair probabilities, NaN unknown) finds suspects."""
    rules = rules or ArbitrageRules(stake_increment=0.0)
    rows: list[int] = []
    legs: list[int] = []
    shares: list[float] = []
    statuses: Counter[str] = Counter()
    for i in np.flatnonzero(~np.isnan(market.best_price).any(axis=1)).tolist():
        books = market.best_book[i] if market.best_book else ("", "", "")
        quoted = [
            ArbitrageLeg(s, books[k], float(market.best_price[i, k]), 0.0) for k, s in enumerate(OUTCOMES)
        ]
        fair = (
            None
            if consensus is None or np.isnan(consensus[i]).any()
            else dict(zip(OUTCOMES, consensus[i], strict=True))
        )
        window = assess_arbitrage(quoted, newest_quote_s=0.0, consensus=fair, total_stake=1.0, rules=rules)
        if window is None:
            continue
        statuses[window.status] += 1
        if window.actionable:
            rows.extend([i] * 3)
            legs.extend(range(3))
            shares.extend(window.stakes)
    unit = np.array(shares, dtype=np.float64)
    price = market.best_price[np.array(rows, dtype=np.intp), np.array(legs, dtype=np.intp)]
    return _bets(market, rows, legs, price, unit * staking.arbitrage_fraction, unit), statuses
