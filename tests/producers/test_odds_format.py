"""The Odds API in American odds (`oddsFormat=american`), as several real captures are: prices
become decimals, whatever the capture; a decimal capture is untouched.

Checked on every capture without knowing which is which: each complete bookmaker market's
inverse prices sum to a bookmaker's overround (1 to 1.35; exchanges left out, their thin books
can show anything).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.base import HttpRequest, HttpResponse
from producers.connectors.odds_api import TheOddsApi, odds_format_of
from producers.replay import odds_api_capture

pytestmark = pytest.mark.usefixtures("shared_data")


def _captures(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "odds-api").rglob("*.json"))


def test_every_capture_gives_prices_with_a_bookmakers_overround(shared_data: Path) -> None:
    checked = 0
    for path in _captures(shared_data):
        quotes = odds_api_capture(path).events
        markets: dict[tuple, dict[str, float]] = defaultdict(dict)
        for q in quotes:
            assert q["price"] >= 1.0, (path.name, q)
            if q["market"] == "h2h" and not q["is_exchange"]:  # an exchange's thin book can be anything
                markets[(q["game_id"], q["bookmaker"])][q["selection"]] = q["price"]
        selections = defaultdict(set)
        for (game, _book), prices in markets.items():
            selections[game] |= set(prices)
        for (game, book), prices in markets.items():
            if set(prices) == selections[game] and len(prices) >= 2:
                inverse = sum(1 / p for p in prices.values())
                assert 0.97 <= inverse <= 1.35, (path.name, game, book, prices)
                checked += 1
    assert checked > 500


def test_american_prices_are_converted_and_decimal_ones_kept(shared_data: Path) -> None:
    wnba = shared_data / "odds-api" / "more" / "basketball_wnba_current.json"
    assert odds_format_of(json.loads(wnba.read_text())) == "american"
    dream = [
        q
        for q in odds_api_capture(wnba).events
        if q["bookmaker"] == "fanduel" and q["market"] == "h2h" and q["selection_name"] == "Atlanta Dream"
    ]
    assert dream and math.isclose(dream[0]["price"], 1 + 100 / 700)  # -700 in the capture
    epl = shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json"
    assert odds_format_of(json.loads(epl.read_text())) == "decimal"
    assert len(odds_api_capture(epl).events) == 1281


def test_the_live_poll_reads_the_format_it_asked_for(shared_data: Path) -> None:
    body = (shared_data / "odds-api" / "more" / "basketball_wnba_current.json").read_bytes()
    response = HttpResponse(200, {}, body, datetime(2026, 7, 9, tzinfo=UTC))
    api = TheOddsApi(sports=("basketball_wnba",), odds_format="american")

    def parsed(fmt: str) -> list[float]:
        request = HttpRequest(
            url="https://api.the-odds-api.com/v4/sports/basketball_wnba/odds", params={"oddsFormat": fmt}
        )
        return sorted(q["price"] for q in api.parse(request, response).events)

    american = parsed("american")
    assert min(american) > 1.0 and max(american) < 10
    # Asked for decimals, the numbers are taken as decimals (the negative ones fail the schema later).
    assert min(parsed("decimal")) < 0
    bad = json.loads(body)
    bad[0]["bookmakers"][0]["markets"][0]["outcomes"][0]["price"] = 50  # no such American price
    result = api.parse_events(bad, odds_format="american")
    assert any("American odds must be" in r.reason for r in result.rejects)
