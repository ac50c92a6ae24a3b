"""The batch layer's history tables as code: football-data.co.uk matches, odds and rejects.

Written by the batch loader (pyiceberg, one partition replace per league and season), never
by a stream, so their properties differ from the streaming tables: no fanout or merge-on-read,
and snapshots are few (one per backfill), so a longer expiry keeps a useful time-travel trail.
Column names and meanings are the raw warehouse contract the dbt project reads (README,
"Batch layer"); the warehouse copies these tables as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pyiceberg.types import DateType, DoubleType, IntegerType, StringType, TimestamptzType

from iceberg.tables import Column, Outcome, TableDef, _schema, ensure_tables

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

NAMESPACE = "history"

_DAY_MS = 24 * 60 * 60 * 1000

BATCH_PROPERTIES: dict[str, str] = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    "write.target-file-size-bytes": str(128 * 1024 * 1024),
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "history.expire.max-snapshot-age-ms": str(7 * _DAY_MS),
    "history.expire.min-snapshots-to-keep": "5",
}
"""A backfill commits once per table; keep a week of snapshots for time travel and audits."""

_PARTITION = (("league", "identity", "league"), ("season", "identity", "season"))

_LEAGUE: Column = ("league", StringType(), True, "football-data division code: E0 (EPL), SP1 (La Liga).")
_SEASON: Column = ("season", StringType(), True, "Season as 2023-24 (from the file name E0_2324.csv).")
_SOURCE_FILE: Column = ("source_file", StringType(), True, "The season file, e.g. E0_2324.csv.")
_SOURCE_ROW: Column = ("source_row", IntegerType(), True, "1-based data row of the file (header excluded).")


def _stat(name: str, doc: str) -> Column:
    return (name, IntegerType(), False, doc)


FOOTBALL_DATA_MATCHES = TableDef(
    NAMESPACE,
    "football_data_matches",
    _schema(
        ("match_id", StringType(), True, "Canonical game id YYYY-MM-DD:home:away (lakehouse.teams.game_id)."),
        _LEAGUE,
        ("competition", StringType(), True, "Competition key: soccer_epl, soccer_spain_la_liga."),
        _SEASON,
        ("season_start_year", IntegerType(), True, "First calendar year of the season (2023 for 2023-24)."),
        ("match_date", DateType(), True, "Match date as the file gives it (local; equals the UTC date)."),
        (
            "kickoff_at",
            TimestamptzType(),
            False,
            "Kick-off in UTC from the local Time column; null before 2019/20.",
        ),
        ("home_team_id", StringType(), True, "Registry team id of the home side."),
        ("away_team_id", StringType(), True, "Registry team id of the away side."),
        ("home_team_name", StringType(), True, "Home team as written in the file."),
        ("away_team_name", StringType(), True, "Away team as written in the file."),
        _stat("home_goals", "Full-time home goals (FTHG)."),
        _stat("away_goals", "Full-time away goals (FTAG)."),
        ("result", StringType(), False, "Full-time result H, D or A (FTR)."),
        _stat("ht_home_goals", "Half-time home goals (HTHG)."),
        _stat("ht_away_goals", "Half-time away goals (HTAG)."),
        ("ht_result", StringType(), False, "Half-time result H, D or A (HTR)."),
        ("referee", StringType(), False, "Referee (from 2000/01 in EPL files only)."),
        _stat("attendance", "Crowd (early EPL seasons only)."),
        _stat("home_shots", "HS."),
        _stat("away_shots", "AS."),
        _stat("home_shots_on_target", "HST."),
        _stat("away_shots_on_target", "AST."),
        _stat("home_corners", "HC."),
        _stat("away_corners", "AC."),
        _stat("home_fouls", "HF."),
        _stat("away_fouls", "AF."),
        _stat("home_yellow_cards", "HY."),
        _stat("away_yellow_cards", "AY."),
        _stat("home_red_cards", "HR."),
        _stat("away_red_cards", "AR."),
        _SOURCE_FILE,
        _SOURCE_ROW,
        ("loaded_at", TimestamptzType(), True, "When the loader wrote the row."),
    ),
    partition=_PARTITION,
    properties=BATCH_PROPERTIES,
    doc="One row per valid football-data.co.uk match: result, half-time and match statistics.",
)

FOOTBALL_DATA_ODDS = TableDef(
    NAMESPACE,
    "football_data_odds",
    _schema(
        ("match_id", StringType(), True, "Canonical game id (football_data_matches.match_id)."),
        _LEAGUE,
        _SEASON,
        (
            "bookmaker",
            StringType(),
            True,
            "Bookmaker key (lakehouse.football_data.BOOKMAKERS); unknown codes lower-cased.",
        ),
        ("bookmaker_code", StringType(), True, "The file's code, e.g. B365, PS, Max, BbAv."),
        ("bookmaker_kind", StringType(), True, "bookmaker, exchange, composite (market max/avg) or unknown."),
        (
            "market",
            StringType(),
            True,
            "h2h (1X2), totals (over/under 2.5 goals) or spreads (Asian handicap).",
        ),
        ("selection", StringType(), True, "home/draw/away (h2h), home/away (spreads), over/under (totals)."),
        ("phase", StringType(), True, "opening (pre-match columns) or closing (the <code>C... columns)."),
        ("price", DoubleType(), True, "Decimal price, always > 1."),
        ("line", DoubleType(), False, "2.5 for totals, the home handicap for spreads, null for h2h."),
        ("source_column", StringType(), True, "The price's column, e.g. B365CH."),
        _SOURCE_FILE,
        _SOURCE_ROW,
    ),
    partition=_PARTITION,
    properties=BATCH_PROPERTIES,
    doc="Each valid price cell, long form: one row per match x bookmaker x market x selection x phase.",
)

FOOTBALL_DATA_REJECTS = TableDef(
    NAMESPACE,
    "football_data_rejects",
    _schema(
        _LEAGUE,
        _SEASON,
        ("source_file", StringType(), True, "The season file."),
        ("source_row", IntegerType(), False, "1-based data row; null for a file-level problem."),
        ("source_column", StringType(), False, "The offending column; null for a row-level reject."),
        ("reason", StringType(), True, "Why, in a few words (bad date '31/02/21', price 0 not > 1, ...)."),
        ("raw_record", StringType(), False, "The CSV row as JSON (header -> cell)."),
        ("rejected_at", TimestamptzType(), True, "When the loader quarantined it."),
    ),
    partition=_PARTITION,
    properties=BATCH_PROPERTIES,
    doc="Quarantined input: a row-level reject drops the match and its prices, a cell-level one one value.",
)

HISTORY_TABLES: dict[str, TableDef] = {
    t.identifier: t for t in (FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS, FOOTBALL_DATA_REJECTS)
}
"""The batch layer's Iceberg tables, keyed by pyiceberg identifier."""


def retention(properties: Mapping[str, str] = BATCH_PROPERTIES) -> dict[str, Any]:
    """``maintain``'s snapshot expiry arguments from the history tables' properties."""
    return {
        "expire_older_than": timedelta(milliseconds=int(properties["history.expire.max-snapshot-age-ms"])),
        "retain_last": int(properties["history.expire.min-snapshots-to-keep"]),
    }


def ensure_history_tables(
    catalog: Catalog, tables: Mapping[str, TableDef] | None = None
) -> dict[str, Outcome]:
    """Create or evolve the history tables (idempotent), through the same machinery as the rest."""
    return ensure_tables(catalog, tables=HISTORY_TABLES if tables is None else tables)
