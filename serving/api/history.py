"""The warehouse reads of the API: live games (``fct_game``) and the analysts' marts.

Each endpoint reads one dbt model by name with equality filters on its documented columns and a
stable order, so pages do not shift between requests.  The warehouse is reached through
``HistoryStore`` (qmark parameters); ``DuckDBHistory`` opens the embedded file read-only per
request, so a backfill or dbt run between two requests is seen at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class HistoryStore(Protocol):
    def query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Mart:
    """One readable model: its relation, the columns a client may filter on, and its order."""

    relation: str
    filters: tuple[str, ...]
    order: tuple[str, ...]
    doc: str


MARTS: dict[str, Mart] = {
    "bookmaker-margins": Mart(
        "marts.mart_bookmaker_margin",
        ("league", "season", "bookmaker", "market", "phase", "price_source"),
        ("league", "season", "bookmaker", "market", "phase", "price_source"),
        "Overround and margin per bookmaker, league, season, market and phase (opening, closing).",
    ),
    "closing-line-value": Mart(
        "marts.mart_closing_line_value",
        ("league", "season", "bookmaker", "market", "match_id"),
        ("match_date", "match_id", "bookmaker", "market", "selection", "closing_line_value_id"),
        "Opening against closing price per match, bookmaker and selection, with Pinnacle's close.",
    ),
    "calibration": Mart(
        "marts.mart_calibration",
        ("bookmaker", "phase"),
        ("bookmaker", "phase", "bucket_index"),
        "Implied and fair probability against realised win rate, in buckets, per bookmaker.",
    ),
    "elo": Mart(
        "marts.mart_team_elo",
        ("league", "season", "team_id", "match_id"),
        ("match_date", "match_id", "team_id"),
        "Pre- and post-match Elo of each team in each match, through every season.",
    ),
}

GAMES = Mart(
    "marts.fct_game",
    ("competition", "status", "game_id"),
    ("kickoff_at", "game_id"),
    "Live games: the latest status and score the game feed reported.",
)


def page(
    store: HistoryStore,
    mart: Mart,
    filters: Mapping[str, Any],
    limit: int,
    offset: int,
    extra: tuple[str, Sequence[Any]] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of ``mart`` with the given equality filters, and the total count."""
    unknown = set(filters) - set(mart.filters)
    if unknown:
        raise ValueError(f"cannot filter {mart.relation} on {sorted(unknown)}; filters: {list(mart.filters)}")
    clauses = [f"{column} = ?" for column in filters]
    params: list[Any] = list(filters.values())
    if extra:
        clauses.append(extra[0])
        params += list(extra[1])
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    total = store.query(f"SELECT count(*) AS n FROM {mart.relation}{where}", params)[0]["n"]
    rows = store.query(
        f"SELECT * FROM {mart.relation}{where} ORDER BY {', '.join(mart.order)} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return rows, int(total)


class DuckDBHistory:
    """The embedded warehouse file, read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        import duckdb

        if not self.path.is_file():
            raise FileNotFoundError(f"no warehouse at {self.path}: run a backfill and `dbt build` first")
        with duckdb.connect(str(self.path), read_only=True) as con:
            cursor = con.execute(sql, list(params))
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class SnowflakeHistory:
    """Snowflake (or the emulator): one connection, reopened if it fails, one query at a time."""

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        import threading

        self._kwargs = connect_kwargs | {"paramstyle": "qmark"}
        self._conn: Any = None
        self._lock = threading.Lock()

    def query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        import snowflake.connector

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        self._conn = snowflake.connector.connect(**self._kwargs)
                    cursor = self._conn.cursor()
                    cursor.execute(sql, list(params))
                    names = [d[0].lower() for d in cursor.description or []]
                    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                except snowflake.connector.errors.OperationalError:
                    self._conn = None  # a dropped session: log in again, once
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
