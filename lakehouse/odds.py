"""Odds math shared by producers, streaming jobs and batch models.

Every price in this module is a decimal price (European odds: total return per unit staked, stake
included), because it is the only format in which implied probability is simply ``1 / price``.
American and fractional quotes are converted at the edge with the helpers below.

Vocabulary: a *market* is the list of prices one bookmaker (or a composite of bookmakers) offers
on the mutually exclusive *selections* of one event. Its *overround* is the sum of implied
probabilities; the excess over 1 is the bookmaker's *margin*. Removing that margin ("de-vig")
gives *fair probabilities*, which are what expected value, closing line value and model
calibration are measured against.

Pure standard library on purpose: the same code runs inside Spark UDFs, Airflow tasks and
producers without pulling numpy into every runtime.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

__all__ = [
    "Arbitrage",
    "BestPrice",
    "DevigMethod",
    "InvalidOddsError",
    "MarginMethod",
    "american_to_decimal",
    "arbitrage",
    "best_prices",
    "closing_line_value",
    "closing_line_value_vs_market",
    "decimal_to_american",
    "decimal_to_fractional",
    "devig",
    "devig_additive",
    "devig_multiplicative",
    "devig_power",
    "devig_shin",
    "expected_value",
    "find_arbitrage",
    "fractional_to_decimal",
    "implied_probability",
    "margin",
    "overround",
    "shin_z",
]

DevigMethod = Literal["multiplicative", "additive", "power", "shin"]
MarginMethod = Literal["overround", "payout"]

DEFAULT_MAX_DENOMINATOR = 100
"""Bookmaker fractional ladders never go beyond x/100 (e.g. 1/100), so finer fractions are noise."""

_MAX_BISECTIONS = 2000
_MAX_BRACKET_STEPS = 1100  # doublings/halvings before a float runs out of exponent range
_FRACTIONAL_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class InvalidOddsError(ValueError):
    """A price, probability or market that odds math cannot be applied to.

    Subclasses ``ValueError`` so generic validation code still catches it, while pipelines can
    route bad quotes to a dead-letter table by catching this type specifically.
    """


# --------------------------------------------------------------------------- validation


def _where(index: int | None) -> str:
    return "" if index is None else f" at index {index}"


def _check_real(value: object, what: str, index: int | None = None) -> float:
    # bool is an int subclass; True as a price is always a bug upstream.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidOddsError(f"{what} must be a real number, got {value!r}{_where(index)}")
    result = float(value)
    if not math.isfinite(result):
        raise InvalidOddsError(f"{what} must be finite, got {result}{_where(index)}")
    return result


def _check_price(price: object, index: int | None = None) -> float:
    value = _check_real(price, "decimal price", index)
    if value <= 1.0:
        raise InvalidOddsError(f"decimal price must be > 1.0, got {value}{_where(index)}")
    return value


def _check_market(prices: Iterable[float]) -> list[float]:
    checked = [_check_price(p, i) for i, p in enumerate(prices)]
    if len(checked) < 2:
        raise InvalidOddsError(f"market needs at least 2 selections, got {len(checked)}")
    return checked


def _check_probability(probability: object, what: str = "fair probability") -> float:
    value = _check_real(probability, what)
    if not 0.0 <= value <= 1.0:
        raise InvalidOddsError(f"{what} must be in [0, 1], got {value}")
    return value


def _bisect_decreasing(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a decreasing ``f`` with ``f(lo) > 0 > f(hi)``, to float precision.

    Bisection rather than Newton: it cannot diverge, and halving until the midpoint collides
    with an endpoint costs at most ~1100 cheap evaluations even in the worst case.
    """
    for _ in range(_MAX_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if f(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- conversions


def american_to_decimal(american: float) -> float:
    """Convert an American (moneyline) quote, e.g. +150 -> 2.5 and -200 -> 1.5.

    Values strictly between -100 and +100 do not exist as American odds and are rejected rather
    than silently mapped to a price below evens.
    """
    value = _check_real(american, "American odds")
    if -100.0 < value < 100.0:
        raise InvalidOddsError(f"American odds must be <= -100 or >= +100, got {value}")
    return 1.0 + value / 100.0 if value > 0 else 1.0 + 100.0 / -value


def decimal_to_american(price: float) -> float:
    """Convert a decimal price to American odds; evens (2.0) maps to +100 by convention."""
    value = _check_price(price)
    return (value - 1.0) * 100.0 if value >= 2.0 else -100.0 / (value - 1.0)


def fractional_to_decimal(fractional: str | tuple[int, int]) -> float:
    """Convert UK fractional odds ("5/2", (5, 2) or "evens") to a decimal price (3.5)."""
    if isinstance(fractional, str):
        text = fractional.strip().lower()
        if text in {"evs", "evens", "even"}:
            return 2.0
        match = _FRACTIONAL_RE.match(text)
        if match is None:
            raise InvalidOddsError(f"fractional odds must look like 'num/den', got {fractional!r}")
        num, den = int(match.group(1)), int(match.group(2))
    else:
        try:
            num, den = fractional
        except (TypeError, ValueError):
            raise InvalidOddsError(
                f"fractional odds must be a 'num/den' string or a (num, den) tuple, got {fractional!r}"
            ) from None
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (num, den)):
            raise InvalidOddsError(f"fractional odds must be integers, got {fractional!r}")
    if num <= 0 or den <= 0:
        raise InvalidOddsError(f"fractional odds need a positive numerator and denominator, got {num}/{den}")
    return 1.0 + num / den


def decimal_to_fractional(price: float, max_denominator: int = DEFAULT_MAX_DENOMINATOR) -> tuple[int, int]:
    """Closest reduced fraction (num, den) to ``price - 1`` with ``den <= max_denominator``.

    Decimal feeds carry float noise (2.6 is 1.6000000000000001 - 1), so an exact conversion
    would yield absurd fractions; limiting the denominator snaps to what a bookmaker would show.
    """
    value = _check_price(price)
    if max_denominator < 1:
        raise InvalidOddsError(f"max_denominator must be >= 1, got {max_denominator}")
    frac = Fraction(value - 1.0).limit_denominator(max_denominator)
    if frac.numerator <= 0:
        raise InvalidOddsError(
            f"decimal price {value} is too close to 1.0 to express with a denominator <= {max_denominator}"
        )
    return frac.numerator, frac.denominator


def implied_probability(price: float) -> float:
    """Raw implied probability ``1 / price``; still contains the bookmaker's margin."""
    return 1.0 / _check_price(price)


# --------------------------------------------------------------------------- margin


def overround(prices: Iterable[float]) -> float:
    """Sum of implied probabilities of a market (the "book"); > 1 means the bookmaker has an edge."""
    return sum(1.0 / p for p in _check_market(prices))


def margin(prices: Iterable[float], method: MarginMethod = "overround") -> float:
    """Bookmaker margin of a market.

    Two definitions circulate and differ noticeably for wide markets, so the caller picks one:

    * ``"overround"`` (default): ``overround - 1``, the excess implied probability.
    * ``"payout"``: ``1 - 1 / overround``, the share of a balanced book the bookmaker keeps
      (i.e. 1 minus the theoretical payout rate). Some bookmakers publish margin this way.

    Both are negative when the market is below 100% (exchange or best-price composites).
    """
    book = overround(prices)
    if method == "overround":
        return book - 1.0
    if method == "payout":
        return 1.0 - 1.0 / book
    raise ValueError(f"margin method must be one of {get_args(MarginMethod)}, got {method!r}")


# --------------------------------------------------------------------------- margin removal


def devig_multiplicative(prices: Iterable[float]) -> list[float]:
    """Scale implied probabilities proportionally (``π_i / Σπ``).

    The simplest and most common method; it assumes the margin is spread pro rata, which
    overstates long shots in markets with a favourite-longshot bias. Works for any overround.
    """
    implied = [1.0 / p for p in _check_market(prices)]
    book = sum(implied)
    return [q / book for q in implied]


def devig_additive(prices: Iterable[float]) -> list[float]:
    """Subtract an equal share of the margin from each selection (``π_i - (Σπ - 1) / n``).

    Raises InvalidOddsError when a long shot's implied probability is smaller than its share of
    the margin, because a non-positive probability is meaningless.
    """
    checked = _check_market(prices)
    implied = [1.0 / p for p in checked]
    share = (sum(implied) - 1.0) / len(implied)
    fair = [q - share for q in implied]
    for index, p in enumerate(fair):
        if p <= 0.0:
            raise InvalidOddsError(
                f"additive de-vig gives non-positive probability {p:.6g} for price {checked[index]} "
                f"at index {index}; use the multiplicative, power or shin method for this market"
            )
    return fair


def devig_power(prices: Iterable[float]) -> list[float]:
    """Solve ``Σ π_i**k = 1`` for k and return ``π_i**k``.

    Raising to a power > 1 shrinks small probabilities relatively more, which removes more margin
    from long shots, matching the favourite-longshot bias. For overround < 1, k < 1 and the
    probabilities are scaled up instead; there is always exactly one k > 0.
    """
    implied = [1.0 / p for p in _check_market(prices)]
    book = sum(implied)
    if book == 1.0:
        return implied

    def excess(k: float) -> float:  # decreasing in k because every π_i < 1
        return float(sum(q**k for q in implied)) - 1.0

    # excess(0) = n - 1 > 0 and excess(1) = book - 1, so bracket around k = 1.
    if book > 1.0:
        lo, hi = 1.0, 2.0
        for _ in range(_MAX_BRACKET_STEPS):
            if excess(hi) <= 0.0:
                break
            lo, hi = hi, hi * 2.0
    else:
        lo, hi = 0.5, 1.0
        for _ in range(_MAX_BRACKET_STEPS):
            if excess(lo) > 0.0:
                break
            lo, hi = lo / 2.0, lo
    if not (excess(lo) > 0.0 >= excess(hi)):
        raise InvalidOddsError("power de-vig found no exponent for this market; prices are too extreme")
    k = _bisect_decreasing(excess, lo, hi)
    return [q**k for q in implied]


def _shin_probabilities(implied: Sequence[float], book: float, z: float) -> list[float]:
    # p = (sqrt(z² + 4(1-z)a) - z) / (2(1-z)) with a = π²/Π. For z > 0 the subtraction cancels
    # badly when a is small, so use the rationalised form 2a / (sqrt(...) + z), which also avoids
    # dividing by (1 - z) near z = 1. For z < 0 it is the addition that cancels, so use the original.
    out = []
    for q in implied:
        a = q * (q / book)  # not q * q / book: q * q underflows for extreme long shots
        root = math.sqrt(z * z + 4.0 * (1.0 - z) * a)
        out.append(2.0 * a / (root + z) if z >= 0.0 else (root - z) / (2.0 * (1.0 - z)))
    return out


def _shin(prices: Iterable[float]) -> tuple[float, list[float]]:
    implied = [1.0 / p for p in _check_market(prices)]
    book = sum(implied)
    if book == 1.0:
        return 0.0, implied

    def excess(z: float) -> float:
        return sum(_shin_probabilities(implied, book, z)) - 1.0

    # excess is decreasing in z: excess(0) = sqrt(book) - 1, excess(z -> 1) = Σπ²/Π - 1 < 0
    # (every π < 1), excess(z -> -inf) = n - 1 > 0. So the root is in (0, 1) when book > 1 and
    # negative when book < 1. The endpoints 1 and -inf are never evaluated.
    if book > 1.0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = -1.0, 0.0
        for _ in range(_MAX_BRACKET_STEPS):
            if excess(lo) > 0.0:
                break
            lo, hi = lo * 2.0, lo
        else:
            raise InvalidOddsError("Shin de-vig found no z for this market; prices are too extreme")
    z = _bisect_decreasing(excess, lo, hi)
    return z, _shin_probabilities(implied, book, z)


def shin_z(prices: Iterable[float]) -> float:
    """Shin's z: the implied share of insider money a bookmaker protects itself against.

    In [0, 1) for a normal market (overround >= 1). For overround < 1 (exchange or best-price
    composites) the same equation is solved with a signed root search and z is negative. That
    has no insider interpretation, but it keeps fair probabilities continuous as a market crosses
    100% instead of failing in the middle of a stream.
    """
    return _shin(prices)[0]


def devig_shin(prices: Iterable[float]) -> list[float]:
    """Shin (1993) fair probabilities: removes margin mostly from long shots.

    Solves ``Σ p_i(z) = 1`` with ``p_i(z) = (sqrt(z² + 4(1-z) π_i²/Π) - z) / (2(1-z))`` by
    bisection to float precision; see :func:`shin_z` for overround < 1.
    """
    return _shin(prices)[1]


_DEVIG: dict[str, Callable[[Iterable[float]], list[float]]] = {
    "multiplicative": devig_multiplicative,
    "additive": devig_additive,
    "power": devig_power,
    "shin": devig_shin,
}


def devig(prices: Iterable[float], method: DevigMethod = "shin") -> list[float]:
    """Fair probabilities of a market by the named method, in selection order.

    Shin is the default because it handles the favourite-longshot bias and always succeeds.
    """
    try:
        func = _DEVIG[method]
    except KeyError:
        raise ValueError(f"devig method must be one of {get_args(DevigMethod)}, got {method!r}") from None
    return func(prices)


# --------------------------------------------------------------------------- best price / arbitrage


@dataclass(frozen=True, slots=True)
class BestPrice:
    """Highest price on offer for a selection and every bookmaker offering it (sorted)."""

    selection: str
    price: float
    bookmakers: tuple[str, ...]


def best_prices(
    quotes: Mapping[str, Mapping[str, float]] | Iterable[tuple[str, str, float]],
) -> dict[str, BestPrice]:
    """Best price per selection across bookmakers, keyed by selection in first-seen order.

    ``quotes`` is either ``{selection: {bookmaker: price}}`` or an iterable of
    ``(bookmaker, selection, price)`` rows. In the row form a later row for the same bookmaker
    and selection replaces the earlier one, as building the mapping would. Ties list every
    bookmaker, sorted, so results are deterministic regardless of feed order.
    """
    book: dict[str, dict[str, float]] = {}
    if isinstance(quotes, Mapping):
        for selection, by_bookmaker in quotes.items():
            book[selection] = dict(by_bookmaker)
    else:
        for row in quotes:
            try:
                bookmaker, selection, price = row
            except (TypeError, ValueError):
                raise InvalidOddsError(
                    f"quote rows must be (bookmaker, selection, price), got {row!r}"
                ) from None
            book.setdefault(selection, {})[bookmaker] = price
    if not book:
        raise InvalidOddsError("no quotes: need at least one selection with a price")

    result: dict[str, BestPrice] = {}
    for selection, by_bookmaker in book.items():
        if not by_bookmaker:
            raise InvalidOddsError(f"selection {selection!r} has no bookmaker prices")
        checked: dict[str, float] = {}
        for bookmaker, price in by_bookmaker.items():
            try:
                checked[bookmaker] = _check_price(price)
            except InvalidOddsError as exc:
                raise InvalidOddsError(f"{exc} (selection {selection!r}, bookmaker {bookmaker!r})") from None
        top = max(checked.values())
        tied = tuple(sorted(b for b, p in checked.items() if p == top))
        result[selection] = BestPrice(selection=selection, price=top, bookmakers=tied)
    return result


@dataclass(frozen=True, slots=True)
class Arbitrage:
    """Stake split that pays the same amount whichever selection wins.

    Always computed, arbitrage or not: streaming code tracks ``guaranteed_return`` as a
    continuous signal (how far a market is from an arb), and a negative return is just the
    cost of covering every outcome.
    """

    selections: tuple[str, ...]
    prices: tuple[float, ...]
    stakes: tuple[float, ...]
    total_stake: float
    inverse_sum: float

    @property
    def is_arbitrage(self) -> bool:
        """True when the prices sum to under 100% implied, i.e. every outcome returns a profit."""
        return self.inverse_sum < 1.0

    @property
    def payout(self) -> float:
        """Return (stake included) for any winning selection; identical for all of them."""
        return self.total_stake / self.inverse_sum

    @property
    def guaranteed_return(self) -> float:
        """Profit as a fraction of total stake (``1 / inverse_sum - 1``); negative if no arb."""
        return 1.0 / self.inverse_sum - 1.0

    @property
    def profit(self) -> float:
        """Guaranteed profit in stake currency; negative if no arb."""
        return self.payout - self.total_stake

    def stake_for(self, selection: str) -> float:
        """Stake on one selection by name."""
        return self.stakes[self.selections.index(selection)]


def arbitrage(
    prices: Mapping[str, float] | Mapping[str, BestPrice] | Sequence[float],
    total_stake: float = 100.0,
) -> Arbitrage:
    """Equal-payout stakes for a set of (usually best) prices, one per selection.

    ``stake_i = total_stake * (1/o_i) / Σ(1/o_j)`` so that ``stake_i * o_i`` is the same for
    every i. Accepts ``best_prices`` output directly. Sequence input is labelled "0", "1", ...
    """
    if isinstance(prices, Mapping):
        selections = tuple(str(s) for s in prices)
        raw = [v.price if isinstance(v, BestPrice) else v for v in prices.values()]
    else:
        raw = list(prices)
        selections = tuple(str(i) for i in range(len(raw)))
    checked = _check_market(raw)
    stake = _check_real(total_stake, "total stake")
    if stake <= 0.0:
        raise InvalidOddsError(f"total stake must be > 0, got {stake}")
    inverse_sum = sum(1.0 / p for p in checked)
    stakes = tuple(stake * (1.0 / p) / inverse_sum for p in checked)
    return Arbitrage(
        selections=selections,
        prices=tuple(checked),
        stakes=stakes,
        total_stake=stake,
        inverse_sum=inverse_sum,
    )


def find_arbitrage(
    prices: Mapping[str, float] | Mapping[str, BestPrice] | Sequence[float],
    total_stake: float = 100.0,
) -> Arbitrage | None:
    """Like :func:`arbitrage` but returns None unless the prices are a true arbitrage."""
    result = arbitrage(prices, total_stake)
    return result if result.is_arbitrage else None


# --------------------------------------------------------------------------- value


def expected_value(price: float, fair_probability: float, stake: float = 1.0) -> float:
    """Expected profit of a bet: ``stake * (p * price - 1)``; positive means +EV."""
    value = _check_price(price)
    p = _check_probability(fair_probability)
    amount = _check_real(stake, "stake")
    if amount < 0.0:
        raise InvalidOddsError(f"stake must be >= 0, got {amount}")
    return amount * (p * value - 1.0)


def closing_line_value(taken_price: float, closing_fair_probability: float) -> float:
    """Closing line value: ``taken_price * closing_fair_probability - 1``.

    The closing line is the sharpest public estimate of the true probability, so beating it
    (CLV > 0) is the standard evidence of an edge long before results are statistically
    meaningful. It equals the bet's expected return per unit if the closing line is fair.
    """
    value = _check_price(taken_price)
    p = _check_probability(closing_fair_probability, "closing fair probability")
    return value * p - 1.0


def closing_line_value_vs_market(
    taken_price: float,
    closing_prices: Sequence[float],
    selection_index: int,
    method: DevigMethod = "shin",
) -> float:
    """CLV against a closing market, de-vigged with ``method``, for the selection at an index."""
    fair = devig(closing_prices, method)
    if isinstance(selection_index, bool) or not isinstance(selection_index, int):
        raise InvalidOddsError(f"selection index must be an int, got {selection_index!r}")
    if not 0 <= selection_index < len(fair):
        raise InvalidOddsError(
            f"selection index {selection_index} out of range for a market of {len(fair)} selections"
        )
    return closing_line_value(taken_price, fair[selection_index])
