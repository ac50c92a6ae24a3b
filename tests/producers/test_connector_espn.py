"""The ESPN scoreboard connector on the real captured bodies in ../shared/data/espn/."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import Settings
from lakehouse.schemas import validate
from lakehouse.teams import Team
from producers.base import Connector, HttpRequest, HttpResponse, ParseResult, PollContext
from producers.connectors import CONNECTORS, build_connector
from producers.connectors.espn import EspnScoreboard

FETCHED = datetime(2022, 9, 11, 20, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def espn_dir() -> Path:
    path = Settings().shared_data_dir / "espn"
    if not path.is_dir():
        pytest.fail(
            f"real ESPN captures {path} are missing (expected ../shared/data/espn beside the project)"
        )
    return path


def _request(connector: EspnScoreboard, league: str) -> HttpRequest:
    (request,) = [
        r for r in connector.requests(PollContext(now=FETCHED)) if r.url.endswith(f"/{league}/scoreboard")
    ]
    return request


def _parse(league: str, body: bytes | str | dict, status: int = 200, content_type: str = "application/json"):
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    connector = EspnScoreboard(leagues=[league])
    response = HttpResponse(
        status=status, headers={"Content-Type": content_type}, body=data, fetched_at=FETCHED
    )
    return connector.parse(_request(connector, league), response)


def _valid(result: ParseResult) -> list[dict[str, Any]]:
    return [validate("games", record) for record in result.events]


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["source_game_id"]: r for r in records}


# --- requests ----------------------------------------------------------------------------------


def test_one_scoreboard_request_per_league_at_the_paths_espn_documents() -> None:
    """ESPN's site API: /apis/site/v2/sports/{football,hockey,baseball,basketball,soccer}/{league}/scoreboard.

    The registry's sport names (americanfootball, icehockey) are accepted and sent as ESPN's.
    """
    leagues = ["soccer/eng.1", "football/nfl", "football/college-football", "icehockey/nhl"]
    connector = EspnScoreboard(leagues=[*leagues, "baseball/mlb", "basketball/wnba", "soccer/all"])
    requests = connector.requests(PollContext(now=FETCHED))
    base = "https://site.api.espn.com/apis/site/v2/sports"
    assert [r.url.removeprefix(base) for r in requests] == [
        "/soccer/eng.1/scoreboard",
        "/football/nfl/scoreboard",
        "/football/college-football/scoreboard",
        "/hockey/nhl/scoreboard",
        "/baseball/mlb/scoreboard",
        "/basketball/wnba/scoreboard",
        "/soccer/all/scoreboard",
    ]
    assert [dict(r.context) for r in requests][:2] == [
        {"sport": "soccer", "league": "eng.1"},
        {"sport": "football", "league": "nfl"},
    ]
    assert all(not r.secret_params for r in requests)
    with pytest.raises(ValueError, match="ESPN sport 'cricket'"):
        EspnScoreboard(leagues=["cricket/ipl"])


def test_a_league_without_a_sport_key_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=re.escape("'soccer/ned.1' has no sport-key mapping")):
        EspnScoreboard(leagues=["soccer/ned.1"])
    with pytest.raises(ValueError, match="must look like '<sport>/<league>'"):
        EspnScoreboard(leagues=["nfl"])
    assert EspnScoreboard(
        leagues=["soccer/ned.1"], sport_keys={"soccer/ned.1": "soccer_netherlands_eredivisie"}
    )


def test_espn_is_discovered_by_name_and_implements_the_protocol() -> None:
    connector = build_connector("espn", {"leagues": ["football/nfl"]})
    assert isinstance(connector, EspnScoreboard) and isinstance(connector, Connector)
    assert (connector.name, connector.feed) == ("espn", "games")
    assert {"espn", "openweather", "open_meteo", "newsapi", "gnews", "rss"} <= set(CONNECTORS)


# --- real captures -----------------------------------------------------------------------------


def test_nfl_capture_gives_one_valid_record_per_event(espn_dir: Path) -> None:
    result = _parse("football/nfl", (espn_dir / "nfl.json").read_bytes())

    assert result.rejects == []
    records = _valid(result)
    assert len(records) == 16
    assert Counter(r["status"] for r in records) == {"live": 8, "scheduled": 6, "final": 2}
    assert {r["sport"] for r in records} == {"americanfootball_nfl"}
    assert {r["competition"] for r in records} == {"National Football League"}
    assert all(r["home_team_id"].startswith("nfl-") and r["away_team_id"].startswith("nfl-") for r in records)
    assert len({r["game_id"] for r in records}) == 16

    games = _by_id(records)
    falcons = games["401437650"]  # New Orleans Saints at Atlanta Falcons, 0:48 left in the 4th
    assert {k: falcons[k] for k in falcons if k not in ("event_id",)} == {
        "source": "espn",
        "sport": "americanfootball_nfl",
        "event_time": "2022-09-11T20:10:00.000000Z",
        "ingested_at": "2022-09-11T20:10:00.000000Z",
        "schema_version": 2,
        "game_id": "2022-09-11:nfl-atlanta-falcons:nfl-new-orleans-saints",
        "source_game_id": "401437650",
        "competition": "National Football League",
        "home_team": "Atlanta Falcons",
        "away_team": "New Orleans Saints",
        "home_team_id": "nfl-atlanta-falcons",
        "away_team_id": "nfl-new-orleans-saints",
        "commence_time": "2022-09-11T17:00:00.000000Z",
        "status": "live",
        "period": 4,
        "clock": "0:48",
        "home_score": 26,
        "away_score": 24,
        "venue_name": "Mercedes-Benz Stadium",
        "venue_city": "Atlanta",
        "venue_country": None,
        "venue_lat": None,
        "venue_lon": None,
        "status_detail": "0:48 - 4th",
    }
    rams = games["401437654"]  # Buffalo Bills at Los Angeles Rams, final 10-31
    assert (rams["status"], rams["home_score"], rams["away_score"]) == ("final", 10, 31)
    assert rams["game_id"] == "2022-09-09:nfl-los-angeles-rams:nfl-buffalo-bills"
    seahawks = games["401437655"]  # scheduled: no score, period or clock yet, whatever ESPN shows
    assert seahawks["status"] == "scheduled"
    assert (seahawks["home_score"], seahawks["away_score"], seahawks["period"], seahawks["clock"]) == (
        None,
        None,
        None,
        None,
    )


def test_mls_capture_resolves_every_club_by_espn_id(espn_dir: Path) -> None:
    result = _parse("soccer/usa.1", (espn_dir / "mls.json").read_bytes())

    assert result.rejects == []
    records = _valid(result)
    assert len(records) == 11
    assert Counter(r["status"] for r in records) == {"scheduled": 5, "live": 4, "final": 2}
    assert {r["sport"] for r in records} == {"soccer_usa_mls"}
    assert {r["competition"] for r in records} == {"Major League Soccer"}
    nycfc = _by_id(records)["623597"]
    assert nycfc["game_id"] == "2022-09-17:mls-new-york-city-fc:mls-new-york-red-bulls"
    assert (nycfc["status"], nycfc["home_score"], nycfc["away_score"], nycfc["clock"]) == (
        "final",
        2,
        0,
        "90'+5'",
    )
    assert (nycfc["venue_name"], nycfc["venue_city"]) == ("Yankee Stadium", "New York")
    orlando = _by_id(records)["623600"]  # second half, 57th minute
    assert (orlando["status"], orlando["period"], orlando["clock"], orlando["home_score"]) == (
        "live",
        2,
        "57'",
        3,
    )


def test_soccer_all_maps_each_event_to_its_league(espn_dir: Path) -> None:
    result = _parse("soccer/all", (espn_dir / "scoreboard_all_leagues.json").read_bytes())

    assert result.rejects == []
    records = _valid(result)
    assert len(records) == 50
    assert Counter(r["sport"] for r in records) == {
        "soccer_usa_mls": 10,
        "soccer_efl_champ": 8,
        "soccer_epl": 5,
        "soccer_spain_la_liga": 5,
        "soccer_germany_bundesliga": 5,
        "soccer_england_wsl": 4,
        "soccer_mexico_ligamx": 4,
        "soccer_usa_nwsl": 3,
        "soccer_italy_serie_a": 3,
        "soccer_france_ligue_one": 3,
    }
    games = _by_id(records)
    brighton = games["740898"]  # Liverpool at Brighton & Hove Albion, 2-1
    assert brighton["competition"] == "English Premier League"
    assert brighton["game_id"] == "2026-03-21:brighton-and-hove-albion:liverpool"
    assert (brighton["status"], brighton["home_score"], brighton["away_score"]) == ("final", 2, 1)
    assert (brighton["venue_name"], brighton["venue_city"], brighton["venue_country"]) == (
        "American Express Stadium",
        "Falmer",
        "England",
    )
    assert (brighton["venue_lat"], brighton["venue_lon"]) == (50.862, -0.083)  # the registry's ground

    postponed = games["740902"]  # Crystal Palace at Manchester City
    assert postponed["status"] == "postponed"
    assert (postponed["home_score"], postponed["away_score"], postponed["period"]) == (None, None, None)

    # ESPN calls the WSL side "Arsenal": it resolves by ESPN id to the women's team, not the club
    wsl = games["754397"]
    assert (wsl["sport"], wsl["home_team"], wsl["home_team_id"]) == (
        "soccer_england_wsl",
        "Arsenal",
        "arsenal-women",
    )


def test_soccer_all_rejects_events_of_leagues_it_cannot_map(espn_dir: Path) -> None:
    body = json.loads((espn_dir / "scoreboard_all_leagues.json").read_bytes())
    body["events"][0]["uid"] = "s:600~l:9999~e:740898"  # a league ESPN added after our table
    body["events"][1]["uid"] = "s:600~e:740905"  # no league id at all

    result = _parse("soccer/all", body)

    assert len(_valid(result)) == 48
    assert [r.reason for r in result.rejects] == [
        "unknown ESPN soccer league id 9999 (uid 's:600~l:9999~e:740898')",
        "cannot tell the league of ESPN event (uid 's:600~e:740905' has no league id)",
    ]
    assert result.rejects[0].raw["id"] == "740898" and result.rejects[0].source == "espn"


def test_event_ids_change_with_the_game_state_only(espn_dir: Path) -> None:
    raw = (espn_dir / "nfl.json").read_bytes()
    first = _by_id(_parse("football/nfl", raw).events)
    again = _by_id(_parse("football/nfl", raw).events)
    assert {k: v["event_id"] for k, v in first.items()} == {k: v["event_id"] for k, v in again.items()}

    body = json.loads(raw)
    event = next(e for e in body["events"] if e["id"] == "401437650")
    event["competitions"][0]["competitors"][0]["score"] = "29"  # a Falcons field goal
    changed = _by_id(_parse("football/nfl", body).events)
    assert changed["401437650"]["event_id"] != first["401437650"]["event_id"]
    assert changed["401437650"]["game_id"] == first["401437650"]["game_id"]
    assert changed["401437647"]["event_id"] == first["401437647"]["event_id"]


# --- bad input ---------------------------------------------------------------------------------


def test_an_html_error_page_served_with_200_is_one_reject() -> None:
    page = "<!DOCTYPE html><html><head><title>ESPN - Site Unavailable</title></head><body></body></html>"
    result = _parse("football/nfl", page, content_type="text/html; charset=utf-8")
    assert result.events == []
    (reject,) = result.rejects
    assert reject.reason.startswith(
        "ESPN body is an HTML page (content-type text/html; charset=utf-8, HTTP 200)"
    )
    assert reject.raw == page and reject.source == "espn"


def test_truncated_json_is_one_reject(espn_dir: Path) -> None:
    result = _parse("football/nfl", (espn_dir / "nfl.json").read_bytes()[:5000])
    assert result.events == []
    (reject,) = result.rejects
    assert reject.reason.startswith("ESPN body is not valid JSON")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"leagues": [{"slug": "nfl"}], "season": {"year": 2022}}, "ESPN scoreboard has no 'events' list"),
        ({"events": None}, "ESPN scoreboard has no 'events' list"),
        ([1, 2, 3], "ESPN scoreboard has no 'events' list (got list)"),
        ("", "ESPN sent an empty body"),
    ],
)
def test_a_body_without_events_is_one_reject(body: Any, reason: str) -> None:
    result = _parse("football/nfl", json.dumps(body) if not isinstance(body, str) else body)
    assert result.events == []
    (reject,) = result.rejects
    assert reject.reason.startswith(reason)


def test_an_http_error_status_is_one_reject() -> None:
    result = _parse("football/nfl", '{"code": 404, "message": "Not Found"}', status=404)
    (reject,) = result.rejects
    assert reject.reason.startswith("ESPN answered HTTP 404")


def test_an_unknown_team_is_rejected_and_the_other_events_still_parse(espn_dir: Path) -> None:
    body = json.loads((espn_dir / "nfl.json").read_bytes())
    event = next(e for e in body["events"] if e["id"] == "401437650")
    away = event["competitions"][0]["competitors"][1]
    away["id"] = away["team"]["id"] = "9999"
    away["team"]["displayName"] = "London Monarchs"

    result = _parse("football/nfl", body)

    assert len(_valid(result)) == 15
    assert "401437650" not in _by_id(result.events)
    (reject,) = result.rejects
    assert reject.reason.startswith(
        "away unmatched team 'London Monarchs' (espn id 9999): unknown team 'London Monarchs'"
    )
    assert reject.raw["id"] == "401437650"


def test_a_new_side_named_like_a_known_club_is_not_guessed(espn_dir: Path) -> None:
    """A WSL side with an id the registry lacks must not become the men's club of that name."""
    body = json.loads((espn_dir / "scoreboard_all_leagues.json").read_bytes())
    event = next(e for e in body["events"] if e["id"] == "754397")  # West Ham United at Arsenal (WSL)
    home = event["competitions"][0]["competitors"][0]
    home["id"] = home["team"]["id"] = "99999"

    result = _parse("soccer/all", body)

    assert len(_valid(result)) == 49
    (reject,) = result.rejects
    assert reject.reason.startswith("home unmatched team 'Arsenal' (espn id 99999): ")
    assert "'arsenal'" in reject.reason and reject.raw["id"] == "754397"


class _NameOnlyRegistry:
    """Knows every team by name only (no ESPN ids), like a registry entry not yet given its id."""

    def resolve_espn(
        self,
        espn_id: str,
        *,
        sport: str | None = None,
        name: str | None = None,
        competition: str | None = None,
    ) -> Team:
        return self.resolve(name or "", source="espn", sport=sport)

    def resolve(self, name: str, *, source: str, sport: str | None = None) -> Team:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        return Team(slug, name, "soccer", ("soccer_epl",), {}, espn_ids=())


def test_a_name_match_outside_the_teams_leagues_is_refused(espn_dir: Path) -> None:
    body = json.loads((espn_dir / "scoreboard_all_leagues.json").read_bytes())
    connector = EspnScoreboard(leagues=["soccer/all"], registry=_NameOnlyRegistry())  # type: ignore[arg-type]
    response = HttpResponse(200, {}, json.dumps(body).encode(), FETCHED)

    result = connector.parse(_request(connector, "soccer/all"), response)

    assert {r["sport"] for r in result.events} == {"soccer_epl"}  # 5 EPL games, matched by name
    assert len(result.events) == 5 and len(result.rejects) == 45
    wsl = next(r for r in result.rejects if r.raw["id"] == "754397")
    assert wsl.reason.startswith(
        "home unmatched team 'Arsenal' (espn id 19973): the name matches 'arsenal', which is not known in "
        "soccer_england_wsl; add the ESPN id to the team registry; away unmatched team 'West Ham United'"
    )


def test_malformed_events_are_rejected_one_by_one(espn_dir: Path) -> None:
    body = json.loads((espn_dir / "nfl.json").read_bytes())
    events = {e["id"]: e for e in body["events"]}
    events["401437647"]["status"]["type"].update(name="STATUS_ABANDONED", state="post", completed=False)
    events["401437634"]["competitions"][0]["competitors"][0]["score"] = "n/a"
    events["401437648"]["competitions"] = []
    events["401437630"]["competitions"][0]["competitors"].pop()
    events["401437632"]["date"] = events["401437632"]["competitions"][0]["date"] = "Sunday"
    events["401437646"]["status"] = "in progress"  # a shape nobody planned for
    twin = events["401437651"]["competitions"][0]["competitors"]
    twin[1]["id"], twin[1]["team"] = twin[0]["id"], twin[0]["team"]  # a team playing itself
    body["events"].append("not an event")

    result = _parse("football/nfl", copy.deepcopy(body))

    assert len(_valid(result)) == 9
    assert [r.reason for r in result.rejects] == [
        "unmapped ESPN status 'STATUS_ABANDONED' (state 'post', completed False)",
        "score 'n/a' is not a number",
        "ESPN event 401437648 has no competitions",
        "ESPN event 401437630 lacks a home and an away competitor",
        "start time 'Sunday' is not an ISO timestamp with a zone",
        "malformed ESPN event 401437646: AttributeError: 'str' object has no attribute 'get'",
        "malformed ESPN event 401437651: ValueError: a team cannot play itself: 'nfl-carolina-panthers'",
        "ESPN event has no id",
    ]


# --- replaying captures --------------------------------------------------------------------------


def test_a_capture_says_which_league_it_is_or_the_user_does(espn_dir: Path, tmp_path: Path) -> None:
    from producers.replay import espn_capture, espn_capture_league, is_espn_scoreboard

    assert {p.name: espn_capture_league(p) for p in sorted(espn_dir.glob("*.json"))} == {
        "fifa_world_scoreboard.json": "soccer/fifa.world",
        "mens_college_basketball_teams.json": None,  # a teams response, not a scoreboard
        "mls.json": "soccer/usa.1",
        "nba_scoreboard_in_progress.json": "basketball/nba",
        "nba_scoreboard_scheduled.json": "basketball/nba",
        "nfl.json": "football/nfl",
        "scoreboard_all_leagues.json": "soccer/all",
        "wnba_scoreboard_trimmed.json": None,  # trimmed of its leagues block
    }
    assert not is_espn_scoreboard(espn_dir / "mens_college_basketball_teams.json")
    wnba = espn_dir / "wnba_scoreboard_trimmed.json"
    with pytest.raises(ValueError, match=r"which ESPN league is wnba_scoreboard_trimmed\.json\? pass"):
        espn_capture(wnba)
    parsed = espn_capture(wnba, "basketball/wnba")
    assert len(parsed.events) + len(parsed.rejects) == 2
    assert all(r.raw.get("id") for r in parsed.rejects)  # each game accounted for, by event
    assert len(espn_capture(espn_dir / "nfl.json").events) == 16


def test_replay_of_a_capture_that_names_no_league_is_a_one_line_error(
    espn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    from click.testing import CliRunner

    from cli.main import main

    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9")  # nothing is sent
    wnba = str(espn_dir / "wnba_scoreboard_trimmed.json")
    result = CliRunner().invoke(main, ["produce", "replay", "espn", "--file", wnba])
    assert result.exit_code == 1, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("Error: which ESPN league is wnba_scoreboard_trimmed.json? pass --league")
    )
    assert "Traceback" not in result.output


def test_every_espn_scoreboard_in_the_shared_data_produces_every_game(espn_dir: Path) -> None:
    """With the packaged registry (teams synced from these responses, no alias written by hand)."""
    from producers.replay import espn_capture, espn_capture_league, is_espn_scoreboard

    games = {}
    for path in sorted(espn_dir.glob("*.json")):
        if not is_espn_scoreboard(path):
            continue
        body = json.loads(path.read_bytes().decode("utf-8-sig"))
        parsed = espn_capture(path, espn_capture_league(path) or "basketball/wnba")
        assert parsed.rejects == [], (path.name, [r.reason for r in parsed.rejects][:2])
        assert len(parsed.events) == len(body["events"]), path.name
        records = _valid(parsed)
        assert all(r["home_team_id"] != r["away_team_id"] for r in records)
        games[path.name] = len(records)
    assert games == {
        "fifa_world_scoreboard.json": 32,
        "mls.json": 11,
        "nba_scoreboard_in_progress.json": 1,
        "nba_scoreboard_scheduled.json": 11,
        "nfl.json": 16,
        "scoreboard_all_leagues.json": 50,
        "wnba_scoreboard_trimmed.json": 2,
    }


# --- game identity and status detail outside the captures -----------------------------------------

_MLB_TEAMS = """sport: baseball
competitions: [baseball_mlb]
teams:
  - id: mlb-cleveland-guardians
    name: Cleveland Guardians
    competitions: [baseball_mlb]
    espn_ids: ["5"]
  - id: mlb-minnesota-twins
    name: Minnesota Twins
    competitions: [baseball_mlb]
    espn_ids: ["9"]
"""


def _mlb_event(event_id: str, start: str, status: dict[str, Any], scores: tuple[str, str]) -> dict[str, Any]:
    """An ESPN MLB scoreboard event in the site API's shape (ids as ESPN gives them)."""
    competitors = [
        {"homeAway": side, "score": score, "team": {"id": team_id, "displayName": name}}
        for side, score, team_id, name in (
            ("home", scores[0], "5", "Cleveland Guardians"),
            ("away", scores[1], "9", "Minnesota Twins"),
        )
    ]
    return {
        "id": event_id,
        "date": start,
        "status": status,
        "competitions": [
            {"date": start, "competitors": competitors, "venue": {"fullName": "Progressive Field"}}
        ],
    }


def test_a_doubleheader_gives_two_games_that_the_odds_feed_still_matches(tmp_path: Path) -> None:
    """Guardians v Twins twice on 2022-09-17 (ESPN 401423263 at 17:10Z, 401356377 at 23:10Z):
    one game id each, and the same ids from The Odds API, even once it lists only the late game."""
    from lakehouse.teams import TeamRegistry
    from producers.connectors.odds_api import TheOddsApi

    (tmp_path / "baseball_mlb.yaml").write_text(_MLB_TEAMS)
    registry = TeamRegistry.load(tmp_path)
    final = {
        "period": 9,
        "displayClock": "0:00",
        "type": {"name": "STATUS_FINAL", "state": "post", "completed": True, "shortDetail": "Final"},
    }
    top9 = {
        "period": 9,
        "displayClock": "0:00",
        "type": {"name": "STATUS_IN_PROGRESS", "state": "in", "completed": False, "shortDetail": "Top 9th"},
    }
    body = {
        "leagues": [{"slug": "mlb", "uid": "s:1~l:10"}],
        "events": [
            _mlb_event("401423263", "2022-09-17T17:10Z", final, ("4", "2")),
            _mlb_event("401356377", "2022-09-17T23:10Z", top9, ("1", "3")),
        ],
    }
    connector = EspnScoreboard(leagues=["baseball/mlb"], registry=registry)
    response = HttpResponse(200, {"Content-Type": "application/json"}, json.dumps(body).encode(), FETCHED)
    result = connector.parse(_request(connector, "mlb"), response)
    assert result.rejects == []
    games = _by_id(_valid(result))
    early, late = games["401423263"], games["401356377"]
    assert early["game_id"] == "2022-09-17T1710:mlb-cleveland-guardians:mlb-minnesota-twins"
    assert late["game_id"] == "2022-09-17T2310:mlb-cleveland-guardians:mlb-minnesota-twins"
    # The inning and its half, not a stopped clock that baseball does not have.
    assert (late["status"], late["period"], late["clock"], late["status_detail"]) == (
        "live",
        9,
        None,
        "Top 9th",
    )
    assert (early["status"], early["status_detail"], early["home_score"]) == ("final", "Final", 4)

    odds = TheOddsApi(api_key="k", sports=["baseball_mlb"], registry=registry)
    event = {
        "id": "e2",
        "sport_key": "baseball_mlb",
        "commence_time": "2022-09-17T23:10:00Z",
        "home_team": "Cleveland Guardians",
        "away_team": "Minnesota Twins",
        "bookmakers": [
            {
                "key": "pinnacle",
                "title": "Pinnacle",
                "last_update": "2022-09-17T22:00:00Z",
                "markets": [
                    {
                        "key": "h2h",
                        "last_update": "2022-09-17T22:00:00Z",
                        "outcomes": [
                            {"name": "Cleveland Guardians", "price": 1.8},
                            {"name": "Minnesota Twins", "price": 2.1},
                        ],
                    }
                ],
            }
        ],
    }
    request = next(iter(odds.requests(PollContext(now=FETCHED))))
    quotes = odds.parse(request, HttpResponse(200, {}, json.dumps([event]).encode(), FETCHED)).events
    assert {q["game_id"] for q in quotes} == {late["game_id"]}  # only the late game listed: still game 2


@pytest.mark.parametrize(
    ("status", "clock", "detail"),
    [
        ({"name": "STATUS_HALFTIME", "state": "in", "completed": False, "shortDetail": "HT"}, None, "HT"),
        (
            {"name": "STATUS_SECOND_HALF", "state": "in", "completed": False, "shortDetail": "58'"},
            "58'",
            "58'",
        ),
        (
            {"name": "STATUS_FINAL_PEN", "state": "post", "completed": True, "shortDetail": "FT-Pens"},
            "120'",
            "FT-Pens",
        ),
        (
            {
                "name": "STATUS_SCHEDULED",
                "state": "pre",
                "completed": False,
                "shortDetail": "9/17 - 10:00 PM",
            },
            None,
            None,
        ),
    ],
)
def test_soccer_status_detail_and_clock(
    espn_dir: Path, status: dict[str, Any], clock: str | None, detail: str | None
) -> None:
    """Half time drops the stopped clock; a shoot-out keeps its detail; a scheduled game has none."""
    body = json.loads((espn_dir / "mls.json").read_bytes())
    event = body["events"][0]
    event["status"] = {
        "period": 2,
        "displayClock": "120'" if status["state"] == "post" else "58'",
        "type": status,
    }
    if status["name"] == "STATUS_HALFTIME":
        event["status"]["displayClock"] = "45'+2'"
    body["events"] = [event]
    (record,) = _valid(_parse("soccer/usa.1", body))
    assert (record["clock"], record["status_detail"]) == (clock, detail)
