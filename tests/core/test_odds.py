"""Tests for lakehouse.odds: published vectors, conversions, validation and de-vig properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lakehouse import odds
from lakehouse.odds import (
    Arbitrage,
    BestPrice,
    InvalidOddsError,
    american_to_decimal,
    arbitrage,
    best_prices,
    closing_line_value,
    closing_line_value_vs_market,
    decimal_to_american,
    decimal_to_fractional,
    devig,
    devig_additive,
    devig_multiplicative,
    devig_power,
    devig_shin,
    expected_value,
    find_arbitrage,
    fractional_to_decimal,
    implied_probability,
    margin,
    overround,
    shin_z,
)

PROPERTY = settings(max_examples=200, deadline=None)
METHODS = ("multiplicative", "additive", "power", "shin")
ALWAYS_SOLVABLE = ("multiplicative", "power", "shin")

# --------------------------------------------------------------------------- published vectors


def test_shin_three_way_vector() -> None:
    assert devig_shin([2.6, 2.4, 4.3]) == pytest.approx([0.3729941, 0.4047794, 0.2222265], abs=1e-7)
    assert shin_z([2.6, 2.4, 4.3]) == pytest.approx(0.01694251, abs=1e-8)


def test_shin_two_way_vector() -> None:
    assert devig_shin([1.5, 2.74]) == pytest.approx([0.6508516, 0.3491484], abs=1e-7)


def test_multiplicative_vector() -> None:
    assert devig_multiplicative([2.6, 2.4, 4.3]) == pytest.approx([0.372026, 0.403028, 0.224946], abs=1e-6)


def test_arbitrage_vector() -> None:
    arb = arbitrage({"home": 2.10, "draw": 3.60, "away": 4.20})
    assert arb.is_arbitrage
    assert arb.guaranteed_return == pytest.approx(0.0080, abs=1e-4)
    assert arb.stakes == pytest.approx((48.0, 28.0, 24.0), abs=0.1)
    assert arb.stake_for("draw") == pytest.approx(28.0, abs=0.1)
    assert arb.selections == ("home", "draw", "away")
    assert find_arbitrage([2.10, 3.60, 4.20]) is not None


# --------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(("american", "price"), [(150, 2.5), (-200, 1.5), (100, 2.0), (-110, 1 + 100 / 110)])
def test_american_round_trip(american: float, price: float) -> None:
    assert american_to_decimal(american) == pytest.approx(price)
    assert decimal_to_american(price) == pytest.approx(american)


def test_minus_100_is_evens_too() -> None:
    assert american_to_decimal(-100) == 2.0


@pytest.mark.parametrize(("fractional", "price", "reduced"), [("5/2", 3.5, (5, 2)), ("1/2", 1.5, (1, 2))])
def test_fractional_round_trip(fractional: str, price: float, reduced: tuple[int, int]) -> None:
    assert fractional_to_decimal(fractional) == pytest.approx(price)
    assert fractional_to_decimal(reduced) == pytest.approx(price)
    assert decimal_to_fractional(price) == reduced


def test_fractional_parsing_variants() -> None:
    assert fractional_to_decimal(" 11 / 10 ") == pytest.approx(2.1)
    assert fractional_to_decimal("Evens") == 2.0
    assert decimal_to_fractional(2.0) == (1, 1)
    # 6/4 is quoted unreduced by bookmakers but comes back reduced.
    assert decimal_to_fractional(fractional_to_decimal("6/4")) == (3, 2)
    # Float noise snaps to the ladder instead of a huge exact fraction.
    assert decimal_to_fractional(1 + 1 / 3) == (1, 3)
    assert decimal_to_fractional(2.6) == (8, 5)


def test_implied_probability() -> None:
    assert implied_probability(4.0) == 0.25


@PROPERTY
@given(st.floats(min_value=1.001, max_value=1000.0))
def test_american_decimal_round_trip_property(price: float) -> None:
    assert american_to_decimal(decimal_to_american(price)) == pytest.approx(price, rel=1e-12)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        (0.95, r"must be > 1\.0, got 0\.95"),
        (1.0, r"must be > 1\.0, got 1\.0"),
        (-3.0, r"must be > 1\.0"),
        (math.nan, r"must be finite, got nan"),
        (math.inf, r"must be finite, got inf"),
        ("2.0", r"must be a real number, got '2\.0'"),
        (True, r"must be a real number"),
    ],
)
def test_invalid_single_price(bad: object, pattern: str) -> None:
    with pytest.raises(InvalidOddsError, match=pattern):
        implied_probability(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidOddsError, match=pattern):
        decimal_to_american(bad)  # type: ignore[arg-type]


def test_invalid_price_reports_index() -> None:
    with pytest.raises(InvalidOddsError, match=r"got 0\.95 at index 2"):
        overround([2.0, 3.0, 0.95])
    with pytest.raises(InvalidOddsError, match=r"got nan at index 1"):
        devig_shin([2.0, math.nan, 3.0])
    with pytest.raises(InvalidOddsError, match=r"got inf at index 0"):
        arbitrage([math.inf, 2.0])


@pytest.mark.parametrize(
    "func", [overround, margin, devig_multiplicative, devig_additive, devig_power, devig_shin]
)
@pytest.mark.parametrize("market", [[], [2.0]])
def test_markets_need_two_selections(func: object, market: list[float]) -> None:
    with pytest.raises(InvalidOddsError, match=rf"market needs at least 2 selections, got {len(market)}"):
        func(market)  # type: ignore[operator]


@pytest.mark.parametrize("bad_price", [1.0, 0.5, math.nan, math.inf])
@pytest.mark.parametrize("method", METHODS)
def test_devig_rejects_bad_prices(method: str, bad_price: float) -> None:
    with pytest.raises(InvalidOddsError, match="at index 1"):
        devig([2.0, bad_price, 3.0], method)  # type: ignore[arg-type]


def test_unknown_methods_are_value_errors() -> None:
    with pytest.raises(ValueError, match="devig method must be one of"):
        devig([2.0, 2.0], "logit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="margin method must be one of"):
        margin([2.0, 2.0], "bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize("american", [0, 50, -99.5, 99.99, math.nan, math.inf])
def test_invalid_american(american: float) -> None:
    with pytest.raises(InvalidOddsError, match="American odds"):
        american_to_decimal(american)


@pytest.mark.parametrize(
    ("fractional", "pattern"),
    [
        ("0/1", "positive numerator"),
        ((3, 0), "positive numerator"),
        ("abc", "must look like 'num/den'"),
        ("5/2/1", "must look like 'num/den'"),
        ((2.5, 1), "must be integers"),
        ((1, 2, 3), r"\(num, den\) tuple"),
    ],
)
def test_invalid_fractional(fractional: object, pattern: str) -> None:
    with pytest.raises(InvalidOddsError, match=pattern):
        fractional_to_decimal(fractional)  # type: ignore[arg-type]


def test_decimal_to_fractional_too_close_to_one() -> None:
    with pytest.raises(InvalidOddsError, match=r"too close to 1\.0"):
        decimal_to_fractional(1.001)
    assert decimal_to_fractional(1.001, max_denominator=1000) == (1, 1000)


# --------------------------------------------------------------------------- overround and margin


def test_overround_and_margin_of_known_market() -> None:
    market = [1.9, 1.9]  # a standard -110/-110 style line
    assert overround(market) == pytest.approx(2 / 1.9)
    assert margin(market) == pytest.approx(2 / 1.9 - 1)  # 5.263%
    assert margin(market, method="payout") == pytest.approx(0.05)  # 1 - 1.9 / 2
    assert overround([2.6, 2.4, 4.3]) == pytest.approx(1.0338402, abs=1e-7)


def test_negative_margin_market() -> None:
    assert margin([2.1, 2.1]) < 0
    assert margin([2.1, 2.1], method="payout") < 0


# --------------------------------------------------------------------------- de-vig behaviour


def test_zero_margin_market_is_left_alone() -> None:
    for method in METHODS:
        assert devig([2.0, 4.0, 4.0], method) == pytest.approx([0.5, 0.25, 0.25], abs=1e-12)  # type: ignore[arg-type]
    assert shin_z([2.0, 4.0, 4.0]) == 0.0


def test_shin_and_power_take_more_margin_from_long_shots() -> None:
    market = [1.3, 4.5, 12.0]
    mult = devig_multiplicative(market)
    for fair in (devig_shin(market), devig_power(market)):
        assert fair[0] > mult[0]
        assert fair[2] < mult[2]


def test_additive_vector_and_failure_hint() -> None:
    assert devig_additive([1.9, 1.9]) == pytest.approx([0.5, 0.5])
    assert devig_additive([1.5, 3.0]) == pytest.approx([2 / 3, 1 / 3])  # zero margin
    with pytest.raises(InvalidOddsError, match=r"index 2; use the multiplicative, power or shin"):
        devig_additive([1.05, 8.0, 40.0])


def test_shin_below_100_percent_uses_negative_z() -> None:
    market = [2.1, 2.1, 25.0]
    assert overround(market) < 1
    assert shin_z(market) < 0
    fair = devig_shin(market)
    assert math.fsum(fair) == pytest.approx(1.0, abs=1e-12)
    assert fair[0] == pytest.approx(fair[1])
    assert 0 < fair[2] < fair[0]
    # Continuity through 100%: z crosses zero rather than jumping.
    assert abs(shin_z([2.0 - 1e-9, 2.0])) < 1e-8
    assert abs(shin_z([2.0 + 1e-9, 2.0])) < 1e-8


def test_power_below_100_percent() -> None:
    fair = devig_power([2.5, 2.5, 20.0])
    assert math.fsum(fair) == pytest.approx(1.0, abs=1e-12)
    assert fair[2] > 1 / 20.0  # k < 1 scales every probability up


def test_shin_extreme_long_shots_do_not_hang() -> None:
    fair = devig_shin([1e200, 1e200])
    assert fair == pytest.approx([0.5, 0.5])
    fair = devig_power([1e200, 1.01])
    assert math.fsum(fair) == pytest.approx(1.0, abs=1e-12)


def test_devig_dispatch_matches_functions() -> None:
    market = [1.8, 3.9, 4.6]
    assert devig(market) == devig_shin(market)
    assert devig(market, "multiplicative") == devig_multiplicative(market)
    assert devig(market, "additive") == devig_additive(market)
    assert devig(market, "power") == devig_power(market)


def test_devig_accepts_any_iterable() -> None:
    assert devig_shin(p for p in (2.6, 2.4, 4.3)) == devig_shin([2.6, 2.4, 4.3])


@st.composite
def realistic_markets(draw: st.DrawFn) -> list[float]:
    """2-6 selection market built from fair probabilities plus a non-negative margin."""
    weights = draw(st.lists(st.floats(min_value=1.0, max_value=40.0), min_size=2, max_size=6))
    book = draw(st.floats(min_value=1.0, max_value=1.2))
    total = math.fsum(weights)
    prices = [total / (w * book) for w in weights]
    assume(all(1.01 < p <= 50.0 for p in prices))
    assume(overround(prices) >= 1.0)  # float rounding can put a zero-margin market a hair below 1
    return prices


any_prices = st.lists(st.floats(min_value=1.01, max_value=50.0, exclude_min=True), min_size=2, max_size=6)


def _assert_fair(prices: list[float], fair: list[float]) -> None:
    assert len(fair) == len(prices)
    assert math.fsum(fair) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 < p < 1.0 for p in fair)
    for i, o_i in enumerate(prices):
        for j, o_j in enumerate(prices):
            if o_i < o_j:
                # A shorter price must never get a lower probability (1 ulp of float slack).
                assert fair[i] >= fair[j] - 1e-12


@PROPERTY
@given(realistic_markets(), st.sampled_from(METHODS))
def test_devig_properties_realistic(prices: list[float], method: str) -> None:
    try:
        fair = devig(prices, method)  # type: ignore[arg-type]
    except InvalidOddsError:
        assert method == "additive"
        return
    _assert_fair(prices, fair)


@PROPERTY
@given(any_prices, st.sampled_from(ALWAYS_SOLVABLE))
def test_devig_properties_any_overround(prices: list[float], method: str) -> None:
    _assert_fair(prices, devig(prices, method))  # type: ignore[arg-type]


@PROPERTY
@given(realistic_markets())
def test_shin_z_in_unit_interval_when_overround_at_least_one(prices: list[float]) -> None:
    z = shin_z(prices)
    assert 0.0 <= z < 1.0
    # z is the root: probabilities built from it sum to 1.
    assert math.fsum(devig_shin(prices)) == pytest.approx(1.0, abs=1e-12)


@PROPERTY
@given(realistic_markets())
def test_fair_probabilities_below_implied_for_favourite(prices: list[float]) -> None:
    # Removing a non-negative margin never makes every selection more likely.
    fair = devig_multiplicative(prices)
    assert any(f <= 1 / o + 1e-15 for f, o in zip(fair, prices, strict=True))


# --------------------------------------------------------------------------- best prices


def test_best_prices_from_mapping_with_ties() -> None:
    quotes = {
        "home": {"zeta": 2.1, "alpha": 2.05, "beta": 2.1},
        "away": {"alpha": 3.4},
    }
    best = best_prices(quotes)
    assert list(best) == ["home", "away"]
    assert best["home"] == BestPrice("home", 2.1, ("beta", "zeta"))
    assert best["away"] == BestPrice("away", 3.4, ("alpha",))


def test_best_prices_from_rows_later_quote_replaces_earlier() -> None:
    rows = [("b1", "over", 1.9), ("b2", "over", 1.95), ("b1", "under", 1.9), ("b2", "over", 1.85)]
    best = best_prices(rows)
    assert best["over"] == BestPrice("over", 1.9, ("b1",))
    assert best["under"] == BestPrice("under", 1.9, ("b1",))


def test_best_prices_feeds_arbitrage() -> None:
    best = best_prices({"a": {"x": 2.1, "y": 1.9}, "b": {"x": 1.9, "y": 2.1}})
    arb = arbitrage(best)
    assert arb.prices == (2.1, 2.1)
    assert arb.is_arbitrage


def test_best_prices_validation() -> None:
    with pytest.raises(InvalidOddsError, match="no quotes"):
        best_prices({})
    with pytest.raises(InvalidOddsError, match="selection 'home' has no bookmaker prices"):
        best_prices({"home": {}})
    with pytest.raises(InvalidOddsError, match=r"got 0\.9 \(selection 'home', bookmaker 'b'\)"):
        best_prices({"home": {"a": 2.0, "b": 0.9}})
    with pytest.raises(InvalidOddsError, match="quote rows must be"):
        best_prices([("a", 2.0)])  # type: ignore[list-item]


# --------------------------------------------------------------------------- arbitrage


@PROPERTY
@given(any_prices, st.floats(min_value=1.0, max_value=1e6))
def test_arbitrage_pays_the_same_on_every_selection(prices: list[float], total: float) -> None:
    arb = arbitrage(prices, total)
    assert math.fsum(arb.stakes) == pytest.approx(total, rel=1e-12)
    for stake, price in zip(arb.stakes, prices, strict=True):
        assert stake * price == pytest.approx(arb.payout, rel=1e-12)
    assert arb.is_arbitrage == (overround(prices) < 1.0)
    assert arb.profit == pytest.approx(total * arb.guaranteed_return, rel=1e-9, abs=1e-9)


@PROPERTY
@given(realistic_markets())
def test_no_arbitrage_in_a_margined_market(prices: list[float]) -> None:
    assume(overround(prices) > 1.0)
    arb = arbitrage(prices)
    assert not arb.is_arbitrage
    assert arb.guaranteed_return < 0
    assert arb.profit < 0
    assert find_arbitrage(prices) is None


def test_arbitrage_known_loss() -> None:
    arb = arbitrage([1.9, 1.9], total_stake=100.0)
    assert isinstance(arb, Arbitrage)
    assert arb.stakes == pytest.approx((50.0, 50.0))
    assert arb.payout == pytest.approx(95.0)
    assert arb.guaranteed_return == pytest.approx(-0.05)
    assert arb.selections == ("0", "1")


@pytest.mark.parametrize("stake", [0.0, -5.0, math.nan])
def test_arbitrage_rejects_bad_stake(stake: float) -> None:
    with pytest.raises(InvalidOddsError, match="total stake"):
        arbitrage([2.1, 2.1], stake)


def test_arbitrage_rejects_single_selection() -> None:
    with pytest.raises(InvalidOddsError, match="at least 2 selections"):
        arbitrage({"home": 3.0})


# --------------------------------------------------------------------------- EV and CLV


def test_expected_value() -> None:
    assert expected_value(2.5, 0.5, stake=10.0) == pytest.approx(2.5)
    assert expected_value(1.9, 0.5) == pytest.approx(-0.05)
    assert expected_value(3.0, 1 / 3) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        ((2.0, 1.5), r"fair probability must be in \[0, 1\], got 1\.5"),
        ((2.0, -0.1), r"fair probability must be in \[0, 1\]"),
        ((2.0, math.nan), "fair probability must be finite"),
        ((1.0, 0.5), r"decimal price must be > 1\.0"),
        ((2.0, 0.5, -1.0), "stake must be >= 0"),
    ],
)
def test_expected_value_validation(args: tuple[float, ...], pattern: str) -> None:
    with pytest.raises(InvalidOddsError, match=pattern):
        expected_value(*args)


def test_closing_line_value() -> None:
    assert closing_line_value(2.2, 0.5) == pytest.approx(0.1)
    assert closing_line_value(1.8, 0.5) == pytest.approx(-0.1)
    with pytest.raises(InvalidOddsError, match="closing fair probability"):
        closing_line_value(2.2, 2.0)


def test_closing_line_value_vs_market() -> None:
    # Symmetric closing market: every method says 50%.
    for method in METHODS:
        clv = closing_line_value_vs_market(2.2, [1.9, 1.9], 1, method=method)  # type: ignore[arg-type]
        assert clv == pytest.approx(0.1)
    # Asymmetric: Shin default differs from multiplicative on the long shot.
    closing = [1.3, 4.5, 12.0]
    shin = closing_line_value_vs_market(13.0, closing, 2)
    mult = closing_line_value_vs_market(13.0, closing, 2, method="multiplicative")
    assert shin == pytest.approx(13.0 * devig_shin(closing)[2] - 1)
    assert shin < mult
    with pytest.raises(InvalidOddsError, match="out of range for a market of 3"):
        closing_line_value_vs_market(2.0, closing, 3)


def test_public_api_is_exported() -> None:
    missing = [name for name in odds.__all__ if not hasattr(odds, name)]
    assert missing == []
