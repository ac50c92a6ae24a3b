"""Rows of the lake's tables built by hand, for tests that write them without the stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa


def silver_quote(event_id: str, at: datetime, price: float) -> dict[str, Any]:
    """A ``silver.odds_quotes`` row: one home price of one game, quoted and read at ``at``."""
    return {
        "event_id": event_id,
        "source": "simulator",
        "sport": "soccer_epl",
        "event_time": at,
        "ingested_at": at,
        "schema_version": 1,
        "game_id": "g1",
        "source_game_id": "s1",
        "bookmaker": "pinnacle",
        "bookmaker_title": "Pinnacle",
        "market": "h2h",
        "selection": "home",
        "selection_name": "Arsenal",
        "price": price,
        "point": None,
        "is_exchange": False,
        "last_update": at,
        "previous_price": None,
        "home_team": "Arsenal",
        "away_team": "Chelsea",
        "commence_time": at,
        "kafka_topic": "odds.quotes",
        "kafka_partition": 0,
        "kafka_offset": int(at.timestamp()),
        "processed_at": at,
    }


def lake_row(identifier: str, **given: Any) -> dict[str, Any]:
    """A row of the lake table ``identifier``: the given values, every optional column left out
    as null; a required column left out is a mistake in the test."""
    from iceberg.tables import TABLES

    fields = TABLES[identifier].schema.fields
    missing = [f.name for f in fields if f.required and f.name not in given]
    unknown = set(given) - {f.name for f in fields}
    if missing or unknown:
        raise ValueError(f"{identifier}: required {missing} missing, unknown {sorted(unknown)}")
    return {f.name: given.get(f.name) for f in fields}


def append_rows(catalog: Any, identifier: str, rows: list[dict[str, Any]]) -> None:
    """One pyiceberg append (one snapshot) of ``rows`` in the table's own Arrow schema."""
    table = catalog.load_table(identifier)
    table.append(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))
