"""football-data season files: names, seasons, and finding them in a folder.

A season file is one league's season: ``E0_2324.csv`` (league ``E0``, season code ``2324``,
season ``2023-24``).  The code names the season; the file's location does not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SeasonFile", "full_year", "season_code"]

_FILE_NAME = re.compile(r"^(?P<league>[A-Za-z0-9]+)_(?P<code>\d{4})\.csv$", re.IGNORECASE)
_SEASON_TEXT = re.compile(r"^(?:(?P<y4>\d{4})[-/](?P<e2>\d{2})|(?P<code>\d{4}))$")


def full_year(yy: int) -> int:
    """Two-digit year -> four: football-data starts in the 1990s."""
    return (1900 if yy >= 90 else 2000) + yy


def season_code(season: str) -> str:
    """``2023-24``, ``2023/24`` or ``2324`` -> ``2324``; anything else raises with the accepted forms."""
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


@dataclass(frozen=True, order=True)
class SeasonFile:
    """A league-season and its canonical file name: ``E0`` + ``2324`` <-> ``E0_2324.csv``, ``2023-24``."""

    league: str
    code: str  # "2324"

    @classmethod
    def from_name(cls, name: str) -> SeasonFile:
        match = _FILE_NAME.match(Path(name).name)
        if not match:
            raise ValueError(f"{name!r} is not a football-data season file name like E0_2324.csv")
        return cls(match["league"], match["code"])

    @classmethod
    def of(cls, league: str, season: str) -> SeasonFile:
        return cls(league, season_code(season))

    @property
    def start_year(self) -> int:
        return full_year(int(self.code[:2]))

    @property
    def season(self) -> str:
        return f"{self.start_year}-{self.code[2:]}"

    @property
    def file_name(self) -> str:
        return f"{self.league}_{self.code}.csv"

    def __str__(self) -> str:
        return f"{self.league} {self.season}"
