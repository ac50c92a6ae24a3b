"""football-data season files: names, seasons, and finding them in a folder.

A season file is one league's season: ``E0_2324.csv`` (league ``E0``, season code ``2324``,
season ``2023-24``).  Files are found as users keep them: named so anywhere under the folder,
or as football-data serves them, ``E0.csv`` in a season folder (``mmz4281/2324/E0.csv`` on the
site; ``2023-24/E0.csv`` and ``2023-24_partial/E0.csv`` are read the same way).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SeasonFile", "find_season_files", "full_year", "season_code"]

_FILE_NAME = re.compile(r"^(?P<league>[A-Za-z0-9]+)_(?P<code>\d{4})\.csv$", re.IGNORECASE)
_SEASON_TEXT = re.compile(r"^(?:(?P<y4>\d{4})[-/](?P<e2>\d{2})|(?P<code>\d{4}))$")
# A season folder: "2324", "2023-24", "2023-2024", optionally followed by "_anything".
_SEASON_FOLDER = re.compile(
    r"^(?:(?P<y4>\d{4})-(?:\d{2}(?P<e2>\d{2})|(?P<e>\d{2}))|(?P<code>\d{4}))(?:[_ ].*)?$"
)


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
    """A league-season and its canonical file name: ``E0`` + ``2324`` <-> ``E0_2324.csv``, ``2023-24``.

    ``path`` is where the file was found (None when only named); it is not part of its identity.
    """

    league: str
    code: str  # "2324"
    path: Path | None = field(default=None, compare=False, repr=False)

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


def _folder_season(name: str) -> str | None:
    """The season code a folder name stands for, or None: ``2324``, ``2023-24``, ``2023-2024_partial``."""
    match = _SEASON_FOLDER.match(name)
    if not match:
        return None
    code = match["code"] or match["y4"][2:] + (match["e2"] or match["e"])
    return code if int(code[2:]) == (int(code[:2]) + 1) % 100 else None


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
        if not path.is_file() or (sf := season_file_at(path, known)) is None:
            continue
        if (seen := found.get(sf)) is not None and seen.path is not None:
            if _digest(seen.path) != _digest(path):
                raise ValueError(f"{sf} found twice with different contents: {seen.path} and {path}")
            continue
        found[sf] = sf
    return sorted(found)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
