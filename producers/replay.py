"""Replay of real captured data into Kafka, at original pace, accelerated, or flat out.

* The Odds API capture: parsed by the live connector's own code path.
* ESPN scoreboards: parsed by the ESPN connector.
* football-data.co.uk season CSVs as an odds timeline per match: opening prices two days
  before kick-off, closing prices five minutes before (2019/20 on), then the result.
  football-data gives no collection times, so those offsets are conventions, documented
  here; kick-off is the file's UK/Spanish local time (15:00 local when absent).
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lakehouse.football_data import OddsColumn, classify_columns, handicap_line
from lakehouse.schemas import format_timestamp
from lakehouse.teams import TeamRegistry, football_data_date, game_id, get_registry
from producers.base import HttpResponse, ParseResult, PollContext, Reject
from producers.connectors.espn import EspnScoreboard
from producers.connectors.odds_api import TheOddsApi

SOURCE = "football_data"
OPENING_BEFORE = timedelta(days=2)
CLOSING_BEFORE = timedelta(minutes=5)
RESULT_AFTER = timedelta(minutes=115)
DIVISIONS = {  # Div -> (sport key, competition, local time zone)
    "E0": ("soccer_epl", "English Premier League", ZoneInfo("Europe/London")),
    "SP1": ("soccer_spain_la_liga", "La Liga", ZoneInfo("Europe/Madrid")),
}


@dataclass(frozen=True)
class TimedRecord:
    feed: str
    record: dict[str, Any]
    at: datetime  # when the record happens on the replayed timeline


def _id(*parts: Any) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()


def _kickoff(row: dict[str, str], tz: ZoneInfo, season: str | None) -> datetime:
    day = football_data_date(row["Date"], row.get("Time"), season=season)
    hour, minute = 15, 0
    if (row.get("Time") or "").strip():
        hour, minute = (int(x) for x in row["Time"].strip().split(":")[:2])
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


def _price(text: str | None) -> float | str | None:
    """A float, None for an empty cell, or the offending text (a reject, never a number)."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def football_data_timeline(
    path: Path, registry: TeamRegistry | None = None, ingested_at: datetime | None = None
) -> tuple[list[TimedRecord], list[Reject]]:
    """Odds quotes and game events for every match of one season file, in time order."""
    registry = registry or get_registry()
    ingested = format_timestamp(ingested_at or datetime.now(UTC))
    season = path.stem.split("_")[-1] if "_" in path.stem else None  # E0_0405 -> "0405"
    timeline: list[TimedRecord] = []
    rejects: list[Reject] = []
    with path.open(encoding="latin-1", newline="") as fh:
        reader = csv.DictReader(fh)
        odds_columns, _ = classify_columns(reader.fieldnames or [])
        odds_columns = [c for c in odds_columns if c.kind != "composite"]  # Max/Avg are not books
        for row in reader:
            if not any((v or "").strip() for v in row.values()):
                continue  # blank trailing lines
            try:
                timeline.extend(_match_records(row, odds_columns, registry, ingested, rejects, season))
            except (KeyError, ValueError) as exc:
                what = f"{row.get('Date')} {row.get('HomeTeam')} v {row.get('AwayTeam')}"
                rejects.append(Reject(f"{path.name}: bad row ({what}): {exc}", row, SOURCE))
    timeline.sort(key=lambda t: t.at)
    return timeline, rejects


def _match_records(
    row: dict[str, str],
    columns: list[OddsColumn],
    registry: TeamRegistry,
    ingested: str,
    rejects: list[Reject],
    season: str | None,
) -> Iterator[TimedRecord]:
    sport, competition, tz = DIVISIONS[row["Div"]]
    home, away = row["HomeTeam"].strip(), row["AwayTeam"].strip()
    home_team, why_home = registry.try_resolve(home, source=SOURCE, sport="soccer")
    away_team, why_away = registry.try_resolve(away, source=SOURCE, sport="soccer")
    if home_team is None or away_team is None:
        raise ValueError(f"unmatched team: {why_home or why_away}")
    kickoff = _kickoff(row, tz, season)
    gid = game_id(kickoff, home_team.team_id, away_team.team_id)
    source_game_id = f"{row['Div']}:{row['Date']}:{home}:{away}"
    base = {"source": SOURCE, "sport": sport, "ingested_at": ingested, "schema_version": 1, "game_id": gid}
    game = {
        **base,
        "source_game_id": source_game_id,
        "competition": competition,
        "home_team": home,
        "away_team": away,
        "home_team_id": home_team.team_id,
        "away_team_id": away_team.team_id,
        "commence_time": format_timestamp(kickoff),
        "venue_name": (home_team.venue or {}).get("name"),
        "venue_city": (home_team.venue or {}).get("city"),
        "venue_country": (home_team.venue or {}).get("country"),
        "venue_lat": (home_team.venue or {}).get("lat"),
        "venue_lon": (home_team.venue or {}).get("lon"),
    }
    opening_at = kickoff - OPENING_BEFORE
    yield TimedRecord("games", _game(game, "scheduled", opening_at), opening_at)
    for column in columns:
        price = _price(row.get(column.column))
        if price is None:
            continue
        at = kickoff - (CLOSING_BEFORE if column.phase == "closing" else OPENING_BEFORE)
        quote = _quote(base, game, column, price, row, at)
        if isinstance(price, str):
            rejects.append(Reject(f"price is not a number: {column.column}={price!r}", quote, SOURCE))
            continue
        yield TimedRecord("odds", quote, at)
    if (row.get("FTHG") or "").strip() and (row.get("FTAG") or "").strip():
        final_at = kickoff + RESULT_AFTER
        final = _game(game, "final", final_at)
        final |= {"home_score": int(float(row["FTHG"])), "away_score": int(float(row["FTAG"])), "period": 2}
        yield TimedRecord("games", final, final_at)


def _game(game: dict[str, Any], status: str, at: datetime) -> dict[str, Any]:
    return {
        **game,
        "event_id": _id(SOURCE, game["source_game_id"], status),
        "event_time": format_timestamp(at),
        "status": status,
    }


def _quote(
    base: dict[str, Any],
    game: dict[str, Any],
    column: OddsColumn,
    price: float | str,
    row: dict,
    at: datetime,
) -> dict[str, Any]:
    point = column.fixed_line
    if column.market == "spreads":
        line = handicap_line(row, column)
        point = None if line is None else (line if column.selection == "home" else -line)
    stamp = format_timestamp(at)
    return {
        **base,
        "event_id": _id(SOURCE, game["source_game_id"], column.column),
        "event_time": stamp,
        "source_game_id": game["source_game_id"],
        "bookmaker": column.bookmaker,
        "bookmaker_title": column.title,
        "market": column.market,
        "selection": column.selection,
        "selection_name": {"home": game["home_team"], "away": game["away_team"]}.get(
            column.selection, column.selection.title()
        ),
        "price": price,
        "point": point,
        "is_exchange": column.kind == "exchange",
        "last_update": stamp,
        "previous_price": None,
        "home_team": game["home_team"],
        "away_team": game["away_team"],
        "commence_time": game["commence_time"],
    }


def odds_api_capture(path: Path, registry: TeamRegistry | None = None) -> ParseResult:
    """The captured Odds API body, through the live connector's parser."""
    return TheOddsApi(registry=registry).parse_events(json.loads(path.read_text()))


# Which ESPN scoreboard each captured file is (`{sport}/{league}` as the live connector polls it).
ESPN_CAPTURES = {
    "nfl.json": "americanfootball/nfl",
    "mls.json": "soccer/usa.1",
    "scoreboard_all_leagues.json": "soccer/all",
}


def espn_capture(path: Path, league: str | None = None, registry: TeamRegistry | None = None) -> ParseResult:
    """A captured ESPN scoreboard body, through the live connector's parser."""
    league = league or ESPN_CAPTURES.get(path.name)
    if league is None:
        raise ValueError(f"which ESPN league is {path.name}? pass league='<sport>/<league>'")
    connector = EspnScoreboard(leagues=[league], registry=registry)
    request = connector.requests(PollContext(now=datetime.now(UTC)))[0]
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return connector.parse(
        request, HttpResponse(200, {"content-type": "application/json"}, path.read_bytes(), mtime)
    )


def paced(
    items: Iterable[TimedRecord],
    speed: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[TimedRecord]:
    """Emit on the replayed timeline: speed 1.0 = original pace, 60 = a minute a second, None = flat out."""
    start_wall: float | None = None
    start_at: datetime | None = None
    for item in items:
        if speed:
            if start_wall is None:
                start_wall, start_at = clock(), item.at
            due = start_wall + (item.at - start_at).total_seconds() / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        yield item
