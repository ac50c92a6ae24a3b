"""Builders for the canonical feed records: the one place a record dict is spelled out.

Connectors, the replay, the simulator and the test samples all build ``odds`` and ``games``
records through these functions, so a record has one shape wherever it is made: every field
of its event type in declaration order, optional fields defaulting to None, timestamps in the
one canonical spelling.  The builders do not validate values (the publisher does, against the
same schema); they only make it impossible to forget, misspell or add a field.

``record_id`` is the one way a stable id is derived from a source record's parts.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from typing import Any

from lakehouse.schemas import GAME_EVENT, ODDS_QUOTE, EventType, format_timestamp
from lakehouse.schemas.fields import TIMESTAMP

__all__ = ["Timestamp", "game_event", "odds_quote", "record_id"]

Timestamp = datetime | str
"""An aware datetime (formatted here) or a timestamp string (kept as given, validated later)."""


def record_id(*parts: object) -> str:
    """sha1 of the parts joined by '|', None as empty: the same source record always gets the same id."""
    return hashlib.sha1("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _build(event_type: EventType, values: dict[str, Any]) -> dict[str, Any]:
    """The record in field order, timestamps given as datetimes spelled canonically."""
    names = event_type.field_names
    unknown = values.keys() - set(names)
    if unknown:
        raise TypeError(f"{event_type.name} has no field(s) {sorted(unknown)}")
    record = {name: values.get(name) for name in names}
    for name in _timestamp_fields(event_type):
        value = record[name]
        if isinstance(value, datetime):
            record[name] = format_timestamp(value)
    return record


@functools.cache
def _timestamp_fields(event_type: EventType) -> tuple[str, ...]:
    return tuple(f.name for f in event_type.fields if f.type is TIMESTAMP)


def odds_quote(
    *,
    event_id: str,
    source: str,
    sport: str,
    event_time: Timestamp,
    ingested_at: Timestamp,
    game_id: str,
    source_game_id: str,
    bookmaker: str,
    market: str,
    selection: str,
    selection_name: str,
    price: Any,
    is_exchange: bool,
    last_update: Timestamp,
    home_team: str,
    away_team: str,
    commence_time: Timestamp,
    bookmaker_title: str | None = None,
    point: float | None = None,
    previous_price: float | None = None,
    schema_version: int = ODDS_QUOTE.schema_version,
) -> dict[str, Any]:
    """One ``odds`` record (``price`` is typed Any: a source's bad value is kept for the dead letter)."""
    return _build(ODDS_QUOTE, locals())  # the parameters are the fields


def game_event(
    *,
    event_id: str,
    source: str,
    sport: str,
    event_time: Timestamp,
    ingested_at: Timestamp,
    game_id: str,
    source_game_id: str,
    competition: str,
    home_team: str,
    away_team: str,
    commence_time: Timestamp,
    status: str,
    home_team_id: str | None = None,
    away_team_id: str | None = None,
    period: int | None = None,
    clock: str | None = None,
    home_score: int | None = None,
    away_score: int | None = None,
    venue_name: str | None = None,
    venue_city: str | None = None,
    venue_country: str | None = None,
    venue_lat: float | None = None,
    venue_lon: float | None = None,
    status_detail: str | None = None,
    schema_version: int = GAME_EVENT.schema_version,
) -> dict[str, Any]:
    """One ``games`` record."""
    return _build(GAME_EVENT, locals())  # the parameters are the fields
