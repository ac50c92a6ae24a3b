"""One football-data.co.uk season file -> validated matches, long-form odds and rejects (Arrow).

The file is read by the shared reader (``lakehouse.football_data``: encoding, dates, teams,
duplicates, the same rules the replay applies); this module turns what it validates into the
history tables.  Columns are read by *name*: seasons add and drop bookmakers, so a code the
platform does not know is kept under its own lower-cased name.
Nothing is dropped without a trace; every problem becomes a row of the rejects table:

* row level (the match and all its prices are rejected): empty row, ragged row, bad date or
  time, unknown or missing team, both sides the same team, another division's row, a second
  row for the same match;
* cell level (only that value is rejected): a price that is text, not finite or not > 1, a
  handicap price without a line, a statistic that is not a whole number, a result not H/D/A;
* file level (``source_row`` null): a duplicated header, a market missing one of its
  selection columns (the columns present still load).

So for every file: data rows = matches + row rejects, and non-blank price cells of valid rows
= odds rows + price rejects; the loader and its tests hold to both.

Per-cell Python is kept off the hot path: prices, statistics and lines are converted column by
column with pyarrow/numpy, and dates, times and team names are resolved once per distinct value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iceberg.history import FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS, FOOTBALL_DATA_REJECTS
from lakehouse.football_data import (
    LEAGUES,
    OddsColumn,
    SeasonFile,
    SeasonRows,
    ValidMatches,
    classify_columns,
    get_league,
    handicap_line,
    season_code,
)
from lakehouse.teams import TeamRegistry, get_registry

__all__ = ["LEAGUES", "ParseCounts", "ParsedSeason", "SeasonFile", "parse_season", "season_code"]

MATCHES_SCHEMA = FOOTBALL_DATA_MATCHES.schema.as_arrow()
ODDS_SCHEMA = FOOTBALL_DATA_ODDS.schema.as_arrow()
REJECTS_SCHEMA = FOOTBALL_DATA_REJECTS.schema.as_arrow()

WHOLE_NUMBER_COLUMNS = {
    "FTHG": "home_goals",
    "FTAG": "away_goals",
    "HTHG": "ht_home_goals",
    "HTAG": "ht_away_goals",
    "Attendance": "attendance",
    "HS": "home_shots",
    "AS": "away_shots",
    "HST": "home_shots_on_target",
    "AST": "away_shots_on_target",
    "HC": "home_corners",
    "AC": "away_corners",
    "HF": "home_fouls",
    "AF": "away_fouls",
    "HY": "home_yellow_cards",
    "AY": "away_yellow_cards",
    "HR": "home_red_cards",
    "AR": "away_red_cards",
}
RESULT_COLUMNS = {"FTR": "result", "HTR": "ht_result"}
RESULTS = frozenset({"H", "D", "A"})
_INT_MAX = 2**31 - 1

# Every selection a market needs, to spot a bookmaker column missing from a header.
_MARKET_SELECTIONS = {
    "h2h": ("home", "draw", "away"),
    "totals": ("over", "under"),
    "spreads": ("home", "away"),
}
_SELECTION_SUFFIX = {
    ("h2h", "home"): "H",
    ("h2h", "draw"): "D",
    ("h2h", "away"): "A",
    ("totals", "over"): ">2.5",
    ("totals", "under"): "<2.5",
    ("spreads", "home"): "AHH",
    ("spreads", "away"): "AHA",
}
# --- result ------------------------------------------------------------------------------------


@dataclass
class ParseCounts:
    """What one file held and where each part went (see the module docstring for the invariants)."""

    rows: int = 0  # data rows, blank ones included
    matches: int = 0
    rejected_rows: int = 0
    price_cells: int = 0  # non-blank price cells of valid rows
    prices: int = 0
    rejected_prices: int = 0
    rejected_cells: int = 0  # statistics and results nulled with a reject
    file_rejects: int = 0

    @property
    def rejects(self) -> int:
        return self.rejected_rows + self.rejected_prices + self.rejected_cells + self.file_rejects

    def add(self, other: ParseCounts) -> ParseCounts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__}, "rejects": self.rejects}


@dataclass
class ParsedSeason:
    """One season file as the three tables it loads into."""

    season_file: SeasonFile
    matches: pa.Table
    odds: pa.Table
    rejects: pa.Table
    counts: ParseCounts = field(default_factory=ParseCounts)

    @property
    def league(self) -> str:
        return self.season_file.league

    @property
    def season(self) -> str:
        return self.season_file.season


class _Rejects:
    """Collects rejects while parsing; builds the Arrow table at the end."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.rows: list[int | None] = []
        self.columns: list[str | None] = []
        self.reasons: list[str] = []
        self.records: list[str | None] = []

    def add(self, row: int | None, column: str | None, reason: str, cells: Sequence[str] | None) -> None:
        self.rows.append(row)
        self.columns.append(column)
        self.reasons.append(reason)
        self.records.append(None if cells is None else _as_json(self.header, cells))

    def table(self, sf: SeasonFile, rejected_at: datetime) -> pa.Table:
        n = len(self.reasons)
        return pa.table(
            {
                "league": [sf.league] * n,
                "season": [sf.season] * n,
                "source_file": [sf.file_name] * n,
                "source_row": pa.array(self.rows, pa.int32()),
                "source_column": pa.array(self.columns, pa.string()),
                "reason": self.reasons,
                "raw_record": pa.array(self.records, pa.string()),
                "rejected_at": pa.array([rejected_at] * n, pa.timestamp("us", tz="UTC")),
            }
        ).cast(REJECTS_SCHEMA)


def _as_json(header: list[str], cells: Sequence[str]) -> str:
    record: dict[str, object] = {name: cell for name, cell in zip(header, cells, strict=False) if name}
    if len(cells) > len(header):
        record["_extra_cells"] = list(cells[len(header) :])
    return json.dumps(record, ensure_ascii=False)


# --- parsing -----------------------------------------------------------------------------------


def parse_season(
    data: bytes,
    season_file: SeasonFile,
    *,
    registry: TeamRegistry | None = None,
    loaded_at: datetime | None = None,
) -> ParsedSeason:
    """Validate one season file's bytes into matches, odds and rejects (nothing is dropped)."""
    source = SeasonRows.parse(data, season_file)
    registry = registry or get_registry()
    loaded_at = loaded_at or datetime.now(UTC)
    header, rows = source.header, source.rows
    rejects = _Rejects(header)
    counts = ParseCounts(rows=len(rows))
    if not header or not any(header):
        rejects.add(None, None, "empty file: no header row", None)
        counts.file_rejects += 1
        counts.rejected_rows += _reject_all(source, rejects, "no header row")
        return _result(season_file, rejects, counts, loaded_at)

    index, duplicated = source.index()
    for name in duplicated:
        rejects.add(None, name, f"duplicate column {name!r} (the first is used)", None)
        counts.file_rejects += 1
    missing = source.missing_columns()
    if missing:
        counts.rejected_rows += _reject_all(source, rejects, f"file has no {missing[0]!r} column")
        return _result(season_file, rejects, counts, loaded_at)

    odds_columns, _ = classify_columns(header)
    odds_columns = [c for c in odds_columns if index.get(c.column) is not None]
    odds_columns = list({c.column: c for c in odds_columns}.values())  # duplicated names: first
    for column, reason in _incomplete_markets(odds_columns):
        rejects.add(None, column, reason, None)
        counts.file_rejects += 1

    valid = source.valid_matches(
        registry, lambda number, reason, cells: rejects.add(number, None, reason, cells)
    )
    counts.rejected_rows = len(rows) - len(valid.positions)
    counts.matches = len(valid.positions)
    width = len(header)
    columns: list[tuple[str, ...]] = (
        list(zip(*(rows[i] for i in valid.positions), strict=False))[:width] if valid.positions else []
    )
    matches = _matches_table(valid, columns, index, season_file, rejects, counts, loaded_at)
    odds = _odds_table(odds_columns, columns, index, header, valid, matches, season_file, rejects, counts)
    return _result(season_file, rejects, counts, loaded_at, matches, odds)


def _reject_all(source: SeasonRows, rejects: _Rejects, reason: str) -> int:
    for number, cells in zip(source.numbers, source.rows, strict=True):
        rejects.add(number, None, reason, cells)
    return len(source.rows)


def _result(
    sf: SeasonFile,
    rejects: _Rejects,
    counts: ParseCounts,
    loaded_at: datetime,
    matches: pa.Table | None = None,
    odds: pa.Table | None = None,
) -> ParsedSeason:
    return ParsedSeason(
        sf,
        matches if matches is not None else MATCHES_SCHEMA.empty_table(),
        odds if odds is not None else ODDS_SCHEMA.empty_table(),
        rejects.table(sf, loaded_at),
        counts,
    )


def _incomplete_markets(columns: list[OddsColumn]) -> list[tuple[str, str]]:
    """(missing column, reason) for each bookmaker market that lacks one of its selections."""
    groups: dict[tuple[str, str, str], dict[str, str]] = {}
    for c in columns:
        groups.setdefault((c.code, c.market, c.phase), {})[c.selection] = c.column
    out = []
    for (code, market, phase), present in groups.items():
        some_selection, some_column = next(iter(present.items()))
        prefix = some_column[: -len(_SELECTION_SUFFIX[market, some_selection])]
        for selection in _MARKET_SELECTIONS[market]:
            if selection not in present:
                name = prefix + _SELECTION_SUFFIX[market, selection]
                out.append(
                    (name, f"missing column {name!r}: {code} {phase} {market} has no {selection} price")
                )
    return out


@dataclass
class _Numbers:
    """A text column converted to floats: blank cells and text cells are NaN and flagged."""

    values: np.ndarray
    blank: np.ndarray
    text: np.ndarray  # non-blank cells that are not numbers
    trimmed: list[str] | None = None  # only built when a reject needs the original text

    def cell(self, source: pa.Array, i: int) -> str:
        if self.trimmed is None:
            self.trimmed = pc.utf8_trim_whitespace(source).to_pylist()
        return self.trimmed[i]


def _numbers(cells: Sequence[str]) -> tuple[_Numbers, pa.Array]:
    """Vectorised conversion (one C call per column); per-cell Python only for a column with text."""
    source = pa.array(cells, pa.string())
    trimmed = pc.utf8_trim_whitespace(source)
    blank = pc.equal(trimmed, "").to_numpy(zero_copy_only=False)
    try:
        floats = pc.cast(pc.if_else(pc.invert(pc.equal(trimmed, "")), trimmed, None), pa.float64())
        values = floats.to_numpy(zero_copy_only=False)
        text = np.zeros(len(cells), dtype=bool)
    except pa.ArrowInvalid:
        values = np.full(len(cells), np.nan)
        text = np.zeros(len(cells), dtype=bool)
        for i, cell in enumerate(trimmed.to_pylist()):
            if cell:
                try:
                    values[i] = float(cell)
                except ValueError:
                    text[i] = True
    return _Numbers(values, blank, text), source


def _matches_table(
    valid: ValidMatches,
    columns: list[tuple[str, ...]],
    index: dict[str, int],
    sf: SeasonFile,
    rejects: _Rejects,
    counts: ParseCounts,
    loaded_at: datetime,
) -> pa.Table:
    n = len(valid.positions)
    competition = get_league(sf.league).sport
    data: dict[str, object] = {
        "match_id": valid.match_ids,
        "league": [sf.league] * n,
        "competition": [competition] * n,
        "season": [sf.season] * n,
        "season_start_year": pa.array([sf.start_year] * n, pa.int32()),
        "match_date": pa.array(valid.dates, pa.date32()),
        "kickoff_at": pa.array(valid.kickoffs, pa.timestamp("us", tz="UTC")),
        "home_team_id": valid.home_ids,
        "away_team_id": valid.away_ids,
        "home_team_name": valid.home_names,
        "away_team_name": valid.away_names,
    }

    def row_cells(position: int) -> list[str]:
        return [column[position] for column in columns]

    for name, target in WHOLE_NUMBER_COLUMNS.items():
        if name not in index or not n:
            data[target] = pa.nulls(n, pa.int32())
            continue
        numbers, source = _numbers(columns[index[name]])
        bad = ~numbers.blank & (numbers.text | ~np.isfinite(numbers.values))
        finite = np.where(np.isfinite(numbers.values), numbers.values, 0.0)
        bad |= ~numbers.blank & ~bad & ((np.floor(finite) != finite) | (finite < 0) | (finite > _INT_MAX))
        for i in map(int, np.flatnonzero(bad)):
            text = numbers.cell(source, i)
            rejects.add(valid.rows[i], name, f"{name} {text!r} is not a whole number", row_cells(i))
            counts.rejected_cells += 1
        values = np.where(bad, np.nan, numbers.values)
        data[target] = pa.array(values, pa.float64(), mask=np.isnan(values)).cast(pa.int32())
    for name, target in RESULT_COLUMNS.items():
        if name not in index or not n:
            data[target] = pa.nulls(n, pa.string())
            continue
        out: list[str | None] = []
        for i, cell in enumerate(columns[index[name]]):
            value = cell.strip()
            if value and value not in RESULTS:
                rejects.add(valid.rows[i], name, f"{name} {value!r} is not H, D or A", row_cells(i))
                counts.rejected_cells += 1
                value = ""
            out.append(value or None)
        data[target] = pa.array(out, pa.string())
    if "Referee" in index and n:
        data["referee"] = pa.array([c.strip() or None for c in columns[index["Referee"]]], pa.string())
    else:
        data["referee"] = pa.nulls(n, pa.string())
    data["source_file"] = [sf.file_name] * n
    data["source_row"] = pa.array(valid.rows, pa.int32())
    data["loaded_at"] = pa.array([loaded_at] * n, pa.timestamp("us", tz="UTC"))
    return pa.table({f.name: data[f.name] for f in MATCHES_SCHEMA}).cast(MATCHES_SCHEMA)


def _line_values(
    column: OddsColumn,
    present: tuple[str, ...],
    columns: list[tuple[str, ...]],
    index: dict[str, int],
    n: int,
) -> np.ndarray:
    """The home handicap per valid row, by ``handicap_line`` over the line columns the file has."""
    if not present:
        return np.full(n, np.nan)
    probe = replace(column, line_columns=present)
    cells = zip(*(columns[index[name]] for name in present), strict=True)
    lines = [handicap_line(dict(zip(present, row, strict=True)), probe) for row in cells]
    return np.array([np.nan if line is None else line for line in lines], dtype=np.float64)


def _odds_table(
    odds_columns: list[OddsColumn],
    columns: list[tuple[str, ...]],
    index: dict[str, int],
    header: list[str],
    valid: ValidMatches,
    matches: pa.Table,
    sf: SeasonFile,
    rejects: _Rejects,
    counts: ParseCounts,
) -> pa.Table:
    n = len(valid.positions)
    if not n or not odds_columns:
        return ODDS_SCHEMA.empty_table()
    line_cache: dict[tuple[str, ...], np.ndarray] = {}
    which, where, prices, lines = [], [], [], []

    def row_cells(position: int) -> list[str]:
        return [column[position] for column in columns]

    for k, oc in enumerate(odds_columns):
        numbers, source = _numbers(columns[index[oc.column]])
        x = numbers.values
        filled = ~numbers.blank
        counts.price_cells += int(filled.sum())
        good = filled & ~numbers.text & np.isfinite(x) & (x > 1.0)
        line = np.full(n, oc.fixed_line if oc.fixed_line is not None else np.nan)
        no_line = np.zeros(n, dtype=bool)
        if oc.market == "spreads":
            present = tuple(name for name in oc.line_columns if name in index)
            if present not in line_cache:
                line_cache[present] = _line_values(oc, present, columns, index, n)
            line = line_cache[present]
            no_line = good & np.isnan(line)
            good &= ~no_line
        for i in map(int, np.flatnonzero(filled & ~good)):
            text = numbers.cell(source, i)
            if numbers.text[i]:
                reason = f"price {text!r} is not a number"
            elif not np.isfinite(x[i]):
                reason = f"price {text!r} is not a finite number"
            elif no_line[i]:
                reason = f"no handicap line for {oc.column} (looked in {', '.join(oc.line_columns)})"
            else:
                reason = f"price {text} not > 1"
            rejects.add(valid.rows[i], oc.column, reason, row_cells(i))
            counts.rejected_prices += 1
        rows = np.flatnonzero(good)
        which.append(np.full(len(rows), k, dtype=np.int32))
        where.append(rows.astype(np.int32))
        prices.append(x[rows])
        lines.append(line[rows])
    k_all, pos_all = np.concatenate(which), np.concatenate(where)
    order = np.lexsort((k_all, pos_all))  # match by match, then in header order
    k_all, pos_all = k_all[order], pos_all[order]
    price_all, line_all = np.concatenate(prices)[order], np.concatenate(lines)[order]
    counts.prices = len(k_all)
    meta = pa.table(
        {
            "bookmaker": [c.bookmaker for c in odds_columns],
            "bookmaker_code": [c.code for c in odds_columns],
            "bookmaker_kind": [c.kind for c in odds_columns],
            "market": [c.market for c in odds_columns],
            "selection": [c.selection for c in odds_columns],
            "phase": [c.phase for c in odds_columns],
            "source_column": [c.column for c in odds_columns],
        }
    ).take(pa.array(k_all))
    of_match = matches.select(["match_id", "source_row"]).take(pa.array(pos_all))
    m = len(k_all)
    data = {
        "match_id": of_match["match_id"],
        "league": _constant(sf.league, m),
        "season": _constant(sf.season, m),
        **{name: meta[name] for name in meta.column_names},
        "price": pa.array(price_all, pa.float64()),
        "line": pa.array(np.nan_to_num(line_all), pa.float64(), mask=np.isnan(line_all)),
        "source_file": _constant(sf.file_name, m),
        "source_row": of_match["source_row"],
    }
    return pa.table({f.name: data[f.name] for f in ODDS_SCHEMA}).cast(ODDS_SCHEMA)


def _constant(value: str, n: int) -> pa.Array:
    """``n`` copies of one string without a Python list of ``n`` items."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), [value]).dictionary_decode()
