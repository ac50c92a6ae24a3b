"""The Odds API connector on the real capture, and on every kind of bad input."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.schemas import SchemaValidationError, validate
from producers.base import HttpResponse, PollContext
from producers.connectors._common import MAX_RAW_CHARS, REDACTED, MissingApiKeyError
from producers.connectors.odds_api import TheOddsApi

FETCHED = datetime(2024, 3, 27, 18, 5, tzinfo=UTC)


@pytest.fixture
def capture(shared_data: Path) -> list[dict]:
    return json.loads((shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").read_text())


def _parse(body: object) -> tuple[list[dict], list[str]]:
    connector = TheOddsApi(api_key="secret-key")
    request = connector.requests(PollContext(now=FETCHED))[0]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    result = connector.parse(request, HttpResponse(200, {}, raw, FETCHED))
    return result.events, [r.reason for r in result.rejects]


def test_request_shape_and_secret() -> None:
    connector = TheOddsApi(sports=["soccer_epl", "americanfootball_nfl"], api_key="k-123")
    requests = connector.requests(PollContext(now=FETCHED))
    assert [r.url for r in requests] == [
        "https://api.the-odds-api.com/v4/sports/soccer_epl/odds",
        "https://api.the-odds-api.com/v4/sports/americanfootball_nfl/odds",
    ]
    assert requests[0].params["markets"] == "h2h,spreads,totals"
    assert requests[0].params["oddsFormat"] == "decimal"
    assert requests[0].secret_params == {"apiKey": "k-123"} and "k-123" not in repr(requests[0].params)


def test_real_capture_gives_one_valid_quote_per_outcome(capture: list[dict]) -> None:
    quotes, rejects = _parse(capture)
    assert rejects == []
    assert len(quotes) == 1281
    assert all(validate("odds", q) for q in quotes)
    markets = Counter(q["market"] for q in quotes)
    assert set(markets) == {"h2h", "h2h_lay"}
    assert all(q["is_exchange"] for q in quotes if q["market"] == "h2h_lay")
    nufc = next(
        q
        for q in quotes
        if q["bookmaker"] == "sport888"
        and q["selection"] == "home"
        and q["home_team"] == "Newcastle United"
        and q["away_team"] == "West Ham United"
    )
    assert (nufc["price"], nufc["game_id"]) == (1.85, "2024-03-30:newcastle-united:west-ham-united")
    assert nufc["last_update"] == "2024-03-27T18:03:32Z"


def test_bad_bodies_are_single_rejects_with_reasons() -> None:
    assert _parse(b"<html><body>502 Bad Gateway</body></html>")[1][0].startswith(
        "The Odds API body is an HTML page"
    )
    assert _parse(b'[{"id": "x", ')[1][0].startswith("The Odds API body is not valid JSON")
    assert _parse({"message": "Unknown sport", "error_code": "UNKNOWN_SPORT"}) == (
        [],
        ["API error: Unknown sport"],
    )


def test_bad_events_are_rejected_and_the_rest_kept(capture: list[dict]) -> None:
    events = copy.deepcopy(capture[:5])
    del events[0]["home_team"]  # renamed/missing field
    events[1]["sport_key"] = "curling_worlds"  # a sport the platform does not know
    events[2]["bookmakers"] = []  # nothing quoted
    events[3]["away_team"] = "Atlantis Rovers"  # a team nobody registered
    events[4]["bookmakers"][0]["markets"][0]["outcomes"][0]["price"] = 0.95  # impossible price
    quotes, reasons = _parse(events)
    assert "event is missing field(s) home_team" in reasons
    assert "unknown sport key 'curling_worlds'" in reasons
    assert any(r.startswith(f"event {events[2]['id']} has no bookmakers") for r in reasons)
    assert any("unmatched team" in r and "Atlantis Rovers" in r for r in reasons)
    both = copy.deepcopy(capture[5])
    both["home_team"], both["away_team"] = "Lemuria FC", "Atlantis Rovers"
    (reason,) = _parse([both])[1]
    # Every unknown name at once, so one round of aliases releases the game.
    assert reason.startswith("unmatched team: home unknown team 'Lemuria FC'")
    assert "; away unknown team 'Atlantis Rovers'" in reason
    # The impossible price parses; the shared schema rejects it on publish (dead letter with reason).
    bad = [q for q in quotes if q["price"] == 0.95]
    assert len(bad) == 1
    with pytest.raises(
        SchemaValidationError, match=r"price: 0\.95 is less than or equal to the minimum of 1\.0"
    ):
        validate("odds", bad[0])
    # Nothing valid is dropped: the fifth event's other quotes are all there.
    fifth = sum(len(m["outcomes"]) for b in capture[4]["bookmakers"] for m in b["markets"])
    assert len(quotes) == fifth


def test_polling_without_a_key_is_refused_with_the_setting_to_set() -> None:
    with pytest.raises(MissingApiKeyError, match="LAKEHOUSE_ODDS_API_KEY"):
        TheOddsApi().requests(PollContext(now=FETCHED))


def test_an_error_body_is_capped_and_the_key_blanked() -> None:
    """An upstream error page that echoes the request URL must not carry the key into Kafka."""
    connector = TheOddsApi(api_key="secret-key")
    request = connector.requests(PollContext(now=FETCHED))[0]
    page = f"<html>502 for /v4/sports/soccer_epl/odds?apiKey=secret-key {'x' * 3_000_000}</html>"
    result = connector.parse(request, HttpResponse(502, {}, page.encode(), FETCHED))
    (reject,) = result.rejects
    assert len(reject.raw) == MAX_RAW_CHARS
    assert "secret-key" not in reject.raw and "secret-key" not in reject.reason
    assert f"apiKey={REDACTED}" in reject.raw
