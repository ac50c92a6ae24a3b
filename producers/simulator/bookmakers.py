"""How a simulated bookmaker turns fair probabilities into prices.

Each book has its own

* ``margin``: overround minus one, applied multiplicatively to the (noisy) fair probabilities,
  so a 5% book quotes implied probabilities summing to 1.05; rounding down to the price ladder
  (always in the book's favour) adds a few tenths of a percent on top;
* ``noise``: its own opinion, a persistent AR(1) tilt in log-odds per selection, so books
  disagree a little but do not jitter on every re-quote;
* ``delay_s``: its reaction delay. A book prices from the latent state as it was ``delay_s``
  ago, so for a few seconds after a goal slow books still show stale prices. That, and only
  that, is what opens cross-book arbitrages: a single book's prices never sum below 1;
* ``requote_s``: how often it re-prices (with +-50% jitter) when the simulator is not
  driving a target rate.

Near-certain outcomes are capped at the minimum price (1.01) and the margin the cap cannot
carry is moved onto the other selections, as books do, so no book ever offers an
arbitrage on its own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

MIN_PRICE = 1.01

BOOK_LADDER: tuple[tuple[float, float], ...] = (
    (2.0, 0.01),
    (3.0, 0.02),
    (5.0, 0.05),
    (10.0, 0.1),
    (20.0, 0.5),
    (50.0, 1.0),
    (101.0, 5.0),
)
"""(upper bound, step) bands of a fixed-odds book's decimal prices; 101 is the top price."""

EXCHANGE_LADDER: tuple[tuple[float, float], ...] = (
    (2.0, 0.01),
    (3.0, 0.02),
    (4.0, 0.05),
    (6.0, 0.1),
    (10.0, 0.2),
    (20.0, 0.5),
    (30.0, 1.0),
    (50.0, 2.0),
    (100.0, 5.0),
    (1000.0, 10.0),
)
"""Betfair's price increments; 1000 is the top price."""


@dataclass(frozen=True)
class Bookmaker:
    """One bookmaker's quoting behaviour (see the module docstring)."""

    key: str
    title: str
    margin: float
    delay_s: float
    requote_s: float
    noise: float = 0.01
    is_exchange: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.margin < 0.25:
            raise ValueError(f"{self.key}: margin {self.margin} is not in [0, 0.25)")
        if self.delay_s < 0 or self.requote_s <= 0 or self.noise < 0:
            raise ValueError(f"{self.key}: delay, requote interval and noise must be positive")

    @property
    def ladder(self) -> tuple[tuple[float, float], ...]:
        return EXCHANGE_LADDER if self.is_exchange else BOOK_LADDER


DEFAULT_BOOKMAKERS: tuple[Bookmaker, ...] = (
    Bookmaker("pinnacle", "Pinnacle", margin=0.025, delay_s=1.0, requote_s=1.0, noise=0.005),
    Bookmaker(
        "betfair_ex_eu", "Betfair", margin=0.012, delay_s=0.5, requote_s=1.0, noise=0.004, is_exchange=True
    ),
    Bookmaker("bet365", "Bet365", margin=0.05, delay_s=3.0, requote_s=2.0),
    Bookmaker("marathonbet", "Marathon Bet", margin=0.035, delay_s=6.0, requote_s=3.0),
    Bookmaker("unibet", "Unibet", margin=0.055, delay_s=8.0, requote_s=4.0, noise=0.012),
    Bookmaker("williamhill", "William Hill", margin=0.06, delay_s=10.0, requote_s=5.0, noise=0.012),
    Bookmaker("paddypower", "Paddy Power", margin=0.065, delay_s=15.0, requote_s=5.0, noise=0.015),
    Bookmaker("bwin", "Bwin", margin=0.07, delay_s=20.0, requote_s=6.0, noise=0.015),
)
BOOKMAKERS_BY_KEY = {book.key: book for book in DEFAULT_BOOKMAKERS}


def resolve_bookmakers(books: Sequence[Bookmaker | str] | None) -> tuple[Bookmaker, ...]:
    """Bookmaker objects from objects or default keys; None means all defaults."""
    if books is None:
        return DEFAULT_BOOKMAKERS
    out = tuple(BOOKMAKERS_BY_KEY[b] if isinstance(b, str) else b for b in books)
    if not out or len({b.key for b in out}) != len(out):
        raise ValueError("bookmakers must be a non-empty list of distinct books")
    return out


def round_down(price: float, ladder: Sequence[tuple[float, float]]) -> float:
    """Largest ladder price <= ``price`` (books round in their own favour), within [1.01, top]."""
    cents = math.floor(price * 100.0 + 1e-6)
    top = round(ladder[-1][0] * 100)
    if cents >= top:
        return top / 100.0
    low = 100
    for upper, step in ladder:
        up, st = round(upper * 100), round(step * 100)
        if cents < up:
            cents = low + (cents - low) // st * st
            break
        low = up
    return max(cents, round(MIN_PRICE * 100)) / 100.0


def with_margin(probs: Sequence[float], margin: float) -> list[float]:
    """Implied probabilities summing to ``1 + margin``; none above 1 / MIN_PRICE.

    Margin is applied pro rata; a selection the cap binds on keeps the cap and the rest of
    the book goes to the others in proportion to their probabilities.
    """
    book = 1.0 + margin
    cap = 1.0 / MIN_PRICE
    implied = [p * book for p in probs]
    capped = [q >= cap for q in implied]
    if any(capped):
        rest = book - cap * sum(capped)
        free = sum(p for p, c in zip(probs, capped, strict=True) if not c)
        implied = [
            cap if c else (rest * p / free if free > 0 else rest / (len(probs) - sum(capped)))
            for p, c in zip(probs, capped, strict=True)
        ]
    return implied


def evolve_tilt(tilt: list[float], noise: float, rng: random.Random, rho: float = 0.8) -> None:
    """One AR(1) step of a book's log-odds tilt, stationary standard deviation ``noise``."""
    shock = noise * math.sqrt(1.0 - rho * rho)
    for i, value in enumerate(tilt):
        tilt[i] = rho * value + rng.gauss(0.0, shock)


def quote(book: Bookmaker, probs: Sequence[float], tilt: Sequence[float]) -> tuple[float, ...]:
    """The book's decimal prices for fair ``probs`` under its ``tilt``, on its price ladder."""
    weights = [max(p, 1e-9) * math.exp(t) for p, t in zip(probs, tilt, strict=True)]
    total = sum(weights)
    implied = with_margin([w / total for w in weights], book.margin)
    ladder = book.ladder
    return tuple(round_down(1.0 / q, ladder) for q in implied)
