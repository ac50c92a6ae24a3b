"""The trader's arbitrage rules on hand-computed vectors (worked out in the comments)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from lakehouse.market.board import Quote, arbitrage_window, summarise_market
from lakehouse.odds import InvalidOddsError
from lakehouse.trading import (
    EXCHANGE_COMMISSION,
    ArbitrageLeg,
    ArbitrageRules,
    assess_arbitrage,
    back_lay,
    best_back_lay,
    commission_of,
    effective_price,
)

NOW = 1_000_000.0


def _legs(
    home: float, away: float, away_book: str = "betfair_ex_uk", away_age_s: float = 0.0
) -> list[ArbitrageLeg]:
    return [
        ArbitrageLeg("home", "pinnacle", home, NOW),
        ArbitrageLeg("away", away_book, away, NOW - away_age_s),
    ]


def test_effective_price_and_commission_defaults() -> None:
    assert effective_price(3.0, 0.05) == pytest.approx(2.9)  # 1 + 2 x 0.95
    assert effective_price(3.0, 0.0) == 3.0
    assert commission_of("betfair_ex_uk") == 0.05 and commission_of("matchbook") == 0.02
    assert commission_of("pinnacle") == 0.0 and commission_of("matchbook", {"matchbook": 0.015}) == 0.015
    with pytest.raises(InvalidOddsError, match="commission"):
        effective_price(3.0, 1.0)
    with pytest.raises(InvalidOddsError, match="price"):
        effective_price(1.0, 0.05)


def test_back_lay_pays_the_same_whatever_the_result() -> None:
    # Back 100 at 3.0, lay at 3.2 with 5%: lay stake 300 / 3.15 = 95.238095, liability x 2.2
    # = 209.52381; wins: 200 - 209.52381 = -9.52381; loses: 95.238095 x 0.95 - 100 = -9.52381.
    bet = back_lay(3.0, 3.2, 100.0, lay_commission=0.05)
    assert bet.lay_stake == pytest.approx(95.238095, abs=1e-6)
    assert bet.liability == pytest.approx(209.523810, abs=1e-6)
    assert bet.profit_if_wins == pytest.approx(-9.523810, abs=1e-6)
    assert bet.profit_if_loses == pytest.approx(-9.523810, abs=1e-6)
    assert bet.guaranteed_return == pytest.approx(-0.0952381, abs=1e-7)
    # A back price above the lay: a locked profit. 100 at 3.5, lay 3.2 at 2%: lay 350 / 3.18 =
    # 110.062893; wins 250 - 110.062893 x 2.2 = 7.861635; loses 110.062893 x 0.98 - 100 = 7.861635.
    win = back_lay(3.5, 3.2, 100.0, lay_commission=0.02)
    assert win.profit_if_wins == pytest.approx(7.861635, abs=1e-6) == win.profit_if_loses


def test_the_best_back_lay_pair_of_a_selection() -> None:
    # bet365 3.5 laid at Betfair 3.2 (5%): lay 350 / 3.15 = 111.1111, either way 105.5556 - 100.
    # At Matchbook 3.3 (2%): 350 / 3.28 = 106.7073 -> 4.5732. Betfair's own back 3.6 nets 3.47:
    # laid at Matchbook 347 / 3.28 -> 3.6768. Backing and laying at Betfair is no pair.
    book, exchange, bet = best_back_lay(
        {"bet365": 3.5, "betfair_ex_uk": 3.6}, {"betfair_ex_uk": 3.2, "matchbook": 3.3}
    )
    assert (book, exchange) == ("bet365", "betfair_ex_uk")
    assert bet.profit_if_loses == pytest.approx(5.555556, abs=1e-6) == bet.profit_if_wins
    assert best_back_lay({"betfair_ex_uk": 3.6}, {"betfair_ex_uk": 3.2}) is None


def test_an_actionable_window_with_an_exchange_leg() -> None:
    # 2.10 / 2.10: gross 1 / (2 / 2.1) - 1 = 5%. Betfair's 2.10 nets 1 + 1.1 x 0.95 = 2.045:
    # inverse 1/2.1 + 1/2.045 = 0.96518804, net 3.606755%. Stakes of 100: 49.3366 -> 49 and
    # 50.6634 -> 51; payouts 49 x 2.1 = 102.9 and 51 x 2.045 = 104.295, worst profit 2.9.
    window = assess_arbitrage(_legs(2.10, 2.10), newest_quote_s=NOW)
    assert window is not None and window.status == "actionable"
    assert window.gross_return == pytest.approx(0.05)
    assert window.net_return == pytest.approx(0.0360676, abs=1e-7)
    assert window.effective_prices == pytest.approx((2.1, 2.045))
    assert window.stakes == (49.0, 51.0) and window.total_stake == 100.0
    assert window.worst_profit == pytest.approx(2.9)


def test_commission_can_eat_a_window() -> None:
    # 2.02 / 2.02: gross 1%; Betfair's 2.02 nets 1.969: inverse 0.4950495 + 0.5078720 > 1.
    window = assess_arbitrage(_legs(2.02, 2.02), newest_quote_s=NOW)
    assert window is not None and window.status == "commission_eaten"
    assert window.gross_return == pytest.approx(0.01) and window.net_return == pytest.approx(
        -0.002913, abs=1e-6
    )
    # The same prices at two bookmakers: no commission, actionable.
    assert assess_arbitrage(_legs(2.02, 2.02, away_book="bet365"), newest_quote_s=NOW).status == "actionable"


def test_stale_and_suspect_legs() -> None:
    stale = assess_arbitrage(_legs(2.10, 2.10, away_age_s=300), newest_quote_s=NOW)
    assert stale is not None and (stale.status, stale.stale) == ("stale", ("away",))
    fresh_enough = assess_arbitrage(_legs(2.10, 2.10, away_age_s=120), newest_quote_s=NOW)
    assert fresh_enough is not None and fresh_enough.status == "actionable"  # the age limit is inclusive
    # Consensus home 0.55: 2.10 x 0.55 - 1 = 15.5% over fair, past the 10% threshold.
    odd = assess_arbitrage(_legs(2.10, 2.10), newest_quote_s=NOW, consensus={"home": 0.55, "away": 0.45})
    assert odd is not None and (odd.status, odd.suspect) == ("suspect", ("home",))
    lenient = ArbitrageRules(suspect_edge=0.2)
    assert assess_arbitrage(_legs(2.10, 2.10), newest_quote_s=NOW, consensus={"home": 0.55, "away": 0.45},
                            rules=lenient).status == "actionable"  # fmt: skip
    # Suspect outranks stale.
    both = assess_arbitrage(_legs(2.10, 2.10, away_age_s=300), newest_quote_s=NOW, consensus={"home": 0.55})
    assert both is not None and both.status == "suspect"


def test_no_window_without_a_gross_arbitrage() -> None:
    assert assess_arbitrage(_legs(1.90, 1.90), newest_quote_s=NOW) is None
    assert assess_arbitrage(_legs(2.0, 2.0), newest_quote_s=NOW) is None  # exactly 100%: nothing to gain
    with pytest.raises(InvalidOddsError, match="every selection"):
        assess_arbitrage(_legs(2.1, 2.1)[:1], newest_quote_s=NOW)


def test_stakes_round_and_respect_a_cap_per_bookmaker() -> None:
    # Cap 30: the larger exact stake (50.6634) scales everything by 30 / 50.6634 = 0.592145;
    # home 49.3366 x 0.592145 = 29.2144 -> 29 (down, never past the cap), away 30.
    capped = ArbitrageRules(max_stake_per_bookmaker=30.0)
    window = assess_arbitrage(_legs(2.10, 2.10), newest_quote_s=NOW, rules=capped)
    assert window is not None and window.stakes == (29.0, 30.0) and window.total_stake == 59.0
    assert window.worst_profit == pytest.approx(29 * 2.1 - 59)  # 1.9
    fives = ArbitrageRules(stake_increment=5.0)
    assert assess_arbitrage(_legs(2.10, 2.10), newest_quote_s=NOW, total_stake=1000, rules=fives).stakes == (
        495.0,
        505.0,
    )  # 493.366 -> 495, 506.634 -> 505


def test_the_epl_capture_judged_by_the_rules(shared_data: Path) -> None:
    """`lakehouse arbitrage` on the real capture: 21 of 30 games show a raw best-price arbitrage,
    and none survives a trader's rules. One window recomputed here from the raw body."""
    capture = shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json"
    result = CliRunner().invoke(main, ["arbitrage", "--file", str(capture), "--all"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "30 games, 30 complete lines, 21 raw best-price arbitrages in 21 games: "
        "0 actionable, 11 stale, 6 suspect, 4 commission_eaten"
    )
    # Liverpool v Brighton: best home at a bookmaker, draw and away on Betfair's exchange (5%).
    event = next(e for e in json.loads(capture.read_text()) if (e["home_team"], e["away_team"]) ==
                 ("Liverpool", "Brighton and Hove Albion"))  # fmt: skip
    best: dict[str, float] = {}
    for book in event["bookmakers"]:
        for market in book["markets"]:
            if market["key"] == "h2h":
                for outcome in market["outcomes"]:
                    best[outcome["name"]] = max(best.get(outcome["name"], 0.0), outcome["price"])
    home, draw, away = best["Liverpool"], best["Draw"], best["Brighton and Hove Albion"]
    gross = 1 / (1 / home + 1 / draw + 1 / away) - 1
    net = 1 / (1 / home + 1 / (1 + (draw - 1) * 0.95) + 1 / (1 + (away - 1) * 0.95)) - 1
    line = next(x for x in result.output.splitlines() if "liverpool:brighton" in x)
    assert line.split()[0] == "commission_eaten" and gross > 0 > net
    assert f"gross {gross:+.2%}, net {net:+.2%}" in line
    # The one back/lay that locks a profit backs a price the windows already call suspect.
    assert "back/lay: 90 selections with a lay price, 1 lock a profit net of commission" in result.output
    assert "suspect back price, stale back price: 2024-04-04:liverpool:sheffield-united draw" in result.output


def test_the_trading_settings_are_the_command_s_defaults(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    """The live aggregates and the command judge by the same settings; a flag overrides one."""
    capture = shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json"
    monkeypatch.setenv("LAKEHOUSE_TRADING__MAX_QUOTE_AGE_S", "1e9")  # nothing is stale
    monkeypatch.setenv("LAKEHOUSE_TRADING__SUSPECT_EDGE", "10")  # nothing is suspect
    no_commission = json.dumps(dict.fromkeys(EXCHANGE_COMMISSION, 0.0))
    monkeypatch.setenv("LAKEHOUSE_TRADING__COMMISSION", no_commission)
    monkeypatch.setenv("LAKEHOUSE_TRADING__STAKE_INCREMENT", "0")  # stakes unrounded: thin ones pay
    lenient = CliRunner().invoke(main, ["arbitrage", "--file", str(capture)])
    assert lenient.exit_code == 0, lenient.output
    assert lenient.output.splitlines()[0].endswith("21 actionable, 0 stale, 0 suspect, 0 commission_eaten")
    strict = CliRunner().invoke(main, ["arbitrage", "--file", str(capture), "--suspect-edge", "0.1"])
    assert strict.output.splitlines()[0].endswith("15 actionable, 0 stale, 6 suspect, 0 commission_eaten")


def test_arbitrage_window_reads_each_best_price_s_own_quote_time() -> None:
    def quote(book: str, selection: str, price: float, minute: int) -> Quote:
        at = f"2024-03-30T12:{minute:02d}:00Z"
        return Quote("g", "basketball_nba", "h2h", book, selection, price, None, False, at)

    board = [
        quote("a", "home", 2.2, 0),
        quote("a", "away", 1.7, 5),
        quote("b", "home", 1.9, 5),
        quote("b", "away", 2.1, 5),
    ]
    (summary,) = summarise_market(board)
    window = arbitrage_window(summary)  # home 2.2 at a (5 minutes older than the newest), away 2.1 at b
    assert window is not None and (window.status, window.stale) == ("stale", ("home",))
    fresh = arbitrage_window(summary, ArbitrageRules(max_quote_age_s=600, suspect_edge=1.0))
    assert fresh is not None and fresh.status == "actionable"
    assert fresh.gross_return == pytest.approx(1 / (1 / 2.2 + 1 / 2.1) - 1)


def test_an_exact_hundred_percent_book_is_no_arbitrage() -> None:
    """5/11 + 2/7 + 20/77 = 1 exactly; float inverses sum to 0.9999999999999999."""
    legs = [ArbitrageLeg(s, "b", p, 0.0) for s, p in (("home", 2.2), ("draw", 3.5), ("away", 3.85))]
    assert sum(1 / leg.price for leg in legs) < 1.0  # the float noise this guards against
    assert assess_arbitrage(legs, newest_quote_s=0.0) is None
