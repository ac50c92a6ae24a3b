"""Sports news from NewsAPI, GNews and RSS/Atom feeds -> `news` records tagged with teams.

Articles are linked to teams by `TeamRegistry.mentioned_in(title + description)`.  An article
that mentions no tracked team is still emitted, with empty `team_ids`/`teams`: the feed is a
news archive first, and linking can be redone later from the stored text, whereas a skipped
article is gone.

`sport` is the first mentioned team's competition key, else the sport the query or feed was
configured for, else `unknown` (a valid key that reads plainly as "not linked"; guessing
"soccer" would put NFL stories in the soccer partition).  `game_id` is set only when exactly
one tracked game involving a mentioned team kicks off within 3 days of publication.
"""

from __future__ import annotations

import calendar
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import feedparser

from lakehouse.schemas import format_timestamp
from lakehouse.schemas.events import KEY_PATTERN
from lakehouse.teams import Team, TeamRegistry, get_registry
from producers.base import HttpRequest, HttpResponse, ParseResult, PollContext, Reject
from producers.connectors._common import (
    MAX_RAW_CHARS,
    UNKNOWN_SPORT,
    MissingApiKeyError,
    body_reject,
    load_json_body,
    parse_timestamp,
    stable_id,
)

SCHEMA_VERSION = 1
NEWSAPI_URL = "https://newsapi.org/v2/everything"
GNEWS_URL = "https://gnews.io/api/v4/search"
DEFAULT_QUERIES: Mapping[str, str] = {
    '"Premier League"': "soccer_epl",
    '"La Liga"': "soccer_spain_la_liga",
    "MLS": "soccer_usa_mls",
    "NFL": "americanfootball_nfl",
}
"""Query -> sport key the results default to when they mention no tracked team."""
_QUERY_SPORTS = {
    "premier league": "soccer_epl",
    "english premier league": "soccer_epl",
    "la liga": "soccer_spain_la_liga",
    "laliga": "soccer_spain_la_liga",
    "mls": "soccer_usa_mls",
    "major league soccer": "soccer_usa_mls",
    "nfl": "americanfootball_nfl",
}
"""Plain queries that name a competition imply its sport key (the YAML schedule lists plain queries)."""
GAME_WINDOW = timedelta(days=3)

_KEY = re.compile(KEY_PATTERN)
# Problems feedparser flags that leave the feed fully read.
_BENIGN_FEED_PROBLEMS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_TAG = re.compile(r"<[^>]+>")

Queries = Sequence[str] | Mapping[str, str]
"""Plain queries, or query -> sport key for results that mention no tracked team."""


def _as_hints(items: Queries | None, default: Mapping[str, str]) -> dict[str, str | None]:
    """query/URL -> sport fallback; a plain query naming a known competition gets its key."""
    if items is None:
        return dict(default)
    if isinstance(items, Mapping):
        return {str(k): (str(v) if v else None) for k, v in items.items()}
    if isinstance(items, str):  # a lone string would otherwise become one query per character
        items = [items]
    return {str(q): _QUERY_SPORTS.get(str(q).strip('"').strip().casefold()) for q in items}


def _slim_games(ctx: PollContext) -> tuple[dict[str, Any], ...]:
    """Just what game linking needs, so request contexts stay small and free of payloads."""
    out = []
    for game in ctx.upcoming_games:
        kickoff = game.get("commence_time")
        if isinstance(kickoff, datetime):
            kickoff = format_timestamp(kickoff) if kickoff.tzinfo else None
        if game.get("game_id") and kickoff:
            out.append(
                {
                    "game_id": game["game_id"],
                    "home_team_id": game.get("home_team_id"),
                    "away_team_id": game.get("away_team_id"),
                    "commence_time": kickoff,
                }
            )
    return tuple(out)


def _plain(text: str | None) -> str:
    return html.unescape(_TAG.sub(" ", text or "")).strip()


def _family(sport_key: str | None) -> str | None:
    return sport_key.split("_", 1)[0] if sport_key else None


def _team_sport_key(team: Team) -> str | None:
    for key in (*team.competitions, team.sport):
        if isinstance(key, str) and _KEY.match(key):
            return key
    return None


def _outlet(name: Any, url: str) -> str:
    if isinstance(name, str) and name.strip():
        return name.strip()
    return urlparse(url).netloc or url  # the publisher's host names the outlet without guessing


class _ArticleLinker:
    """Shared by the three news connectors: teams, sport, game and the record itself."""

    name: str

    def __init__(self, registry: TeamRegistry | None) -> None:
        self._registry = registry

    @property
    def registry(self) -> TeamRegistry:
        if self._registry is None:  # loaded on first use so building a connector stays cheap
            self._registry = get_registry()
        return self._registry

    def article(
        self,
        context: Mapping[str, Any],
        *,
        url: Any,
        title: Any,
        description: Any,
        published_at: datetime | None,
        outlet: Any,
        ingested: str,
    ) -> dict[str, Any]:
        """One canonical record, or ValueError with the reject reason."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"article has no http(s) url (got {url!r})")
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"article {url} has no title")
        if title.strip() == "[Removed]":  # NewsAPI's placeholder for withdrawn articles
            raise ValueError(f"article {url} was removed at the source")
        if published_at is None:
            raise ValueError(f"article {url} has no readable publication time")
        description = description if isinstance(description, str) and description.strip() else None
        hint = context.get("sport")
        mentioned = self.registry.mentioned_in(f"{_plain(title)} {_plain(description)}", sport=_family(hint))
        teams = list({team.team_id: team for team in mentioned}.values())  # de-duplicated, in order
        sport = (_team_sport_key(teams[0]) if teams else None) or hint or UNKNOWN_SPORT
        published = format_timestamp(published_at)
        return {
            "event_id": stable_id(self.name, url),
            "source": self.name,
            "sport": sport,
            "event_time": published,
            "ingested_at": ingested,
            "schema_version": SCHEMA_VERSION,
            "article_id": stable_id(url),
            "url": url,
            "title": title.strip(),
            "description": description,
            "published_at": published,
            "outlet": _outlet(outlet, url),
            "team_ids": [t.team_id for t in teams],
            "teams": [t.name for t in teams],
            "game_id": _game_for(context.get("upcoming_games", ()), teams, published_at),
        }

    def json_articles(
        self,
        request: HttpRequest,
        response: HttpResponse,
        provider: str,
        api_error: Callable[[Mapping[str, Any]], str | None],
    ) -> ParseResult:
        """NewsAPI and GNews share the article shape: url, title, description, publishedAt, source.name."""
        body, error = load_json_body(response, provider)
        if error and response.status >= 400:  # prefer the provider's own words for an HTTP error
            try:
                detail = json.loads(response.text)
            except json.JSONDecodeError:
                detail = None
            stated = api_error(detail) if isinstance(detail, dict) else None
            error = f"{stated} (HTTP {response.status})" if stated else error
        if error is None:
            if not isinstance(body, dict):
                error = f"{provider} body is a {type(body).__name__}, not an object"
            elif (error := api_error(body)) is None and not isinstance(body.get("articles"), list):
                error = f"{provider} body has no 'articles' list (keys {sorted(body)[:10]})"
        if error:
            return body_reject(error, response, self.name, request)
        ingested = format_timestamp(response.fetched_at)
        result = ParseResult()
        for raw in body["articles"]:
            try:
                if not isinstance(raw, dict):
                    raise ValueError(f"article is a {type(raw).__name__}, not an object")
                record = self.article(
                    request.context,
                    url=raw.get("url"),
                    title=raw.get("title"),
                    description=raw.get("description"),
                    published_at=parse_timestamp(raw.get("publishedAt")),
                    outlet=(raw.get("source") or {}).get("name"),
                    ingested=ingested,
                )
            except (AttributeError, TypeError, ValueError) as exc:
                result.rejects.append(Reject(str(exc), raw, self.name))
            else:
                result.events.append(record)
        return result


def _game_for(games: Any, teams: Sequence[Team], published_at: datetime) -> str | None:
    ids = {t.team_id for t in teams}
    found = set()
    for game in games or ():
        kickoff = parse_timestamp(game.get("commence_time"))
        involved = game.get("home_team_id") in ids or game.get("away_team_id") in ids
        if involved and kickoff is not None and abs(kickoff - published_at) <= GAME_WINDOW:
            found.add(game["game_id"])
    return found.pop() if len(found) == 1 else None


class NewsApiEverything(_ArticleLinker):
    """NewsAPI `/v2/everything`, newest first, one request per query.

    `queries` maps each query to the sport key its untagged results fall back to; a plain list
    gets one only for queries naming a known competition.  The key travels in `secret_params` only.
    """

    name = "newsapi"
    feed = "news"

    def __init__(
        self,
        api_key: str | None = None,
        queries: Queries | None = None,
        *,
        page_size: int = 50,
        base_url: str = NEWSAPI_URL,
        registry: TeamRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self._api_key = api_key
        self.queries = _as_hints(queries, DEFAULT_QUERIES)
        self.page_size = page_size
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"NewsApiEverything(api_key={'***' if self._api_key else None}, queries={list(self.queries)})"

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        if not self._api_key:
            raise MissingApiKeyError("NewsAPI needs an API key: set LAKEHOUSE_NEWSAPI_KEY")
        games = _slim_games(ctx)
        return [
            HttpRequest(
                url=self.base_url,
                params={"q": q, "language": "en", "sortBy": "publishedAt", "pageSize": str(self.page_size)},
                secret_params={"apiKey": self._api_key},
                context={"query": q, "sport": hint, "upcoming_games": games},
            )
            for q, hint in self.queries.items()
        ]

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        return self.json_articles(request, response, "NewsAPI", _newsapi_error)


def _newsapi_error(body: Mapping[str, Any]) -> str | None:
    """`{"status": "error", "code": "apiKeyInvalid", "message": ...}`; anything but "ok" is refused."""
    if body.get("status") == "error":
        return f"NewsAPI error {body.get('code', '?')}: {body.get('message', 'no message')}"
    if body.get("status") != "ok":
        return f"NewsAPI status is {body.get('status')!r}, expected 'ok'"
    return None


class GNewsSearch(_ArticleLinker):
    """GNews `/api/v4/search`, one request per query; same query -> sport fallback as NewsAPI."""

    name = "gnews"
    feed = "news"

    def __init__(
        self,
        api_key: str | None = None,
        queries: Queries | None = None,
        *,
        max_articles: int = 10,
        base_url: str = GNEWS_URL,
        registry: TeamRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self._api_key = api_key
        self.queries = _as_hints(queries, DEFAULT_QUERIES)
        self.max_articles = max_articles  # the free plan caps a search at 10
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"GNewsSearch(api_key={'***' if self._api_key else None}, queries={list(self.queries)})"

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        if not self._api_key:
            raise MissingApiKeyError("GNews needs an API key: set LAKEHOUSE_GNEWS_KEY")
        games = _slim_games(ctx)
        return [
            HttpRequest(
                url=self.base_url,
                params={"q": q, "lang": "en", "max": str(self.max_articles)},
                secret_params={"apikey": self._api_key},
                context={"query": q, "sport": hint, "upcoming_games": games},
            )
            for q, hint in self.queries.items()
        ]

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        return self.json_articles(request, response, "GNews", _gnews_error)


def _gnews_error(body: Mapping[str, Any]) -> str | None:
    """`{"errors": ["..."]}` (or a field -> message object) instead of articles."""
    errors = body.get("errors")
    if not errors:
        return None
    items = list(errors.values()) if isinstance(errors, dict) else errors
    return "GNews error: " + "; ".join(map(str, items if isinstance(items, list) else [items]))


class RssFeed(_ArticleLinker):
    """RSS 2.0 / Atom feeds, one request per URL, read with feedparser.

    `urls` may map each feed to the sport key its untagged items fall back to, e.g.
    `{"https://feeds.bbci.co.uk/sport/football/rss.xml": "soccer"}`.
    """

    name = "rss"
    feed = "news"

    def __init__(self, urls: Queries, *, registry: TeamRegistry | None = None) -> None:
        super().__init__(registry)
        self.urls = _as_hints(urls, {})
        if not self.urls:
            raise ValueError("RssFeed needs at least one feed URL")

    def __repr__(self) -> str:
        return f"RssFeed(urls={list(self.urls)})"

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        games = _slim_games(ctx)
        return [
            HttpRequest(url=url, context={"feed_url": url, "sport": hint, "upcoming_games": games})
            for url, hint in self.urls.items()
        ]

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        if response.status >= 400:
            return body_reject(f"RSS feed answered HTTP {response.status}", response, self.name)
        parsed = feedparser.parse(response.body, response_headers=dict(response.headers))
        if not parsed.get("version"):
            problem = parsed.get("bozo_exception")
            start = response.text.lstrip()[:80]
            return body_reject(
                f"not an RSS or Atom feed ({type(problem).__name__ if problem else 'no feed element'}:"
                f" {problem or 'nothing feed-like found'}); starts {start!r}",
                response,
                self.name,
            )
        channel = parsed.get("feed", {})
        ingested = format_timestamp(response.fetched_at)
        result = ParseResult()
        problem = parsed.get("bozo_exception")
        if parsed.get("bozo") and not isinstance(problem, _BENIGN_FEED_PROBLEMS):
            # feedparser falls back to a lenient parser: keep the complete entries, but record
            # that the feed is broken (often truncated) so the loss is visible.
            reason = (
                f"feed XML is malformed ({problem}); read {len(parsed.get('entries', []))} entries leniently"
            )
            result.rejects.append(Reject(reason, response.text[:MAX_RAW_CHARS], self.name))
        for entry in parsed.get("entries", []):
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            source = entry.get("source") or {}
            try:
                result.events.append(
                    self.article(
                        request.context,
                        url=entry.get("link"),
                        title=entry.get("title"),
                        description=entry.get("summary"),
                        # feedparser normalises every date format to a UTC struct_time
                        published_at=datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None,
                        outlet=source.get("title") or channel.get("title"),
                        ingested=ingested,
                    )
                )
            except (AttributeError, TypeError, ValueError) as exc:
                result.rejects.append(Reject(str(exc), _entry_raw(entry), self.name))
        return result


def _entry_raw(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-friendly part of a feedparser entry (its struct_times are not serialisable)."""
    keys = ("id", "link", "title", "summary", "published", "updated", "author")
    return {k: entry.get(k) for k in keys if entry.get(k) is not None}
