"""NewsAPI, GNews and RSS/Atom connectors on bodies shaped like the providers' documented responses."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakehouse.schemas import validate
from producers.base import Connector, HttpRequest, HttpResponse, ParseResult, PollContext
from producers.connectors import build_connector
from producers.connectors.news import GNewsSearch, MissingApiKeyError, NewsApiEverything, RssFeed

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 3, 30, 20, 0, tzinfo=UTC)
FETCHED = datetime(2024, 3, 30, 20, 0, 3, tzinfo=UTC)
NEWSAPI_KEY = "newsapi-test-key-abcdef"
GNEWS_KEY = "gnews-test-key-123456"
CITY_ARSENAL = {
    "game_id": "2024-03-31:manchester-city:arsenal",
    "home_team_id": "manchester-city",
    "away_team_id": "arsenal",
    "commence_time": "2024-03-31T15:30:00.000000Z",
    "sport": "soccer_epl",
    "venue_lat": 53.483,
}
# Spurs play twice within 3 days of the Luton story, so it cannot be tied to one game.
SPURS_LUTON = {
    "game_id": "2024-03-30:tottenham-hotspur:luton-town",
    "home_team_id": "tottenham-hotspur",
    "away_team_id": "luton-town",
    "commence_time": datetime(2024, 3, 30, 15, 0, tzinfo=UTC),
}
WEST_HAM_SPURS = {
    "game_id": "2024-04-02:west-ham-united:tottenham-hotspur",
    "home_team_id": "west-ham-united",
    "away_team_id": "tottenham-hotspur",
    "commence_time": "2024-04-02T14:00:00Z",
}
TITLE = "Manchester City beat Arsenal in the title race? What the numbers say before Sunday's showdown"
DESCRIPTION = (
    "Pep Guardiola's champions host Mikel Arteta's Arsenal at the Etihad with the Premier League leaders "
    "separated by two points."
)
CTX = PollContext(now=NOW, upcoming_games=(CITY_ARSENAL, SPURS_LUTON, WEST_HAM_SPURS))


def _response(body: bytes | str, status: int = 200, content_type: str = "application/json") -> HttpResponse:
    data = body.encode() if isinstance(body, str) else body
    return HttpResponse(status=status, headers={"Content-Type": content_type}, body=data, fetched_at=FETCHED)


def _fixture(name: str, content_type: str = "application/json") -> HttpResponse:
    return _response((FIXTURES / name).read_bytes(), content_type=content_type)


def _first_request(connector: Connector) -> HttpRequest:
    return connector.requests(CTX)[0]


def _valid(result: ParseResult) -> dict[str, dict[str, Any]]:
    """Validated records keyed by URL."""
    return {r["url"]: r for r in (validate("news", record) for record in result.events)}


# --- NewsAPI -----------------------------------------------------------------------------------


def test_newsapi_requests_one_query_each_with_the_key_kept_secret() -> None:
    connector = NewsApiEverything(
        NEWSAPI_KEY, {'"Premier League"': "soccer_epl", "NFL": "americanfootball_nfl"}
    )
    requests = connector.requests(CTX)

    assert [r.url for r in requests] == ["https://newsapi.org/v2/everything"] * 2
    assert dict(requests[0].params) == {
        "q": '"Premier League"',
        "language": "en",
        "sortBy": "publishedAt",
        "pageSize": "50",
    }
    assert all(dict(r.secret_params) == {"apiKey": NEWSAPI_KEY} for r in requests)
    assert [r.context["sport"] for r in requests] == ["soccer_epl", "americanfootball_nfl"]
    assert NEWSAPI_KEY not in repr(connector) + str([r.params for r in requests]) + str(
        [r.context for r in requests]
    )
    assert [r.params["q"] for r in NewsApiEverything(NEWSAPI_KEY, ["Arsenal", "Chelsea"]).requests(CTX)] == [
        "Arsenal",
        "Chelsea",
    ]
    with pytest.raises(MissingApiKeyError, match="LAKEHOUSE_NEWSAPI_KEY"):
        NewsApiEverything(None).requests(CTX)


def test_newsapi_articles_are_linked_to_teams_and_games() -> None:
    connector = NewsApiEverything(NEWSAPI_KEY, {'"Premier League"': "soccer_epl"})
    result = connector.parse(_first_request(connector), _fixture("newsapi_everything.json"))

    records = _valid(result)
    assert len(records) == 3
    city = records["https://www.bbc.co.uk/sport/football/68683021"]
    assert city == {
        "event_id": city["event_id"],
        "source": "newsapi",
        "sport": "soccer_epl",
        "event_time": "2024-03-29T18:42:11.000000Z",
        "ingested_at": "2024-03-30T20:00:03.000000Z",
        "schema_version": 1,
        "article_id": city["article_id"],
        "url": "https://www.bbc.co.uk/sport/football/68683021",
        "title": TITLE,
        "description": DESCRIPTION,
        "published_at": "2024-03-29T18:42:11.000000Z",
        "outlet": "BBC Sport",
        "team_ids": ["manchester-city", "arsenal"],
        "teams": ["Manchester City", "Arsenal"],
        "game_id": "2024-03-31:manchester-city:arsenal",
    }
    assert city["article_id"] == hashlib.sha1(city["url"].encode()).hexdigest()
    assert city["event_id"] == hashlib.sha1(f"newsapi|{city['url']}".encode()).hexdigest()

    spurs = records["https://www.independent.co.uk/sport/football/tottenham-luton-score-result-b2520815.html"]
    assert spurs["team_ids"] == ["tottenham-hotspur", "luton-town"]
    assert spurs["game_id"] is None  # two Spurs games within 3 days: not guessed

    # no tracked team: still emitted, with empty lists and the query's sport
    offside = records[
        "https://www.skysports.com/football/news/11095/13106754/premier-league-semi-automated-offside"
    ]
    assert (offside["team_ids"], offside["teams"], offside["game_id"], offside["sport"]) == (
        [],
        [],
        None,
        "soccer_epl",
    )

    assert [r.reason for r in result.rejects] == [
        "article https://removed.com was removed at the source",
        "article https://www.football365.com/news/chelsea-reece-james-surgery has no readable "
        "publication time",
    ]
    assert all(r.source == "newsapi" for r in result.rejects)


def test_newsapi_same_article_again_keeps_its_ids() -> None:
    connector = NewsApiEverything(NEWSAPI_KEY)
    first = connector.parse(_first_request(connector), _fixture("newsapi_everything.json")).events
    second = connector.parse(_first_request(connector), _fixture("newsapi_everything.json")).events
    assert [r["event_id"] for r in first] == [r["event_id"] for r in second]


def test_a_query_without_a_sport_leaves_untagged_articles_unknown() -> None:
    connector = NewsApiEverything(NEWSAPI_KEY, ["football rule changes"])
    records = _valid(connector.parse(_first_request(connector), _fixture("newsapi_everything.json")))
    sports = {r["title"][:20]: r["sport"] for r in records.values()}
    assert sports == {
        "Manchester City beat": "soccer_epl",  # from the team
        "Spurs come from behi": "soccer_epl",
        "Premier League clubs": "unknown",
    }
    # a plain query naming a known competition (as the YAML schedule writes them) implies its sport
    plain = NewsApiEverything(NEWSAPI_KEY, ["Premier League", "La Liga", "cricket"]).requests(CTX)
    assert [r.context["sport"] for r in plain] == ["soccer_epl", "soccer_spain_la_liga", None]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            _response((FIXTURES / "newsapi_error.json").read_bytes(), status=401),
            "NewsAPI error apiKeyInvalid: Your API key is invalid or incorrect.",
        ),
        (
            _response("Service Unavailable", status=503, content_type="text/plain"),
            "NewsAPI answered HTTP 503",
        ),
        (_response('{"status": "pending"}'), "NewsAPI status is 'pending', expected 'ok'"),
        (
            _fixture("newsapi_error.json"),
            "NewsAPI error apiKeyInvalid: Your API key is invalid or incorrect.",
        ),
        (
            _response(
                '{"status":"error","code":"rateLimited",'
                '"message":"You have made too many requests recently."}',
                status=429,
            ),
            "NewsAPI error rateLimited: You have made too many requests recently. (HTTP 429)",
        ),
        (
            _response('{"status":"ok","totalResults":2,"articles":[{"source":'),
            "NewsAPI body is not valid JSON",
        ),
        (_response('{"status":"ok","totalResults":0}'), "NewsAPI body has no 'articles' list"),
        (
            _response("<html><body>Bad gateway</body></html>", content_type="text/html"),
            "NewsAPI body is an HTML page",
        ),
    ],
)
def test_newsapi_bad_bodies_are_one_reject(response: HttpResponse, reason: str) -> None:
    connector = NewsApiEverything(NEWSAPI_KEY)
    result = connector.parse(_first_request(connector), response)
    assert result.events == []
    (reject,) = result.rejects
    assert reject.reason.startswith(reason)
    assert NEWSAPI_KEY not in reject.reason


# --- GNews -------------------------------------------------------------------------------------


def test_gnews_requests_and_parses_the_documented_shape() -> None:
    connector = GNewsSearch(GNEWS_KEY, {"Arsenal": "soccer_epl", "NFL": "americanfootball_nfl"})
    requests = connector.requests(CTX)
    assert [(r.url, dict(r.params)) for r in requests] == [
        ("https://gnews.io/api/v4/search", {"q": "Arsenal", "lang": "en", "max": "10"}),
        ("https://gnews.io/api/v4/search", {"q": "NFL", "lang": "en", "max": "10"}),
    ]
    assert all(dict(r.secret_params) == {"apikey": GNEWS_KEY} for r in requests)
    assert GNEWS_KEY not in repr(connector)

    result = connector.parse(requests[1], _fixture("gnews_search.json"))
    assert result.rejects == []
    records = _valid(result)
    arteta = records["https://www.theguardian.com/football/2024/mar/29/arteta-arsenal-manchester-city-test"]
    assert (arteta["source"], arteta["outlet"], arteta["published_at"]) == (
        "gnews",
        "The Guardian",
        "2024-03-29T14:30:00.000000Z",
    )
    # the request's sport family narrows mentions; these are soccer teams and the query was NFL
    assert arteta["team_ids"] == [] and arteta["sport"] == "americanfootball_nfl"

    chiefs = records["https://www.espn.com/nfl/story/_/id/39712345/chiefs-agree-deal-marquise-brown"]
    assert (chiefs["team_ids"], chiefs["teams"], chiefs["sport"]) == (
        ["nfl-kansas-city-chiefs"],
        ["Kansas City Chiefs"],
        "americanfootball_nfl",
    )

    soccer = _valid(connector.parse(requests[0], _fixture("gnews_search.json")))
    arteta = soccer["https://www.theguardian.com/football/2024/mar/29/arteta-arsenal-manchester-city-test"]
    assert arteta["team_ids"] == ["arsenal", "manchester-city"]
    assert arteta["game_id"] == "2024-03-31:manchester-city:arsenal"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (_fixture("gnews_error.json"), "GNews error: You did not provide an API key."),
        (
            _response('{"errors": {"q": "The query is missing."}}', status=200),
            "GNews error: The query is missing.",
        ),
        (_response('{"totalArticles": 3, "articles": [{"title": "Ars'), "GNews body is not valid JSON"),
        (_response("[]"), "GNews body is a list, not an object"),
    ],
)
def test_gnews_bad_bodies_are_one_reject(response: HttpResponse, reason: str) -> None:
    connector = GNewsSearch(GNEWS_KEY)
    result = connector.parse(_first_request(connector), response)
    assert result.events == []
    (reject,) = result.rejects
    assert reject.reason.startswith(reason)


# --- RSS / Atom --------------------------------------------------------------------------------

BBC = "https://feeds.bbci.co.uk/sport/football/rss.xml"
GUARDIAN_NFL = "https://www.theguardian.com/sport/nfl/rss"


def test_rss_requests_one_per_feed_url() -> None:
    connector = RssFeed({BBC: "soccer", GUARDIAN_NFL: "americanfootball_nfl"})
    requests = connector.requests(CTX)
    assert [(r.url, r.context["sport"]) for r in requests] == [
        (BBC, "soccer"),
        (GUARDIAN_NFL, "americanfootball_nfl"),
    ]
    assert all(not r.params and not r.secret_params for r in requests)
    assert [r.url for r in RssFeed([BBC]).requests(CTX)] == [BBC]
    with pytest.raises(ValueError, match="at least one feed URL"):
        RssFeed([])


def test_rss_items_become_news_records_with_utc_dates() -> None:
    connector = RssFeed([BBC])
    result = connector.parse(_first_request(connector), _fixture("rss_feed.xml", "application/rss+xml"))

    records = _valid(result)
    assert len(records) == 2
    city = records["https://www.bbc.co.uk/sport/football/68694512"]
    assert city["title"] == "Man City v Arsenal: Guardiola says title race 'far from over'"
    assert city["outlet"] == "BBC Sport - Football"
    assert city["published_at"] == "2024-03-29T17:05:12.000000Z"
    assert city["team_ids"] == ["manchester-city", "arsenal"]
    assert city["game_id"] == "2024-03-31:manchester-city:arsenal"
    assert city["source"] == "rss"
    madrid = records["https://www.bbc.co.uk/sport/football/68697001"]
    assert madrid["published_at"] == "2024-03-31T19:58:40.000000Z"  # +0200 converted to UTC
    assert madrid["team_ids"] == ["real-madrid", "athletic-bilbao"]
    assert madrid["sport"] == "soccer_spain_la_liga"
    assert madrid["game_id"] is None
    (reject,) = result.rejects
    assert (
        reject.reason
        == "article https://www.bbc.co.uk/sport/football/68700123 has no readable publication time"
    )
    json.dumps(reject.raw)  # dead-letter payloads must serialise


def test_atom_entries_use_published_then_updated() -> None:
    connector = RssFeed({GUARDIAN_NFL: "americanfootball_nfl"})
    result = connector.parse(_first_request(connector), _fixture("atom_feed.xml", "application/atom+xml"))

    assert result.rejects == []
    records = _valid(result)
    cowboys = records["https://www.theguardian.com/sport/2024/mar/30/dallas-cowboys-backup-quarterback-deal"]
    assert cowboys["published_at"] == "2024-03-30T18:45:00.000000Z"  # only <updated>, +01:00 to UTC
    assert cowboys["team_ids"] == ["nfl-dallas-cowboys"]
    assert cowboys["outlet"] == "The Guardian - NFL"
    kickoff = records["https://www.theguardian.com/sport/2024/mar/26/nfl-new-kickoff-rule-approved"]
    assert kickoff["published_at"] == "2024-03-26T22:10:00.000000Z"  # <published> wins over <updated>
    assert (kickoff["team_ids"], kickoff["sport"]) == ([], "americanfootball_nfl")


def test_an_html_page_instead_of_a_feed_is_one_reject() -> None:
    connector = RssFeed([BBC])
    result = connector.parse(
        _first_request(connector), _fixture("not_a_feed.html", "text/html; charset=utf-8")
    )
    assert result.events == []
    (reject,) = result.rejects
    assert reject.reason.startswith("not an RSS or Atom feed")
    assert "<!DOCTYPE html>" in reject.reason


def test_a_truncated_feed_keeps_complete_items_and_says_it_is_broken() -> None:
    connector = RssFeed([BBC])
    body = (FIXTURES / "rss_feed.xml").read_bytes()[:1400]  # cut inside the third item
    result = connector.parse(_first_request(connector), _response(body, content_type="application/rss+xml"))
    assert len(_valid(result)) == 2
    reasons = [r.reason for r in result.rejects]
    assert reasons[0].startswith("feed XML is malformed")
    assert len(reasons) == 2  # plus the cut-off item


def test_news_connectors_are_discovered_by_name() -> None:
    assert isinstance(build_connector("newsapi", {"api_key": NEWSAPI_KEY}), NewsApiEverything)
    assert isinstance(build_connector("gnews", {"api_key": GNEWS_KEY, "queries": ["Arsenal"]}), GNewsSearch)
    rss = build_connector("rss", {"urls": [BBC]})
    assert isinstance(rss, RssFeed) and (rss.name, rss.feed) == ("rss", "news")
