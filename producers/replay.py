"""Replay of real captured data into Kafka, at original pace, accelerated, or flat out.

* The Odds API capture: parsed by the live connector's own code path.
* ESPN scoreboards: parsed by the ESPN connector.
* football-data.co.uk season CSVs as an odds timeline per match: opening prices two days
  before kick-off, closing prices five minutes before (2019/20 on), then the result.
  football-data gives no collection times, so those offsets are conventions, documented
  here; kick-off is the file's UK/Spanish local time (15:00 local when absent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lakehouse.espn import league_of_body
from lakehouse.football_data import (
    LEAGUES,
    SeasonRows,
    ValidMatches,
    classify_columns,
    get_league,
    handicap_line,
)
from lakehouse.football_data.columns import OddsColumn
from lakehouse.football_data.files import season_files_at
from lakehouse.records import game_event, odds_quote, record_id
from lakehouse.schemas import format_timestamp
from lakehouse.teams import TeamRegistry, get_registry
from producers.base import HttpResponse, ParseResult, PollContext, Reject
from producers.connectors.espn import EspnScoreboard
from producers.connectors.odds_api import TheOddsApi

SOURCE = "football_data"
OPENING_BEFORE = timedelta(days=2)
CLOSING_BEFORE = timedelta(minutes=5)
RESULT_AFTER = timedelta(minutes=115)
DEFAULT_KICKOFF = (15, 0)
"""UK time of a kick-off the file does not state (files before 2019/20 have no Time column)."""


@dataclass(frozen=True)
class TimedRecord:
    feed: str
    record: dict[str, Any]
    at: datetime  # when the record happens on the replayed timeline


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
    """Odds quotes and game events for every match of a season file, in time order.

    The file is named as ``find_season_files`` reads it (``E0_2324.csv``, ``2023-24/E0.csv``, or
    an extra league's ``ARG.csv``, every season in it) and read by the shared football-data
    reader, so a row the batch loader refuses is refused here for the same reason (as a
    ``games`` dead letter); a price cell that is not a number is an ``odds`` dead letter.
    """
    season_files = season_files_at(path, LEAGUES)
    if not season_files:
        raise ValueError(
            f"{path} is not a football-data season file (E0_2324.csv, 2023-24/E0.csv, or ARG.csv of an "
            "extra league)"
        )
    registry = registry or get_registry()
    ingested = format_timestamp(ingested_at or datetime.now(UTC))
    data = path.read_bytes()
    timeline: list[TimedRecord] = []
    rejects: list[Reject] = []
    for season_file in season_files:
        _season_timeline(path, SeasonRows.parse(data, season_file), registry, ingested, timeline, rejects)
    timeline.sort(key=lambda t: t.at)
    return timeline, rejects


def _season_timeline(
    path: Path,
    source: SeasonRows,
    registry: TeamRegistry,
    ingested: str,
    timeline: list[TimedRecord],
    rejects: list[Reject],
) -> None:
    def row_reject(number: int, reason: str, cells: Sequence[str]) -> None:
        row = dict(zip(source.header, cells, strict=False))
        rejects.append(Reject(f"{path.name} row {number}: {reason}", row, SOURCE, feed="games"))

    missing = source.missing_columns()
    if missing:
        rejects.append(Reject(f"{path.name}: no {missing[0]!r} column", None, SOURCE, feed="games"))
        return
    valid = source.valid_matches(registry, row_reject)
    odds_columns, _ = classify_columns(source.header)
    odds_columns = [c for c in odds_columns if c.kind != "composite"]  # Max/Avg are not books
    for i in range(len(valid)):
        timeline.extend(_match_records(source, valid, i, registry, odds_columns, ingested, rejects))


def _match_records(
    source: SeasonRows,
    valid: ValidMatches,
    i: int,
    registry: TeamRegistry,
    columns: list[OddsColumn],
    ingested: str,
    rejects: list[Reject],
) -> Iterator[TimedRecord]:
    league = get_league(source.season_file.league)
    cells = source.cells(valid.positions[i])
    row = dict(zip(source.header, cells, strict=False))
    day = valid.dates[i]
    kickoff = valid.kickoffs[i] or datetime(
        day.year, day.month, day.day, *DEFAULT_KICKOFF, tzinfo=league.tz
    ).astimezone(UTC)
    home, away = valid.home_names[i], valid.away_names[i]
    venue = registry.by_id(valid.home_ids[i]).venue or {}
    source_game_id = f"{league.code}:{row['Date']}:{home}:{away}"
    game = {
        "source": SOURCE,
        "sport": league.sport,
        "ingested_at": ingested,
        "game_id": valid.match_ids[i],
        "source_game_id": source_game_id,
        "competition": league.competition,
        "home_team": home,
        "away_team": away,
        "home_team_id": valid.home_ids[i],
        "away_team_id": valid.away_ids[i],
        "commence_time": format_timestamp(kickoff),
        "venue_name": venue.get("name"),
        "venue_city": venue.get("city"),
        "venue_country": venue.get("country"),
        "venue_lat": venue.get("lat"),
        "venue_lon": venue.get("lon"),
    }
    opening_at = kickoff - OPENING_BEFORE
    yield TimedRecord("games", _game(game, "scheduled", opening_at), opening_at)
    for column in columns:
        price = _price(row.get(column.column))
        if price is None:
            continue
        at = kickoff - (CLOSING_BEFORE if column.phase == "closing" else OPENING_BEFORE)
        quote = _quote(game, column, price, row, at)
        if isinstance(price, str):
            reason = f"price is not a number: {column.column}={price!r}"
            rejects.append(Reject(reason, quote, SOURCE, feed="odds"))
            continue
        yield TimedRecord("odds", quote, at)
    goals = [(row.get(name) or "").strip() for name in ("FTHG", "FTAG")]
    if all(goals):
        final_at = kickoff + RESULT_AFTER
        home_score, away_score = (int(float(g)) for g in goals)
        yield TimedRecord(
            "games",
            _game(game, "final", final_at, home_score=home_score, away_score=away_score, period=2),
            final_at,
        )


def _game(
    game: dict[str, Any],
    status: str,
    at: datetime,
    *,
    home_score: int | None = None,
    away_score: int | None = None,
    period: int | None = None,
) -> dict[str, Any]:
    return game_event(
        event_id=record_id(SOURCE, game["source_game_id"], status),
        event_time=at,
        status=status,
        home_score=home_score,
        away_score=away_score,
        period=period,
        **game,
    )


def _quote(
    game: dict[str, Any], column: OddsColumn, price: float | str, row: dict[str, str], at: datetime
) -> dict[str, Any]:
    point = column.fixed_line
    if column.market == "spreads":
        line = handicap_line(row, column)
        point = None if line is None else (line if column.selection == "home" else -line)
    return odds_quote(
        event_id=record_id(SOURCE, game["source_game_id"], column.column),
        source=SOURCE,
        sport=game["sport"],
        event_time=at,
        ingested_at=game["ingested_at"],
        game_id=game["game_id"],
        source_game_id=game["source_game_id"],
        bookmaker=column.bookmaker,
        bookmaker_title=column.title,
        market=column.market,
        selection=column.selection,
        selection_name={"home": game["home_team"], "away": game["away_team"]}.get(
            column.selection, column.selection.title()
        ),
        price=price,
        point=point,
        is_exchange=column.kind == "exchange",
        last_update=at,
        home_team=game["home_team"],
        away_team=game["away_team"],
        commence_time=game["commence_time"],
    )


def odds_api_capture(path: Path, registry: TeamRegistry | None = None) -> ParseResult:
    """The captured Odds API body, through the live connector's parser."""
    return TheOddsApi(registry=registry).parse_events(json.loads(path.read_text()))


def espn_capture(path: Path, league: str | None = None, registry: TeamRegistry | None = None) -> ParseResult:
    """A captured ESPN scoreboard body, through the live connector's parser.

    The league is `league` (``basketball/wnba``), else what the body's own `leagues` block says.
    """
    body = load_json_bytes(path)
    league = league or league_of_body(body)
    if league is None:
        raise ValueError(
            f"which ESPN league is {path.name}? pass --league <sport>/<league>, e.g. basketball/wnba"
        )
    connector = EspnScoreboard(leagues=[league], registry=registry)
    request = connector.requests(PollContext(now=datetime.now(UTC)))[0]
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return connector.parse(
        request, HttpResponse(200, {"content-type": "application/json"}, path.read_bytes(), mtime)
    )


def espn_capture_league(path: Path) -> str | None:
    """The `{sport}/{league}` a captured scoreboard says it is, or None."""
    try:
        return league_of_body(load_json_bytes(path))
    except ValueError:
        return None


def is_espn_scoreboard(path: Path) -> bool:
    """Whether a captured ESPN body is a scoreboard (teams and other responses are not replayed)."""
    try:
        body = load_json_bytes(path)
    except ValueError:
        return True  # a broken capture is replayed, so its error is reported, not skipped
    return isinstance(body, dict) and "events" in body


def load_json_bytes(path: Path) -> Any:
    """A captured JSON body (UTF-8, with or without the BOM some saved captures carry)."""
    return json.loads(path.read_bytes().decode("utf-8-sig"))


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
            if start_wall is None or start_at is None:
                start_wall, start_at = clock(), item.at
            due = start_wall + (item.at - start_at).total_seconds() / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        yield item
