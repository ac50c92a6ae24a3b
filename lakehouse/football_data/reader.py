"""Reading a football-data season file: bytes -> header, rows and the matches they validly describe.

The one reader the batch loader and the replay share, so both accept and refuse the same rows
for the same reasons: encoding (UTF-8 with or without a BOM, else latin-1), dates (``dd/mm/yy``,
``dd/mm/yyyy`` and the scrambled ``yyyy/m/d`` some old files hold, read within the file's
season), kick-off times (UK time), teams (through the registry, never guessed), the division,
and duplicated matches.  Each refused row is reported once through ``on_reject`` with a short
reason; nothing is dropped silently.  An extra-leagues country file is read one season at a time:
the rows of other seasons belong to their own season file, and a row whose ``Season`` names no
season is refused in the file's first season, so that it is reported exactly once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from lakehouse.football_data.columns import normalise_header
from lakehouse.football_data.files import SeasonFile, extra_season
from lakehouse.football_data.leagues import get_league
from lakehouse.teams import TeamRegistry, football_data_date, game_id

__all__ = ["REQUIRED_COLUMNS", "SOURCE", "RowReject", "SeasonRows", "ValidMatches", "decode", "read_season"]

SOURCE = "football_data"
REQUIRED_COLUMNS = ("Date", "HomeTeam", "AwayTeam")

RowReject = Callable[[int, str, Sequence[str]], None]
"""``(row number, reason, cells)``: called once per refused data row (rows count from 1)."""


def decode(data: bytes) -> str:
    """UTF-8 (BOM stripped) when valid, else latin-1, which any byte sequence is."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass
class ValidMatches:
    """The data rows that describe a match, column-wise; ``positions`` index the data rows."""

    positions: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the file's row numbers, from 1
    match_ids: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    kickoffs: list[datetime | None] = field(default_factory=list)  # UTC; None when the file has no time
    home_ids: list[str] = field(default_factory=list)
    away_ids: list[str] = field(default_factory=list)
    home_names: list[str] = field(default_factory=list)
    away_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.positions)


@dataclass
class SeasonRows:
    """A season file split into its header (see ``normalise_header``) and the season's data rows.

    ``numbers`` are the rows' numbers in the file (from 1), which differ from their positions
    when the file holds other seasons too.
    """

    season_file: SeasonFile
    header: list[str]
    rows: list[list[str]]
    numbers: list[int]

    @classmethod
    def parse(cls, data: bytes, season_file: SeasonFile) -> SeasonRows:
        league = get_league(season_file.league)  # an unknown league fails here, listing the known
        records = list(csv.reader(io.StringIO(decode(data), newline="")))
        header = normalise_header(records[0]) if records else []
        rows = records[1:]
        if not (league.extra and "Season" in header):
            return cls(season_file, header, rows, list(range(1, len(rows) + 1)))
        i = header.index("Season")
        seasons = [extra_season(league.code, row[i]) if i < len(row) else None for row in rows]
        first = min((season for season in seasons if season is not None), default=season_file)
        keep = [
            k
            for k, season in enumerate(seasons)
            if season == season_file or (season is None and season_file == first)
        ]
        return cls(season_file, header, [rows[k] for k in keep], [k + 1 for k in keep])

    def index(self) -> tuple[dict[str, int], list[str]]:
        """Column name -> position (the first of a duplicated name), and the duplicated names."""
        index: dict[str, int] = {}
        duplicated: list[str] = []
        for position, name in enumerate(self.header):
            if name and name in index:
                duplicated.append(name)
            elif name:
                index[name] = position
        return index, duplicated

    def missing_columns(self) -> list[str]:
        present = set(self.header)
        return [name for name in REQUIRED_COLUMNS if name not in present]

    def team_names(self) -> set[str]:
        """Every team name the file uses, home or away: the league's catalogue as football-data spells it."""
        index, _ = self.index()
        columns = [index[c] for c in ("HomeTeam", "AwayTeam") if c in index]
        return {row[i].strip() for row in self.rows for i in columns if i < len(row) and row[i].strip()}

    def cells(self, position: int) -> list[str]:
        return self.rows[position]

    def valid_matches(self, registry: TeamRegistry, on_reject: RowReject) -> ValidMatches:
        """Row-level checks; dates, times and teams are resolved once per distinct value."""
        sf = self.season_file
        tz = get_league(sf.league).tz
        index, _ = self.index()
        width = len(self.header)
        i_date, i_home, i_away = index["Date"], index["HomeTeam"], index["AwayTeam"]
        i_time, i_div, i_season = index.get("Time"), index.get("Div"), index.get("Season")
        extra = get_league(sf.league).extra
        season_start, season_end = sf.window
        dates: dict[str, date | str] = {}
        times: dict[str, tuple[int, int] | str] = {}
        teams: dict[str, str] = {}  # name -> team id, or "!reason"
        seen: dict[str, int] = {}
        valid = ValidMatches()

        def day_of(text: str) -> date | str:
            if text not in dates:
                try:
                    day = football_data_date(text, season=sf.code)
                    ok = season_start <= day <= season_end
                    dates[text] = day if ok else f"date {text!r} is outside season {sf.season}"
                except ValueError:
                    dates[text] = f"bad date {text!r}"
            return dates[text]

        def time_of(text: str) -> tuple[int, int] | str:
            if text not in times:
                try:
                    parsed = datetime.strptime(text, "%H:%M")
                    times[text] = (parsed.hour, parsed.minute)
                except ValueError:
                    times[text] = f"bad time {text!r}"
            return times[text]

        def team_of(name: str, side: str) -> str:
            if not name:
                return f"!missing {side} team"
            if name not in teams:
                team, _ = registry.try_resolve(name, source=SOURCE, sport="soccer")
                teams[name] = team.team_id if team is not None else f"!unknown team {name!r}"
            return teams[name]

        for position, cells in enumerate(self.rows):
            number = self.numbers[position]
            reason = None
            if not any(cell.strip() for cell in cells):
                reason = "empty row"
            elif len(cells) < width or any(cell.strip() for cell in cells[width:]):
                reason = f"row has {len(cells)} cells, the header {width}"
            elif i_div is not None and cells[i_div].strip() not in ("", sf.league):
                reason = f"division {cells[i_div].strip()!r} in a {sf.league} file"
            elif extra and i_season is not None and extra_season(sf.league, cells[i_season]) != sf:
                reason = f"season {cells[i_season].strip()!r} is not a season (2012/2013 or 2014)"
            if reason is not None:
                on_reject(number, reason, cells)
                continue
            day = day_of(cells[i_date].strip())
            if isinstance(day, str):
                on_reject(number, day, cells)
                continue
            time_text = cells[i_time].strip() if i_time is not None else ""
            clock = time_of(time_text) if time_text else None
            if isinstance(clock, str):
                on_reject(number, clock, cells)
                continue
            home_name, away_name = cells[i_home].strip(), cells[i_away].strip()
            home, away = team_of(home_name, "home"), team_of(away_name, "away")
            if home.startswith("!") or away.startswith("!"):
                on_reject(number, (home if home.startswith("!") else away)[1:], cells)
                continue
            if home == away:
                on_reject(number, f"home and away are the same team {home_name!r}", cells)
                continue
            kickoff = None
            if clock is not None:
                kickoff = datetime(day.year, day.month, day.day, *clock, tzinfo=tz).astimezone(UTC)
            # The UTC kick-off date when the file gives a time (an evening game in the Americas is
            # past midnight UTC), else the file's date, as every other source's game id is built.
            match_id = game_id(kickoff or day, home, away)
            if match_id in seen:
                on_reject(number, f"duplicate match of row {seen[match_id]}", cells)
                continue
            seen[match_id] = number
            valid.positions.append(position)
            valid.rows.append(number)
            valid.match_ids.append(match_id)
            valid.dates.append(day)
            valid.kickoffs.append(kickoff)
            valid.home_ids.append(home)
            valid.away_ids.append(away)
            valid.home_names.append(home_name)
            valid.away_names.append(away_name)
        return valid


def read_season(data: bytes, season_file: SeasonFile) -> SeasonRows:
    """Decode and split one season file (see ``SeasonRows``)."""
    return SeasonRows.parse(data, season_file)
