"""Canonical event schemas: defined once in ``events``, derived for JSON Schema, Spark and Iceberg.

Importing this package loads neither pyspark nor pyiceberg; the Spark and Iceberg
derivers import them on first call, so producers stay JVM-free.
"""

from lakehouse.schemas.aggregates import (
    AGGREGATE_TYPES,
    ARBITRAGE_OPPORTUNITIES,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    PIPELINE_HEALTH,
    STEAM_MOVES,
    AggregateType,
    ArbitrageStatus,
    SteamDirection,
    get_aggregate_type,
)
from lakehouse.schemas.events import (
    ENVELOPE,
    EVENT_TYPES,
    GAME_EVENT,
    NEWS_ARTICLE,
    ODDS_QUOTE,
    WEATHER_OBSERVATION,
    EventType,
    GameStatus,
    Market,
    RecordType,
    Selection,
    WeatherKind,
    get_event_type,
)
from lakehouse.schemas.fields import Field, ListOf, Primitive, StructOf, optional, required
from lakehouse.schemas.iceberg import iceberg_schema
from lakehouse.schemas.json_schema import json_schema
from lakehouse.schemas.spark import spark_schema
from lakehouse.schemas.timestamps import format_timestamp
from lakehouse.schemas.validate import SchemaValidationError, validate

__all__ = [
    "AGGREGATE_TYPES",
    "ARBITRAGE_OPPORTUNITIES",
    "ENVELOPE",
    "EVENT_TYPES",
    "GAME_EVENT",
    "MARKET_AGG_1M",
    "MARKET_PRICES_LIVE",
    "NEWS_ARTICLE",
    "ODDS_QUOTE",
    "PIPELINE_HEALTH",
    "STEAM_MOVES",
    "WEATHER_OBSERVATION",
    "AggregateType",
    "ArbitrageStatus",
    "EventType",
    "Field",
    "GameStatus",
    "ListOf",
    "Market",
    "Primitive",
    "RecordType",
    "SchemaValidationError",
    "Selection",
    "SteamDirection",
    "StructOf",
    "WeatherKind",
    "format_timestamp",
    "get_aggregate_type",
    "get_event_type",
    "iceberg_schema",
    "json_schema",
    "optional",
    "required",
    "spark_schema",
    "validate",
]
