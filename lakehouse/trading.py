"""Arbitrage as a trader computes it: exchange commission, back/lay, stale and suspect quotes.

A naive best-price arbitrage combines any prices at all. A trader discounts three things:

* **commission**: an exchange takes a share of net winnings, so a back price ``p`` is worth
  ``1 + (p - 1)(1 - c)`` (``effective_price``); a window can be eaten by it;
* **stale quotes**: a price quoted long before the newest quote on the same line (the market at
  one handicap or total; h2h has one) has likely moved; it is not combined into an arbitrage
  (``max_quote_age_s``);
* **suspect prices**: a price far above the market's consensus fair price (``price x fair
  probability - 1`` over ``suspect_edge``) is more likely a palpable error, voided by the book,
  than a gift.

Each window gets a status: ``suspect`` (a leg is suspect), else ``stale`` (a leg is stale), else
``commission_eaten`` (a gross arbitrage that commission turns into a loss), else
``actionable``. Stakes are rounded to ``stake_increment`` with an optional cap per bookmaker,
and the return is recomputed on the rounded stakes: what the trader would actually place.

Pure functions and plain data: the streaming engine, the dbt marts (through their SQL twins,
tested against these) and the CLI use this one definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lakehouse.odds import InvalidOddsError, _check_price

__all__ = [
    "EXCHANGE_COMMISSION",
    "ArbitrageLeg",
    "ArbitrageRules",
    "ArbitrageWindow",
    "BackLay",
    "Status",
    "assess_arbitrage",
    "back_lay",
    "best_back_lay",
    "commission_of",
    "effective_price",
]

Status = Literal["actionable", "stale", "suspect", "commission_eaten"]

GROSS_EPSILON = 1e-9
"""A return this small is float noise: 2.2, 3.5 and 3.85 make exactly 100% (5/11 + 2/7 + 20/77),
yet their float inverses sum to just under 1."""

EXCHANGE_COMMISSION: Mapping[str, float] = {
    # Betfair Exchange: 5% market base rate on net winnings (UK and EU; betfair.com "Commission
    # and charges"). Matchbook: 2% on net winnings (matchbook.com "Commission"), Smarkets: 2%
    # (smarkets.com "Commission"), Betdaq: 2% (betdaq.com "Commission rates").
    "betfair": 0.05,
    "betfair_ex_uk": 0.05,
    "betfair_ex_eu": 0.05,
    "betfair_ex_au": 0.05,
    "matchbook": 0.02,
    "smarkets": 0.02,
    "betdaq": 0.02,
}
"""Default commission on net winnings per exchange key (The Odds API's keys); a bookmaker that is
not an exchange pays none. Override per key with ``ArbitrageRules.commission``."""


def commission_of(bookmaker: str, overrides: Mapping[str, float] | None = None) -> float:
    """The commission rate a bookmaker key pays on net winnings (0 for a bookmaker)."""
    if overrides and bookmaker in overrides:
        return _rate(overrides[bookmaker], bookmaker)
    return EXCHANGE_COMMISSION.get(bookmaker, 0.0)


def _rate(value: float, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise InvalidOddsError(f"commission of {what} must be in [0, 1), got {value!r}")
    return float(value)


def _price(value: float, what: str) -> float:
    """The odds module's price check, with what the price was for in its message."""
    try:
        return _check_price(value)
    except InvalidOddsError as exc:
        raise InvalidOddsError(f"{what}: {exc}") from None


def effective_price(price: float, commission: float) -> float:
    """A back price net of commission on winnings: ``1 + (price - 1)(1 - commission)``."""
    return 1.0 + (_price(price, "price") - 1.0) * (1.0 - _rate(commission, "the exchange"))


# --------------------------------------------------------------------------- back / lay


@dataclass(frozen=True, slots=True)
class BackLay:
    """A bookmaker back bet covered by an exchange lay of the same selection."""

    back_price: float
    lay_price: float
    back_stake: float
    lay_stake: float
    liability: float  # what the lay loses if the selection wins
    profit_if_wins: float  # the selection wins: back pays, lay loses its liability
    profit_if_loses: float  # the selection loses: back stake lost, lay stake won net of commission

    @property
    def guaranteed_return(self) -> float:
        """The worse outcome's profit as a fraction of the back stake."""
        return min(self.profit_if_wins, self.profit_if_loses) / self.back_stake


def back_lay(
    back_price: float,
    lay_price: float,
    back_stake: float = 100.0,
    *,
    lay_commission: float = 0.05,
    back_commission: float = 0.0,
) -> BackLay:
    """The lay stake that makes both outcomes pay the same, net of commission.

    ``lay_stake = back_stake x B' / (L - c)`` with ``B'`` the back price net of its own
    commission (a bookmaker's: none) and ``c`` the lay exchange's commission on the lay's
    winnings; then both outcomes return ``lay_stake x (1 - c) - back_stake``.
    """
    back = effective_price(back_price, back_commission)
    lay = _price(lay_price, "lay price")
    c = _rate(lay_commission, "the lay exchange")
    stake = float(back_stake)
    if not math.isfinite(stake) or stake <= 0.0:
        raise InvalidOddsError(f"back stake must be > 0, got {back_stake!r}")
    lay_stake = stake * back / (lay - c)
    liability = lay_stake * (lay - 1.0)
    return BackLay(
        back_price=float(back_price),
        lay_price=lay,
        back_stake=stake,
        lay_stake=lay_stake,
        liability=liability,
        profit_if_wins=stake * (back - 1.0) - liability,
        profit_if_loses=lay_stake * (1.0 - c) - stake,
    )


def best_back_lay(
    backs: Mapping[str, float],
    lays: Mapping[str, float],
    back_stake: float = 100.0,
    commission: Mapping[str, float] | None = None,
) -> tuple[str, str, BackLay] | None:
    """The most profitable (back bookmaker, lay exchange, bet) for one selection, or None.

    ``backs`` are back prices by bookmaker (exchanges' back prices net of their commission),
    ``lays`` lay prices by exchange; the pair whose worse outcome pays most wins, ties broken by
    bookmaker keys, so the answer does not depend on input order.
    """
    best: tuple[float, str, str, BackLay] | None = None
    for book, back_price in sorted(backs.items()):
        for exchange, lay_price in sorted(lays.items()):
            if book == exchange:
                continue  # backing and laying at one exchange is a wash
            bet = back_lay(
                back_price,
                lay_price,
                back_stake,
                lay_commission=commission_of(exchange, commission),
                back_commission=commission_of(book, commission),
            )
            worst = min(bet.profit_if_wins, bet.profit_if_loses)
            if best is None or worst > best[0]:
                best = (worst, book, exchange, bet)
    return None if best is None else (best[1], best[2], best[3])


# --------------------------------------------------------------------------- arbitrage windows


@dataclass(frozen=True, slots=True)
class ArbitrageLeg:
    """The best back price of one selection: who offers it, when it was quoted."""

    selection: str
    bookmaker: str
    price: float
    quoted_at_s: float  # seconds on any clock shared by the legs (epoch seconds in practice)


@dataclass(frozen=True)
class ArbitrageRules:
    """A trader's settings: what counts as stale and suspect, commission, how stakes round."""

    max_quote_age_s: float = 120.0  # behind the newest quote on the line
    suspect_edge: float = 0.10  # price x consensus fair probability - 1 above this: suspect
    stake_increment: float = 1.0
    max_stake_per_bookmaker: float | None = None
    commission: Mapping[str, float] = field(default_factory=dict)  # overrides per bookmaker key


@dataclass(frozen=True)
class ArbitrageWindow:
    """One market's best prices judged as a trader would: status, returns, stakes to place."""

    status: Status
    legs: tuple[ArbitrageLeg, ...]
    effective_prices: tuple[float, ...]
    gross_return: float  # 1 / sum(1 / price) - 1 on the quoted prices
    net_return: float  # the same on prices net of commission
    stakes: tuple[float, ...]  # rounded, capped
    total_stake: float
    worst_profit: float  # the least any outcome pays on the rounded stakes, net of commission
    stale: tuple[str, ...]  # selections whose quote is stale
    suspect: tuple[str, ...]  # selections whose price is suspect

    @property
    def actionable(self) -> bool:
        return self.status == "actionable"


def assess_arbitrage(
    legs: Sequence[ArbitrageLeg],
    *,
    newest_quote_s: float,
    consensus: Mapping[str, float] | None = None,
    total_stake: float = 100.0,
    rules: ArbitrageRules | None = None,
) -> ArbitrageWindow | None:
    """The window a market's best prices open, or None when they are not a gross arbitrage.

    ``newest_quote_s`` is the newest quote's time on the same line (any bookmaker, any
    selection); ``consensus`` maps selections to the market's consensus fair probability (Shin
    by default upstream); without it no price is called suspect.
    """
    rules = rules or ArbitrageRules()
    if len(legs) < 2:
        raise InvalidOddsError(f"an arbitrage needs every selection of the market, got {len(legs)} leg(s)")
    prices = [_price(leg.price, f"price of {leg.selection!r} at {leg.bookmaker}") for leg in legs]
    gross = 1.0 / sum(1.0 / p for p in prices) - 1.0
    if gross <= GROSS_EPSILON:
        return None
    effective = [
        effective_price(p, commission_of(leg.bookmaker, rules.commission))
        for leg, p in zip(legs, prices, strict=True)
    ]
    inverse = sum(1.0 / p for p in effective)
    net = 1.0 / inverse - 1.0
    stale = tuple(leg.selection for leg in legs if newest_quote_s - leg.quoted_at_s > rules.max_quote_age_s)
    suspect = tuple(
        leg.selection
        for leg, p in zip(legs, prices, strict=True)
        if consensus is not None
        and leg.selection in consensus
        and p * consensus[leg.selection] - 1.0 > rules.suspect_edge
    )
    stakes = _stakes(legs, effective, inverse, total_stake, rules)
    placed = sum(stakes)
    worst = min(s * p for s, p in zip(stakes, effective, strict=True)) - placed
    status: Status
    if suspect:
        status = "suspect"
    elif stale:
        status = "stale"
    elif net <= 0.0 or worst <= 0.0:
        status = "commission_eaten"
    else:
        status = "actionable"
    return ArbitrageWindow(
        status=status,
        legs=tuple(legs),
        effective_prices=tuple(effective),
        gross_return=gross,
        net_return=net,
        stakes=stakes,
        total_stake=placed,
        worst_profit=worst,
        stale=stale,
        suspect=suspect,
    )


def _stakes(
    legs: Sequence[ArbitrageLeg],
    effective: Sequence[float],
    inverse: float,
    total_stake: float,
    rules: ArbitrageRules,
) -> tuple[float, ...]:
    """Equal-payout stakes on the net prices, scaled down so no bookmaker's stake passes its
    cap, then rounded to the increment: half up, or down when capped (never past the cap)."""
    if not math.isfinite(total_stake) or total_stake <= 0.0:
        raise InvalidOddsError(f"total stake must be > 0, got {total_stake!r}")
    exact = [total_stake * (1.0 / p) / inverse for p in effective]
    cap = rules.max_stake_per_bookmaker
    if cap is not None:
        per_book: dict[str, float] = {}
        for leg, stake in zip(legs, exact, strict=True):
            per_book[leg.bookmaker] = per_book.get(leg.bookmaker, 0.0) + stake
        scale = min(1.0, *(cap / amount for amount in per_book.values()))
        exact = [stake * scale for stake in exact]
    step = rules.stake_increment
    if step <= 0.0:
        return tuple(exact)
    nudge = 1e-9 if cap is not None else 0.5  # 1e-9: a capped 29.999999999999996 is 30
    return tuple(math.floor(stake / step + nudge) * step for stake in exact)
