"""football-data.co.uk files, read one way for every layer: columns by name, leagues, season files, rows.

* ``columns``: odds columns recognised by pattern and bookmaker code (never by position);
* ``leagues``: every division (and extra-league country) code -> sport key, competition, time zone;
* ``files``: season files and season codes;
* ``reader``: bytes -> header, rows and the valid matches, with a reason for every refused row.
"""

from lakehouse.football_data.columns import (
    BOOKMAKERS,
    LINE_COLUMNS,
    MATCH_COLUMNS,
    OddsColumn,
    bookmaker,
    classify,
    classify_columns,
    handicap_line,
)
from lakehouse.football_data.files import SeasonFile, full_year, season_code
from lakehouse.football_data.leagues import LEAGUES, UK_TIME, League, get_league
from lakehouse.football_data.reader import (
    REQUIRED_COLUMNS,
    SOURCE,
    RowReject,
    SeasonRows,
    ValidMatches,
    decode,
    read_season,
)

__all__ = [
    "BOOKMAKERS",
    "LEAGUES",
    "LINE_COLUMNS",
    "MATCH_COLUMNS",
    "REQUIRED_COLUMNS",
    "SOURCE",
    "UK_TIME",
    "League",
    "OddsColumn",
    "RowReject",
    "SeasonFile",
    "SeasonRows",
    "ValidMatches",
    "bookmaker",
    "classify",
    "classify_columns",
    "decode",
    "full_year",
    "get_league",
    "handicap_line",
    "read_season",
    "season_code",
]
