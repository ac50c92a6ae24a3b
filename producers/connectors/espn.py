"""ESPN's public scoreboard (`site.api.espn.com/.../{sport}/{league}/scoreboard`) -> `games` records.

One record per event per poll: a snapshot of schedule, state and score.  Teams are resolved
through the team registry (ESPN id first, since names drift, then the name); a team that does
not resolve is rejected with the reason rather than guessed, because a wrong canonical id
would silently join odds to the wrong game.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lakehouse.espn import BASE_URL, REGISTRY_SPORTS, SPORT_KEYS, espn_path
from lakehouse.schemas import GAME_EVENT, GameStatus, format_timestamp
from lakehouse.teams import AmbiguousTeamError, Team, TeamRegistry, UnknownTeamError, game_id, get_registry
from producers.base import HttpRequest, HttpResponse, ParseResult, PollContext, Reject
from producers.connectors._common import body_reject, load_json_body, parse_timestamp, stable_id

SOURCE = "espn"
SCHEMA_VERSION = GAME_EVENT.schema_version
DEFAULT_LEAGUES = ("soccer/eng.1", "soccer/esp.1", "soccer/usa.1", "football/nfl")


@dataclass(frozen=True)
class _League:
    slug: str  # ESPN league slug, e.g. "eng.1"
    name: str  # ESPN's display name, so records read the same whichever endpoint sent them


SOCCER_LEAGUE_IDS: dict[str, _League] = {
    "700": _League("eng.1", "English Premier League"),
    "3914": _League("eng.2", "English League Championship"),
    "8097": _League("eng.w.1", "English Women's Super League"),
    "740": _League("esp.1", "Spanish LALIGA"),
    "720": _League("ger.1", "German Bundesliga"),
    "730": _League("ita.1", "Italian Serie A"),
    "710": _League("fra.1", "French Ligue 1"),
    "770": _League("usa.1", "Major League Soccer"),
    "8301": _League("usa.nwsl", "National Women's Soccer League"),
    "760": _League("mex.1", "Mexican Liga BBVA MX"),
}
"""ESPN numeric league id (the `l:` part of an event uid) -> league, for the multi-league
`soccer/all` scoreboard whose events carry no league slug (ids read off the captured bodies)."""

_UID_LEAGUE = re.compile(r"(?:^|~)l:(\d+)")


_STATUS_BY_NAME = {
    "STATUS_POSTPONED": GameStatus.POSTPONED,
    "STATUS_CANCELED": GameStatus.CANCELLED,
    "STATUS_CANCELLED": GameStatus.CANCELLED,
}


# Breaks in play: ESPN keeps showing the clock it stopped at ("0:00" at half time); the detail
# ("Halftime", "End of 3rd") says where the game is, and the stopped clock is dropped.
_BREAKS = frozenset(
    {"STATUS_HALFTIME", "STATUS_END_PERIOD", "STATUS_END_OF_REGULATION", "STATUS_END_OF_EXTRATIME"}
)
# Sports played without a clock: the inning and its half are in the detail ("Top 9th").
_CLOCKLESS = frozenset({"baseball"})


class _EventError(ValueError):
    """One event cannot become a record; the message is the reject reason."""


def map_status(state: str | None, name: str | None, completed: bool | None) -> GameStatus:
    """ESPN `status.type` -> canonical status; anything not clearly one of ours is refused.

    Postponed/cancelled are recognised by name because ESPN reports them with state "post",
    like a finished game; "post" without `completed` (abandoned, forfeit, ...) is refused
    rather than called final.
    """
    if name in _STATUS_BY_NAME:
        return _STATUS_BY_NAME[name]
    if state == "pre":
        return GameStatus.SCHEDULED
    if state == "in":
        return GameStatus.LIVE
    if state == "post" and completed is True:
        return GameStatus.FINAL
    raise _EventError(f"unmapped ESPN status {name!r} (state {state!r}, completed {completed!r})")


def _score(competitor: Mapping[str, Any]) -> int | None:
    raw = competitor.get("score")
    if isinstance(raw, Mapping):  # some ESPN endpoints send {"value": 2.0, "displayValue": "2"}
        raw = raw.get("value", raw.get("displayValue"))
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _EventError(f"score {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise _EventError(f"score {raw!r} is not a non-negative whole number")
    return int(value)


def _parse_time(value: Any, what: str) -> datetime:
    parsed = parse_timestamp(value)
    if parsed is None:
        raise _EventError(f"{what} {value!r} is not an ISO timestamp with a zone")
    return parsed


class EspnScoreboard:
    """Scoreboards for several ESPN leagues, in any sport, through one connector.

    `leagues` are ESPN `{sport}/{league}` paths; `soccer/all` is the multi-league soccer
    scoreboard, whose events are mapped to a league by the id in their uid.  `sport_keys`
    extends `SPORT_KEYS` for leagues added later.
    """

    name = SOURCE
    feed = "games"

    def __init__(
        self,
        leagues: Sequence[str] = DEFAULT_LEAGUES,
        base_url: str = BASE_URL,
        registry: TeamRegistry | None = None,
        sport_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.sport_keys = {**SPORT_KEYS, **{espn_path(k): v for k, v in (sport_keys or {}).items()}}
        leagues = [espn_path(path) for path in leagues]
        for path in leagues:
            parts = path.split("/")
            if len(parts) != 2 or not all(parts):
                raise ValueError(
                    f"ESPN league {path!r} must look like '<sport>/<league>', e.g. 'soccer/eng.1'"
                )
            if parts[0] not in REGISTRY_SPORTS:
                raise ValueError(
                    f"ESPN sport {parts[0]!r} in {path!r} is not one of {', '.join(REGISTRY_SPORTS)}"
                )
            if parts[1] != "all" and path not in self.sport_keys:
                raise ValueError(
                    f"ESPN league {path!r} has no sport-key mapping; pass sport_keys={{{path!r}: '...'}}"
                )
        self.leagues = tuple(leagues)
        self.base_url = base_url.rstrip("/")
        self._registry = registry

    @property
    def registry(self) -> TeamRegistry:
        if self._registry is None:  # loaded on first use so building a connector stays cheap
            self._registry = get_registry()
        return self._registry

    def __repr__(self) -> str:
        return f"EspnScoreboard(leagues={self.leagues!r})"

    def requests(self, ctx: PollContext) -> list[HttpRequest]:
        out = []
        for path in self.leagues:
            sport, league = path.split("/")
            out.append(
                HttpRequest(
                    url=f"{self.base_url}/{path}/scoreboard", context={"sport": sport, "league": league}
                )
            )
        return out

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult:
        body, error = load_json_body(response, "ESPN")
        if error:
            return body_reject(error, response, SOURCE)
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            keys = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
            return body_reject(f"ESPN scoreboard has no 'events' list (got {keys})", response, SOURCE)
        espn_sport = str(request.context.get("sport", ""))
        sport = REGISTRY_SPORTS.get(espn_sport, espn_sport)
        league = str(request.context.get("league", ""))
        observed = format_timestamp(response.fetched_at)
        result = ParseResult()
        context = {"league": f"{espn_sport}/{league}"}
        for event in body["events"]:
            try:
                competition_name, sport_key = self._league_of(event, body, espn_sport, league)
                record = self._record(event, sport, competition_name, sport_key, observed)
            except _EventError as exc:
                result.rejects.append(Reject(str(exc), event, SOURCE, context=context))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a shape we did not foresee
                event_ref = event.get("id") if isinstance(event, dict) else None
                reason = f"malformed ESPN event {event_ref}: {type(exc).__name__}: {exc}"
                result.rejects.append(Reject(reason, event, SOURCE, context=context))
            else:
                result.events.append(record)
        return result

    def _league_of(self, event: Any, body: Mapping[str, Any], sport: str, league: str) -> tuple[str, str]:
        """(competition name as ESPN names it, Odds API sport key) for one event."""
        if league != "all":
            sent = body.get("leagues")
            name = (
                sent[0].get("name") if isinstance(sent, list) and sent and isinstance(sent[0], dict) else None
            )
            return str(name or league), self.sport_keys[f"{sport}/{league}"]
        uid = event.get("uid", "") if isinstance(event, dict) else ""
        match = _UID_LEAGUE.search(str(uid))
        if not match:
            raise _EventError(f"cannot tell the league of ESPN event (uid {uid!r} has no league id)")
        known = SOCCER_LEAGUE_IDS.get(match.group(1)) if sport == "soccer" else None
        if known is None:
            raise _EventError(f"unknown ESPN {sport} league id {match.group(1)} (uid {uid!r})")
        path = f"{sport}/{known.slug}"
        if path not in self.sport_keys:
            raise _EventError(f"league {path} ({known.name}) has no sport-key mapping: not tracked")
        return known.name, self.sport_keys[path]

    def _record(
        self, event: Any, sport: str, competition_name: str, sport_key: str, observed: str
    ) -> dict[str, Any]:
        if not isinstance(event, dict) or not event.get("id"):
            raise _EventError("ESPN event has no id")
        competitions = event.get("competitions")
        if not isinstance(competitions, list) or not competitions or not isinstance(competitions[0], dict):
            raise _EventError(f"ESPN event {event['id']} has no competitions")
        comp = competitions[0]
        sides = {c.get("homeAway"): c for c in comp.get("competitors") or [] if isinstance(c, dict)}
        if "home" not in sides or "away" not in sides:
            raise _EventError(f"ESPN event {event['id']} lacks a home and an away competitor")
        home, away = sides["home"], sides["away"]
        resolved: dict[str, Team] = {}
        unknown: list[str] = []
        for side, competitor in (("home", home), ("away", away)):
            try:
                resolved[side] = self._team(competitor, sport, sport_key)
            except _EventError as exc:  # both sides are named, so one fix covers the event
                unknown.append(f"{side} {exc}")
        if unknown:
            raise _EventError("; ".join(unknown))
        home_team, away_team = resolved["home"], resolved["away"]

        status_block = event.get("status") or comp.get("status") or {}
        type_ = status_block.get("type") or {}
        status = map_status(type_.get("state"), type_.get("name"), type_.get("completed"))
        commence = _parse_time(comp.get("date") or event.get("date"), "start time")
        in_play = status in (GameStatus.LIVE, GameStatus.FINAL)
        period = status_block.get("period") if in_play else None
        clock = status_block.get("displayClock") if in_play else None
        if type_.get("name") in _BREAKS or sport in _CLOCKLESS:
            clock = None
        detail = type_.get("shortDetail") or type_.get("detail") if status != GameStatus.SCHEDULED else None
        home_score = _score(home) if in_play else None
        away_score = _score(away) if in_play else None

        venue = comp.get("venue") or {}
        address = venue.get("address") or {}
        venue_name = venue.get("fullName") or (event.get("venue") or {}).get("displayName")
        ground = _home_ground(home_team, comp, venue_name, address.get("city"))
        commence_ts = format_timestamp(commence)
        return {
            "event_id": stable_id(
                SOURCE, event["id"], status, commence_ts, period, clock, home_score, away_score, detail
            ),
            "source": SOURCE,
            "sport": sport_key,
            "event_time": observed,
            "ingested_at": observed,
            "schema_version": SCHEMA_VERSION,
            "game_id": game_id(commence, home_team.team_id, away_team.team_id, sport=sport_key),
            "source_game_id": str(event["id"]),
            "competition": competition_name,
            "home_team": _display_name(home),
            "away_team": _display_name(away),
            "home_team_id": home_team.team_id,
            "away_team_id": away_team.team_id,
            "commence_time": commence_ts,
            "status": status.value,
            "period": int(period) if isinstance(period, int | float) else None,
            "clock": str(clock) if clock is not None else None,
            "home_score": home_score,
            "away_score": away_score,
            "venue_name": venue_name,
            "venue_city": address.get("city"),
            "venue_country": address.get("country") or (ground or {}).get("country"),
            "venue_lat": _coordinate(ground, "lat"),
            "venue_lon": _coordinate(ground, "lon"),
            "status_detail": detail,
        }

    def _team(self, competitor: Mapping[str, Any], sport: str, sport_key: str) -> Team:
        """By ESPN id (stable across renames), else by name as an ESPN alias; never a guess."""
        espn_id = str(competitor.get("id") or (competitor.get("team") or {}).get("id") or "").strip()
        name = _display_name(competitor)
        if not name and not espn_id:
            raise _EventError("competitor has neither a team name nor an ESPN id")
        label = f"unmatched team {name!r} (espn id {espn_id or '?'})"
        try:
            if espn_id:
                team = self.registry.resolve_espn(
                    espn_id, sport=sport, name=name or None, competition=sport_key
                )
            else:
                team = self.registry.resolve(name, source=SOURCE, sport=sport)
        except (UnknownTeamError, AmbiguousTeamError) as exc:
            raise _EventError(f"{label}: {exc}") from None
        if espn_id not in team.espn_ids and sport_key not in team.competitions:
            # Matched by name only, outside the team's known leagues: ESPN names women's and
            # youth sides like the club ("Arsenal"), so this would be a guess, not a match.
            raise _EventError(
                f"{label}: the name matches {team.team_id!r}, which is not known in {sport_key}; "
                "add the ESPN id to the team registry"
            )
        return team


def _display_name(competitor: Mapping[str, Any]) -> str:
    team = competitor.get("team") or {}
    return str(team.get("displayName") or team.get("name") or "")


def _home_ground(
    team: Team, comp: Mapping[str, Any], venue_name: str | None, venue_city: str | None
) -> Mapping[str, Any] | None:
    """The registry's venue for the home team, when the game is plainly played there.

    Its coordinates feed the weather look-ups, so they are used only if the game is not at a
    neutral site and ESPN's venue matches the registry's by name or city (a new stadium in the
    same city is close enough for weather; a game moved to another city is not).
    """
    ground = team.venue
    if not ground or comp.get("neutralSite"):
        return None
    if not venue_name and not venue_city:
        return ground

    def same(a: Any, b: Any) -> bool:
        return (
            bool(a and b)
            and str(a).split(",")[0].strip().casefold() == str(b).split(",")[0].strip().casefold()
        )

    return ground if same(venue_name, ground.get("name")) or same(venue_city, ground.get("city")) else None


def _coordinate(venue: Mapping[str, Any] | None, axis: str) -> float | None:
    if not venue:
        return None
    names = ("lat", "latitude") if axis == "lat" else ("lon", "lng", "longitude")
    for key in names:
        value = venue.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
