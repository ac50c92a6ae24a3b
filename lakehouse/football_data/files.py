"""football-data season files: names, seasons, and finding them in a folder.

A season file is one league's season: ``E0_2324.csv`` (league ``E0``, season code ``2324``,
season ``2023-24``).  Files are found as users keep them: named so anywhere under the folder,
or as football-data serves them, ``E0.csv`` in a season folder (``mmz4281/2324/E0.csv`` on the
site; ``2023-24/E0.csv`` and ``2023-24_partial/E0.csv`` are read the same way).

The extra leagues (``ARG.csv``, ``USA.csv``: ``new/<COUNTRY>.csv`` on the site) keep every
season of a country in one file with a ``Season`` column, written ``2012/2013`` for a season
across two years or ``2014`` for a calendar-year one.  Such a file stands for one season file
per season it holds, each read from the same bytes (the reader keeps that season's rows).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from lakehouse.football_data.leagues import LEAGUES

__all__ = [
    "SeasonFile",
    "extra_season",
    "find_season_files",
    "full_year",
    "season_code",
    "season_labels",
]

_FILE_NAME = re.compile(r"^(?P<league>[A-Za-z0-9]+)_(?P<code>\d{4})\.csv$", re.IGNORECASE)
_SEASON_TEXT = re.compile(r"^(?:(?P<y4>\d{4})[-/](?:\d{2})?(?P<e2>\d{2})|(?P<code>\d{4}))$")
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
# A season folder: "2324", "2023-24", "2023-2024", optionally followed by "_anything".
_SEASON_FOLDER = re.compile(
    r"^(?:(?P<y4>\d{4})-(?:\d{2}(?P<e2>\d{2})|(?P<e>\d{2}))|(?P<code>\d{4}))(?:[_ ].*)?$"
)


def full_year(yy: int) -> int:
    """Two-digit year -> four: football-data starts in the 1990s."""
    return (1900 if yy >= 90 else 2000) + yy


def season_code(season: str) -> str:
    """``2023-24``, ``2023/24``, ``2023/2024`` or ``2324`` -> ``2324``; else raises with the forms."""
    match = _SEASON_TEXT.match(season.strip())
    if match and match["code"]:
        code = match["code"]
    elif match:
        code = match["y4"][2:] + match["e2"]
    else:
        raise ValueError(f"season {season!r}: write it as 2023-24 (or 2023/24, 2324)")
    if int(code[2:]) != (int(code[:2]) + 1) % 100:
        raise ValueError(f"season {season!r}: the second year must follow the first (e.g. 2023-24)")
    return code


@dataclass(frozen=True)
class SeasonFile:
    """A league-season and its canonical file name: ``E0`` + ``2324`` <-> ``E0_2324.csv``, ``2023-24``.

    ``path`` is where the file was found (None when only named); it is not part of its identity.
    A calendar-year season (``calendar``) has the year as its code and its label: ``2014``.
    """

    league: str
    code: str  # "2324", or "2014" for a calendar-year season
    path: Path | None = field(default=None, compare=False, repr=False)
    calendar: bool = False

    def __lt__(self, other: SeasonFile) -> bool:
        """By league, then by start: ARG's 2016 (February to June) comes before its 2016-17."""
        return _order(self) < _order(other)

    @classmethod
    def from_name(cls, name: str) -> SeasonFile:
        match = _FILE_NAME.match(Path(name).name)
        if not match:
            raise ValueError(f"{name!r} is not a football-data season file name like E0_2324.csv")
        return cls(match["league"], match["code"])

    @classmethod
    def of(cls, league: str, season: str) -> SeasonFile:
        """A league's season from its label; an extra league reads ``2014`` as a calendar year."""
        text = season.strip()
        known = LEAGUES.get(league)
        if known is not None and known.extra and _YEAR.match(text):
            return cls(league, text, calendar=True)
        return cls(league, season_code(text))

    @property
    def start_year(self) -> int:
        return int(self.code) if self.calendar else full_year(int(self.code[:2]))

    @property
    def season(self) -> str:
        return self.code if self.calendar else f"{self.start_year}-{self.code[2:]}"

    @property
    def span(self) -> tuple[date, date]:
        """The season as a date range: 1 July to 30 June, or the calendar year."""
        if self.calendar:
            return date(self.start_year, 1, 1), date(self.start_year, 12, 31)
        return date(self.start_year, 7, 1), date(self.start_year + 1, 6, 30)

    @property
    def window(self) -> tuple[date, date]:
        """The dates a match of this season can have: a split season runs July to the next
        August, a calendar one January to the next March (a season delayed past New Year)."""
        if self.calendar:
            return date(self.start_year, 1, 1), date(self.start_year + 1, 3, 31)
        return date(self.start_year, 7, 1), date(self.start_year + 1, 8, 31)

    @property
    def file_name(self) -> str:
        """``E0_2324.csv``; an extra league's one file per country, ``ARG.csv``."""
        known = LEAGUES.get(self.league)
        return f"{self.league}.csv" if known is not None and known.extra else f"{self.league}_{self.code}.csv"

    def __str__(self) -> str:
        return f"{self.league} {self.season}"


def _order(sf: SeasonFile) -> tuple[str, date]:
    return sf.league, sf.span[0]


def extra_season(league: str, text: str) -> SeasonFile | None:
    """The season an extra-leagues ``Season`` cell names (``2012/2013`` or ``2014``), or None."""
    text = text.strip()
    if _YEAR.match(text):
        return SeasonFile(league, text, calendar=True)
    match = _SEASON_TEXT.match(text)
    if match is None or match["code"]:
        return None
    try:
        return SeasonFile(league, season_code(text))
    except ValueError:
        return None


def season_labels(text: str) -> set[str]:
    """The season labels a user's ``--season`` may mean: ``2021`` is 2020-21 or the year 2021."""
    text = text.strip()
    labels = {text} if _YEAR.match(text) else set()
    try:
        labels.add(SeasonFile("", season_code(text)).season)
    except ValueError:
        if not labels:
            raise
    return labels


def _folder_season(name: str) -> str | None:
    """The season code a folder name stands for, or None: ``2324``, ``2023-24``, ``2023-2024_partial``."""
    match = _SEASON_FOLDER.match(name)
    if not match:
        return None
    code = match["code"] or match["y4"][2:] + (match["e2"] or match["e"])
    return code if int(code[2:]) == (int(code[:2]) + 1) % 100 else None


def season_files_at(path: Path, leagues: Iterable[str]) -> list[SeasonFile]:
    """The season files `path` is: one by its name or its season folder, or, for an extra
    league's country file (``ARG.csv``), one per season its ``Season`` column names."""
    league = path.stem.upper()
    known = LEAGUES.get(league)
    if known is not None and known.extra and path.suffix.lower() == ".csv" and league in leagues:
        seasons = {sf for text in _season_cells(path) if (sf := extra_season(league, text)) is not None}
        return sorted(replace(sf, path=path) for sf in seasons)
    sf = season_file_at(path, leagues)
    return [sf] if sf is not None else []


def _season_cells(path: Path) -> set[str]:
    from lakehouse.football_data.reader import decode  # the reader's decoding, one definition

    rows = csv.reader(io.StringIO(decode(path.read_bytes()), newline=""))
    header = [name.strip() for name in next(rows, [])]
    if "Season" not in header:
        return set()
    i = header.index("Season")
    return {row[i] for row in rows if i < len(row)}


def season_file_at(path: Path, leagues: Iterable[str]) -> SeasonFile | None:
    """The season file `path` is, by its name or by its season folder; None if it is neither."""
    match = _FILE_NAME.match(path.name)
    if match and match["league"].upper() in leagues:
        return SeasonFile(match["league"].upper(), match["code"], path)
    league = path.stem.upper()
    if path.suffix.lower() == ".csv" and league in leagues and (code := _folder_season(path.parent.name)):
        return SeasonFile(league, code, path)
    return None


def find_season_files(folder: Path, leagues: Iterable[str]) -> list[SeasonFile]:
    """Every season file of `leagues` under `folder`, in any of the layouts above, sorted.

    The same league-season found twice is one file if the bytes are equal, and an error naming
    both paths if not (which one is right is the user's call, not ours).
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"football-data folder {folder} does not exist")
    known = frozenset(code.upper() for code in leagues)
    found: dict[SeasonFile, SeasonFile] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        for sf in season_files_at(path, known):
            if (seen := found.get(sf)) is not None and seen.path is not None:
                if _digest(seen.path) != _digest(path):
                    raise ValueError(f"{sf} found twice with different contents: {seen.path} and {path}")
                continue
            found[sf] = sf
    return sorted(found)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
