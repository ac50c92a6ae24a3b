"""Odds columns of football-data.co.uk season files, recognised by *name*, for replay and the batch loader.

Their columns change across seasons (bookmakers come and go, closing odds appear in
2019/20, Betbrain `BbMx*`/`BbAv*` give way to `Max*`/`Avg*`), so odds columns are
recognised by pattern and bookmaker code, never by position, and a code the platform does
not know is kept under its own name rather than dropped.

Odds column patterns (`<code>` is a bookmaker code such as `B365`, `PS`, `Max`):
  `<code>[C]H|D|A`          1X2 (h2h) home/draw/away; `C` = closing price
  `<code>[C]>2.5|<2.5`      total goals over/under 2.5 (totals)
  `<code>[C]AHH|AHA`        Asian handicap home/away (spreads); line from `AHh`/`AHCh`,
                            `BbAHh` (Betbrain era) or the bookmaker's own `<code>AH`
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["bookmaker", "exchange", "composite", "unknown"]
MarketKey = Literal["h2h", "totals", "spreads"]
Phase = Literal["opening", "closing"]

# code -> (bookmaker key, title, kind)
BOOKMAKERS: dict[str, tuple[str, str, Kind]] = {
    "B365": ("bet365", "Bet365", "bookmaker"),
    "BW": ("bwin", "Bet&Win", "bookmaker"),
    "IW": ("interwetten", "Interwetten", "bookmaker"),
    "PS": ("pinnacle", "Pinnacle", "bookmaker"),
    "P": ("pinnacle", "Pinnacle", "bookmaker"),
    "WH": ("williamhill", "William Hill", "bookmaker"),
    "VC": ("vcbet", "VC Bet", "bookmaker"),
    "LB": ("ladbrokes", "Ladbrokes", "bookmaker"),
    "SJ": ("stanjames", "Stan James", "bookmaker"),
    "GB": ("gamebookers", "Gamebookers", "bookmaker"),
    "BS": ("bluesquare", "Blue Square", "bookmaker"),
    "SB": ("sportingbet", "Sportingbet", "bookmaker"),
    "SO": ("sportingodds", "Sporting Odds", "bookmaker"),
    "SY": ("stanleybet", "Stanleybet", "bookmaker"),
    "1XB": ("1xbet", "1XBet", "bookmaker"),
    "BF": ("betfair_sportsbook", "Betfair Sportsbook", "bookmaker"),
    "BFE": ("betfair_ex", "Betfair Exchange", "exchange"),
    "Max": ("market_max", "Market maximum", "composite"),
    "Avg": ("market_avg", "Market average", "composite"),
    "BbMx": ("betbrain_max", "Betbrain maximum", "composite"),
    "BbAv": ("betbrain_avg", "Betbrain average", "composite"),
}

MATCH_COLUMNS = frozenset(
    [
        "Country",
        "League",
        "Season",
        "Div",
        "Date",
        "Time",
        "HomeTeam",
        "AwayTeam",
        "FTHG",
        "FTAG",
        "FTR",
        "HTHG",
        "HTAG",
        "HTR",
        "Referee",
        "Attendance",
        "HS",
        "AS",
        "HST",
        "AST",
        "HHW",
        "AHW",
        "HC",
        "AC",
        "HF",
        "AF",
        "HO",
        "AO",
        "HY",
        "AY",
        "HR",
        "AR",
        "HBP",
        "ABP",
    ]
)
# The extra-leagues format names the match columns its own way; read under the main names.
EXTRA_COLUMNS = {"Home": "HomeTeam", "Away": "AwayTeam", "HG": "FTHG", "AG": "FTAG", "Res": "FTR"}
# Misspelt headers the site has published, with the name meant and a sibling that proves it:
# the extra leagues' Bet365 closing away price is headed "B36CA" next to "B365CH", "B365CD".
HEADER_FIXES = {"B36CA": ("B365CA", "B365CH")}

# Columns that describe odds but are not prices: bookmaker counts and handicap lines.
LINE_COLUMNS = frozenset({"AHh", "AHCh", "BbAHh", "Bb1X2", "BbAH", "BbOU"})

_H2H = re.compile(r"^(?P<code>[0-9A-Za-z]+?)(?P<sel>[HDA])$")
_TOTALS = re.compile(r"^(?P<code>[0-9A-Za-z]+?)(?P<sel>[<>])2\.5$")
_AH = re.compile(r"^(?P<code>[0-9A-Za-z]+?)AH(?P<sel>[HA])$")
_PATTERNS: tuple[tuple[re.Pattern[str], MarketKey], ...] = (
    (_AH, "spreads"),
    (_TOTALS, "totals"),
    (_H2H, "h2h"),
)
_SELECTIONS = {"H": "home", "D": "draw", "A": "away", ">": "over", "<": "under"}


@dataclass(frozen=True)
class OddsColumn:
    """One price column: whose, which market and selection, opening or closing."""

    column: str
    code: str
    bookmaker: str
    title: str
    kind: Kind
    market: MarketKey
    selection: str
    phase: Phase
    line_columns: tuple[str, ...] = ()  # where to read the line, in order of preference
    fixed_line: float | None = None  # totals: 2.5


def bookmaker(code: str) -> tuple[str, str, Kind]:
    """Key, title and kind for a code; an unknown code is kept under its own name."""
    return BOOKMAKERS.get(code, (code.lower(), code, "unknown"))


def _split_closing(code: str, rebuild: str, header: frozenset[str]) -> tuple[str, Phase]:
    """`B365C` -> (`B365`, closing) when the file also has the opening column, or the code is known."""
    if code.endswith("C") and len(code) > 1:
        base = code[:-1]
        if base in BOOKMAKERS or rebuild.replace(code, base, 1) in header:
            return base, "closing"
    return code, "opening"


def classify(column: str, header: frozenset[str]) -> OddsColumn | None:
    """The odds meaning of a column, or None for match data, lines and blanks."""
    if not column or column in MATCH_COLUMNS or column in LINE_COLUMNS or column.startswith("Unnamed"):
        return None
    if column.endswith("AH") and (column[:-2] in BOOKMAKERS or f"{column}H" in header):
        return None  # a bookmaker's own handicap line (`B365AH`), not a price
    patterns: tuple[tuple[re.Pattern[str], MarketKey], ...] = (
        (_AH, "spreads"),
        (_TOTALS, "totals"),
        (_H2H, "h2h"),
    )
    for pattern, market in patterns:
        match = pattern.match(column)
        if not match:
            continue
        code, phase = _split_closing(match["code"], column, header)
        key, title, kind = bookmaker(code)
        selection = _SELECTIONS[match["sel"]]
        lines: tuple[str, ...] = ()
        if market == "spreads":
            own = f"{code}AH"  # older files: each bookmaker's own line
            lines = (own, "AHCh" if phase == "closing" else "AHh", "BbAHh")
        return OddsColumn(
            column=column,
            code=code,
            bookmaker=key,
            title=title,
            kind=kind,
            market=market,
            selection=selection,
            phase=phase,
            line_columns=lines,
            fixed_line=2.5 if market == "totals" else None,
        )
    return None


def normalise_header(header: Sequence[str]) -> list[str]:
    """Header names stripped, the extra-leagues names mapped to the main ones, known typos fixed.

    A name is only changed when the name it becomes is not in the header already.
    """
    names = [name.strip() for name in header]
    present = set(names)
    extra = "HomeTeam" not in present and {"Home", "Away", "Season"} <= present
    out = []
    for name in names:
        meant = EXTRA_COLUMNS.get(name) if extra else None
        if name in HEADER_FIXES and HEADER_FIXES[name][1] in present:
            meant = HEADER_FIXES[name][0]
        out.append(meant if meant is not None and meant not in present else name)
    return out


def classify_columns(header: Sequence[str]) -> tuple[list[OddsColumn], list[str]]:
    """Split a header into price columns and the other (match, line, unknown) columns."""
    names = frozenset(h for h in header if h)
    odds, other = [], []
    for column in header:
        parsed = classify(column, names)
        if parsed is None:
            if column:
                other.append(column)
        else:
            odds.append(parsed)
    return odds, other


def handicap_line(row: dict[str, str], column: OddsColumn) -> float | None:
    """The Asian handicap line for the *home* side as the row gives it (None if absent)."""
    for name in column.line_columns:
        value = (row.get(name) or "").strip()
        if value:
            try:
                return float(value)
            except ValueError:
                return None
    return None
