"""Aggregate records are defined once; every derivation and the validator agree with the definition."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pyiceberg import types as it
from pyspark.sql import types as st

from lakehouse.schemas import (
    AGGREGATE_TYPES,
    ARBITRAGE_OPPORTUNITIES,
    ENVELOPE,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    PIPELINE_HEALTH,
    STEAM_MOVES,
    AggregateType,
    Field,
    ListOf,
    Primitive,
    SchemaValidationError,
    get_aggregate_type,
    iceberg_schema,
    json_schema,
    required,
    spark_schema,
    validate,
)

ALL = sorted(AGGREGATE_TYPES.values(), key=lambda t: t.name)
IDS = [t.name for t in ALL]

Shape = list[tuple[str, bool, Any]]


def _dsl_shape(fields: tuple[Field, ...]) -> Shape:
    def kids(t: Any) -> Any:
        return ("list", not t.element_required) if isinstance(t, ListOf) else None

    return [(f.name, not f.required, kids(f.type)) for f in fields]


def _json_shape(schema: dict[str, Any]) -> Shape:
    def nullable(s: dict[str, Any]) -> bool:
        return isinstance(s["type"], list) and "null" in s["type"]

    def kids(s: dict[str, Any]) -> Any:
        kind = s["type"][0] if isinstance(s["type"], list) else s["type"]
        return ("list", nullable(s["items"])) if kind == "array" else None

    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {n for n, s in props.items() if not nullable(s)}
    return [(n, nullable(s), kids(s)) for n, s in props.items()]


def _spark_shape(struct: st.StructType) -> Shape:
    def kids(t: st.DataType) -> Any:
        return ("list", t.containsNull) if isinstance(t, st.ArrayType) else None

    return [(f.name, f.nullable, kids(f.dataType)) for f in struct.fields]


def _iceberg_shape(fields: tuple[it.NestedField, ...]) -> Shape:
    def kids(t: it.IcebergType) -> Any:
        return ("list", not t.element_required) if isinstance(t, it.ListType) else None

    return [(f.name, not f.required, kids(f.field_type)) for f in fields]


SAMPLES: dict[str, dict[str, Any]] = {
    "market_prices_live": {
        "game_id": "2024-03-30:newcastle-united:west-ham-united",
        "sport": "soccer_epl",
        "market": "spreads",
        "bookmaker": "pinnacle",
        "selection": "away",
        "point": 0.5,
        "price": 1.95,
        "previous_price": 1.98,
        "is_exchange": False,
        "last_update": "2024-03-27T18:03:32Z",
        "event_id": "0f3c9e",
        "updated_at": "2024-03-27T18:03:33.250+00:00",
        "home_team": "Newcastle United",
        "away_team": "West Ham United",
        "commence_time": "2024-03-30T12:30:00Z",
    },
    "market_1m": {
        "window_start": "2024-03-27T18:03:00Z",
        "window_end": "2024-03-27T18:04:00Z",
        "game_id": "2024-03-30:newcastle-united:west-ham-united",
        "sport": "soccer_epl",
        "market": "h2h",
        "point": None,
        "bookmaker": "pinnacle",
        "selection": "home",
        "open_price": 1.87,
        "last_price": 1.85,
        "min_price": 1.84,
        "max_price": 1.87,
        "quotes": 4,
        "best_price": 1.9,
        "best_bookmaker": "betfair_ex_eu",
        "fair_prob_shin": 0.52,
        "fair_prob_multiplicative": 0.515,
        "bookmaker_margin": 0.031,
        "updated_at": "2024-03-27T18:04:02Z",
    },
    "arbitrage": {
        "arb_id": "5d41402abc4b2a76b9719d911017c592",
        "game_id": "2024-03-30:newcastle-united:west-ham-united",
        "sport": "soccer_epl",
        "market": "h2h",
        "point": None,
        "status": "closed",
        "opened_at": "2024-03-27T18:03:00Z",
        "closed_at": "2024-03-27T18:03:41.5Z",
        "age_s": 41.5,
        "inverse_sum": 0.992063,
        "guaranteed_return": 0.008,
        "selections": ["home", "draw", "away"],
        "best_prices": [2.1, 3.6, 4.2],
        "bookmakers": ["book_a", "book_b", "book_c"],
        "stakes": [48.0, 28.0, 24.0],
        "updated_at": "2024-03-27T18:03:41.5Z",
    },
    "steam_moves": {
        "window_start": "2024-03-27T18:03:00Z",
        "window_end": "2024-03-27T18:04:00Z",
        "game_id": "2024-03-30:newcastle-united:west-ham-united",
        "sport": "soccer_epl",
        "market": "totals",
        "point": 2.5,
        "selection": "over",
        "direction": "shortening",
        "books_moved": 4,
        "books_quoting": 9,
        "median_move_pct": -3.2,
        "threshold_pct": 2.0,
        "detected_at": "2024-03-27T18:04:01Z",
    },
    "health": {
        "component": "producer:the_odds_api",
        "metric": "records_per_s",
        "value": 120.5,
        "labels": '{"sport": "soccer_epl"}',
        "observed_at": "2024-03-27T18:04:01Z",
    },
}


@pytest.mark.parametrize("agg", ALL, ids=IDS)
def test_all_derivations_have_the_same_fields_order_and_nullability(agg: AggregateType) -> None:
    expected = _dsl_shape(agg.fields)
    assert _json_shape(json_schema(agg)) == expected
    assert _spark_shape(spark_schema(agg)) == expected
    assert _iceberg_shape(iceberg_schema(agg).fields) == expected
    Draft202012Validator.check_schema(json_schema(agg))


@pytest.mark.parametrize("agg", ALL, ids=IDS)
def test_a_sample_record_validates_and_is_canonicalised(agg: AggregateType) -> None:
    record = SAMPLES[agg.topic_suffix]
    out = validate(agg, record)
    assert list(out) == [f.name for f in agg.fields]
    timestamps = [f.name for f in agg.fields if f.type is Primitive.TIMESTAMP and out[f.name] is not None]
    assert timestamps and all(out[n].endswith("Z") and len(out[n]) == 27 for n in timestamps)
    assert validate(agg, out) == out


def test_registry_topics_keys_and_lookup() -> None:
    assert set(AGGREGATE_TYPES) == {"market_prices_live", "market_1m", "arbitrage", "steam_moves", "health"}
    assert {t.topic for t in ALL} == {
        "agg.market_prices_live",
        "agg.market_1m",
        "agg.arbitrage",
        "agg.steam_moves",
        "pipeline.health",
    }
    assert AGGREGATE_TYPES["market_1m"] is MARKET_AGG_1M
    assert get_aggregate_type("agg.arbitrage") is ARBITRAGE_OPPORTUNITIES
    assert get_aggregate_type("steam_moves") is STEAM_MOVES
    assert get_aggregate_type("pipeline_health") is PIPELINE_HEALTH
    with pytest.raises(KeyError, match="known: arbitrage, health"):
        get_aggregate_type("odds")
    envelope_only = {f.name for f in ENVELOPE} - {"event_id", "sport"}
    for agg in ALL:
        # v2 added `retracted` to the rows an out-of-order quote can undo; v3 the arbitrage's
        # assessment by the trader's rules
        retractable = agg in (ARBITRAGE_OPPORTUNITIES, STEAM_MOVES)
        expected = 3 if agg is ARBITRAGE_OPPORTUNITIES else 2 if retractable else 1
        assert agg.schema_version == expected, agg.name
        assert ("retracted" in {f.name for f in agg.fields}) is retractable, agg.name
        assert not envelope_only & {f.name for f in agg.fields}, agg.name  # no envelope
        assert set(agg.key) <= {f.name for f in agg.fields}


def test_spot_checks() -> None:
    live = json_schema(MARKET_PRICES_LIVE)["properties"]
    assert live["price"]["exclusiveMinimum"] == 1.0
    assert live["previous_price"]["type"] == ["number", "null"]
    arb_spark = spark_schema(ARBITRAGE_OPPORTUNITIES)
    assert arb_spark["stakes"].dataType == st.ArrayType(st.DoubleType(), False)
    assert json_schema(ARBITRAGE_OPPORTUNITIES)["properties"]["status"]["enum"] == ["open", "closed"]
    assert iceberg_schema(MARKET_AGG_1M).find_field("quotes").field_type == it.LongType()
    assert json_schema(STEAM_MOVES)["properties"]["direction"]["enum"] == ["shortening", "drifting"]


@pytest.mark.parametrize(
    ("agg", "change", "reason"),
    [
        (MARKET_PRICES_LIVE, {"price": 1.0}, "price: 1.0 is less than or equal to the minimum of 1.0"),
        (MARKET_AGG_1M, {"fair_prob_shin": 1.2}, "fair_prob_shin: 1.2 is greater than the maximum"),
        (ARBITRAGE_OPPORTUNITIES, {"status": "pending"}, "status: 'pending' is not one of"),
        (STEAM_MOVES, {"books_moved": 0}, "books_moved: 0 is less than the minimum of 1"),
        (PIPELINE_HEALTH, {"host": "a"}, "unknown field 'host'"),
    ],
    ids=["price", "probability", "status", "books", "extra"],
)
def test_validate_rejects_bad_aggregates(agg: AggregateType, change: dict[str, Any], reason: str) -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate(agg, {**SAMPLES[agg.topic_suffix], **change})
    assert reason in info.value.reason


def test_aggregate_type_rejects_inconsistent_definitions() -> None:
    field = required("a", Primitive.STRING, "a")
    with pytest.raises(ValueError, match="key column"):
        AggregateType("x", "agg.x", 1, "x", (field,), key=("b",), time_column="a")
    with pytest.raises(ValueError, match="duplicate"):
        AggregateType("x", "agg.x", 1, "x", (field, field), key=("a",), time_column="a")
    with pytest.raises(ValueError, match="starts at 1"):
        AggregateType("x", "agg.x", 0, "x", (field,), key=("a",), time_column="a")
    with pytest.raises(ValueError, match="time_column"):
        AggregateType("x", "agg.x", 1, "x", (field,), key=("a",), time_column="b")
