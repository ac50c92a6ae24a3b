"""The schemas are defined once; these tests pin that every derivation agrees with the definition."""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pyiceberg import types as it
from pyiceberg.schema import Schema
from pyspark.sql import types as st

from lakehouse.schemas import (
    EVENT_TYPES,
    GAME_EVENT,
    NEWS_ARTICLE,
    ODDS_QUOTE,
    EventType,
    Field,
    ListOf,
    Primitive,
    SchemaValidationError,
    StructOf,
    format_timestamp,
    get_event_type,
    iceberg_schema,
    json_schema,
    optional,
    required,
    spark_schema,
    validate,
)

ALL_TYPES = sorted(EVENT_TYPES.values(), key=lambda t: t.name)

# A synthetic type exercising every primitive and both containers.
KITCHEN_SINK = EventType(
    name="kitchen_sink",
    schema_version=2,
    doc="Every DSL construct once.",
    payload=(
        required("s", Primitive.STRING, "string"),
        optional("i", Primitive.INT, "int"),
        optional("l", Primitive.LONG, "long"),
        optional("d", Primitive.DOUBLE, "double"),
        optional("b", Primitive.BOOLEAN, "boolean"),
        optional("ts", Primitive.TIMESTAMP, "timestamp"),
        optional("dt", Primitive.DATE, "date"),
        required("tags", ListOf(Primitive.STRING), "list"),
        optional("maybe_ints", ListOf(Primitive.INT, element_required=False), "list, nullable elements"),
        optional(
            "venue",
            StructOf((required("name", Primitive.STRING, "n"), optional("lat", Primitive.DOUBLE, "lat"))),
            "struct",
        ),
        optional(
            "legs",
            ListOf(StructOf((required("price", Primitive.DOUBLE, "p", exclusive_minimum=1.0),))),
            "list of structs",
        ),
    ),
)
TYPES_UNDER_TEST = [*ALL_TYPES, KITCHEN_SINK]
IDS = [t.name for t in TYPES_UNDER_TEST]

# ---------------------------------------------------------------- shape extraction
# Each returns a nested list of (name, nullable, children) so the three targets compare directly.
Shape = list[tuple[str, bool, Any]]


def _dsl_shape(fields: tuple[Field, ...]) -> Shape:
    def kids(t: Any) -> Any:
        if isinstance(t, ListOf):
            return ("list", not t.element_required, kids(t.element))
        if isinstance(t, StructOf):
            return _dsl_shape(t.fields)
        return None

    return [(f.name, not f.required, kids(f.type)) for f in fields]


def _json_shape(schema: dict[str, Any]) -> Shape:
    def nullable(s: dict[str, Any]) -> bool:
        return isinstance(s["type"], list) and "null" in s["type"]

    def kids(s: dict[str, Any]) -> Any:
        kind = s["type"][0] if isinstance(s["type"], list) else s["type"]
        if kind == "array":
            return ("list", nullable(s["items"]), kids(s["items"]))
        if kind == "object":
            return _json_shape(s)
        return None

    assert schema["additionalProperties"] is False
    props = schema["properties"]
    # required <=> not nullable, for every property
    assert set(schema["required"]) == {n for n, s in props.items() if not nullable(s)}
    return [(n, nullable(s), kids(s)) for n, s in props.items()]


def _spark_shape(struct: st.StructType) -> Shape:
    def kids(t: st.DataType) -> Any:
        if isinstance(t, st.ArrayType):
            return ("list", t.containsNull, kids(t.elementType))
        if isinstance(t, st.StructType):
            return _spark_shape(t)
        return None

    return [(f.name, f.nullable, kids(f.dataType)) for f in struct.fields]


def _iceberg_shape(fields: tuple[it.NestedField, ...]) -> Shape:
    def kids(t: it.IcebergType) -> Any:
        if isinstance(t, it.ListType):
            return ("list", not t.element_required, kids(t.element_type))
        if isinstance(t, it.StructType):
            return _iceberg_shape(t.fields)
        return None

    return [(f.name, not f.required, kids(f.field_type)) for f in fields]


def _iceberg_ids(schema: Schema) -> dict[str, int]:
    """Every field id keyed by path, list elements included ('legs.element.price')."""
    out: dict[str, int] = {}

    def walk(t: it.IcebergType, path: str) -> None:
        if isinstance(t, it.ListType):
            out[f"{path}.element"] = t.element_id
            walk(t.element_type, f"{path}.element")
        elif isinstance(t, it.StructType):
            for f in t.fields:
                name = f"{path}.{f.name}" if path else f.name
                out[name] = f.field_id
                walk(f.field_type, name)

    walk(schema.as_struct(), "")
    return out


# ---------------------------------------------------------------- derivations agree


@pytest.mark.parametrize("event_type", TYPES_UNDER_TEST, ids=IDS)
def test_all_derivations_have_the_same_fields_order_and_nullability(event_type: EventType) -> None:
    expected = _dsl_shape(event_type.fields)
    assert _json_shape(json_schema(event_type)) == expected
    assert _spark_shape(spark_schema(event_type)) == expected
    assert _iceberg_shape(iceberg_schema(event_type).fields) == expected


@pytest.mark.parametrize("event_type", TYPES_UNDER_TEST, ids=IDS)
def test_json_schema_is_valid_draft_2020_12(event_type: EventType) -> None:
    schema = json_schema(event_type)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_record_starts_with_the_envelope() -> None:
    envelope = ["event_id", "source", "sport", "event_time", "ingested_at", "schema_version"]
    for event_type in ALL_TYPES:
        assert [f.name for f in event_type.fields[: len(envelope)]] == envelope
        assert all(f.required for f in event_type.fields[: len(envelope)])


def test_registry_keys_and_lookup() -> None:
    assert set(EVENT_TYPES) == {"odds", "games", "weather", "news"}
    assert {t.name: t.schema_version for t in ALL_TYPES} == {"odds": 1, "games": 2, "weather": 1, "news": 1}
    assert GAME_EVENT.supported_versions == (1, 2)  # a version-1 game record stays valid
    assert get_event_type("odds") is ODDS_QUOTE
    with pytest.raises(KeyError, match="known: games, news, odds, weather"):
        get_event_type("bets")


def test_primitive_type_mapping_in_all_targets() -> None:
    props = json_schema(KITCHEN_SINK)["properties"]
    spark = {f.name: f.dataType for f in spark_schema(KITCHEN_SINK).fields}
    ice = {f.name: f.field_type for f in iceberg_schema(KITCHEN_SINK).fields}
    expected = {
        "s": ({"type": "string"}, st.StringType(), it.StringType()),
        "i": ({"type": ["integer", "null"], "minimum": -(2**31)}, st.IntegerType(), it.IntegerType()),
        "l": ({"type": ["integer", "null"], "maximum": 2**63 - 1}, st.LongType(), it.LongType()),
        "d": ({"type": ["number", "null"]}, st.DoubleType(), it.DoubleType()),
        "b": ({"type": ["boolean", "null"]}, st.BooleanType(), it.BooleanType()),
        "ts": ({"format": "date-time"}, st.TimestampType(), it.TimestamptzType()),
        "dt": ({"format": "date"}, st.DateType(), it.DateType()),
    }
    for name, (json_part, spark_type, iceberg_type) in expected.items():
        assert json_part.items() <= props[name].items(), name
        assert spark[name] == spark_type, name
        assert ice[name] == iceberg_type, name


def test_spot_checks_on_real_types() -> None:
    odds_json = json_schema(ODDS_QUOTE)["properties"]
    assert odds_json["price"]["exclusiveMinimum"] == 1.0
    assert odds_json["market"]["enum"] == ["h2h", "h2h_lay", "spreads", "totals"]
    assert odds_json["point"]["type"] == ["number", "null"]
    spark = spark_schema(ODDS_QUOTE)
    assert spark["price"].dataType == st.DoubleType() and not spark["price"].nullable
    assert spark["price"].metadata["comment"].startswith("Decimal odds")
    news_ice = iceberg_schema(NEWS_ARTICLE)
    team_ids = news_ice.find_field("team_ids")
    assert team_ids.required
    assert isinstance(team_ids.field_type, it.ListType) and team_ids.field_type.element_required
    assert spark_schema(NEWS_ARTICLE)["team_ids"].dataType == st.ArrayType(st.StringType(), False)


# ---------------------------------------------------------------- iceberg ids


@pytest.mark.parametrize("event_type", TYPES_UNDER_TEST, ids=IDS)
def test_iceberg_ids_are_unique_dense_and_deterministic(event_type: EventType) -> None:
    ids = _iceberg_ids(iceberg_schema(event_type))
    assert sorted(ids.values()) == list(range(1, len(ids) + 1))
    assert _iceberg_ids(iceberg_schema(event_type)) == ids
    assert iceberg_schema(event_type) == iceberg_schema(event_type)


def test_iceberg_ids_are_depth_first_in_declaration_order() -> None:
    ids = _iceberg_ids(iceberg_schema(NEWS_ARTICLE))
    assert ids["event_id"] == 1
    assert ids["team_ids.element"] == ids["team_ids"] + 1
    assert ids["teams"] == ids["team_ids"] + 2


@pytest.mark.parametrize("event_type", TYPES_UNDER_TEST, ids=IDS)
def test_appending_an_optional_field_keeps_existing_ids(event_type: EventType) -> None:
    before = _iceberg_ids(iceberg_schema(event_type))
    evolved = replace(
        event_type,
        schema_version=event_type.schema_version + 1,
        payload=(
            *event_type.payload,
            optional("extra_tags", ListOf(Primitive.STRING), "A new optional list."),
            optional("extra_note", Primitive.STRING, "A new optional column."),
        ),
    )
    after = _iceberg_ids(iceberg_schema(evolved))
    assert {k: after[k] for k in before} == before
    new_ids = sorted(after[k] for k in after.keys() - before.keys())
    assert new_ids == list(range(max(before.values()) + 1, max(before.values()) + 4))


# ---------------------------------------------------------------- validation


def _good_quote() -> dict[str, Any]:
    return {
        "event_id": "the_odds_api:abc123:pinnacle:h2h:home:1718000000",
        "source": "the_odds_api",
        "sport": "soccer_epl",
        "event_time": "2024-06-10T12:00:00Z",
        "ingested_at": "2024-06-10T14:00:01.5+02:00",
        "schema_version": 1,
        "game_id": "g_2024_ars_che",
        "source_game_id": "abc123",
        "bookmaker": "pinnacle",
        "market": "h2h",
        "selection": "home",
        "selection_name": "Arsenal",
        "price": 2,
        "is_exchange": False,
        "last_update": "2024-06-10T11:59:58.123456789Z",
        "previous_price": None,
        "home_team": "Arsenal",
        "away_team": "Chelsea",
        "commence_time": "2024-06-15T16:30:00+01:00",
    }


def test_validate_accepts_a_good_quote_and_canonicalises_it() -> None:
    record = _good_quote()
    out = validate(ODDS_QUOTE, record)
    assert list(out) == [f.name for f in ODDS_QUOTE.fields]  # declaration order, all present
    assert out["bookmaker_title"] is None and out["point"] is None
    assert out["price"] == 2.0 and isinstance(out["price"], float)
    assert out["ingested_at"] == "2024-06-10T12:00:01.500000Z"
    assert out["last_update"] == "2024-06-10T11:59:58.123456Z"
    assert out["commence_time"] == "2024-06-15T15:30:00.000000Z"
    assert record == _good_quote()  # input untouched
    assert validate("odds", record) == out  # lookup by name
    assert validate(ODDS_QUOTE, out) == out  # canonical form is a fixed point


def _broken(mutate: Any) -> dict[str, Any]:
    record = copy.deepcopy(_good_quote())
    mutate(record)
    return record


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_broken(lambda r: r.pop("bookmaker")), "missing required field 'bookmaker'"),
        (_broken(lambda r: r.update(price="2.5")), "price: '2.5' is not of type 'number'"),
        (_broken(lambda r: r.update(is_exchange="no")), "is_exchange: 'no' is not of type 'boolean'"),
        (_broken(lambda r: r.update(price=0.95)), "price: 0.95 is less than or equal to the minimum of 1.0"),
        (_broken(lambda r: r.update(price=1.0)), "price: 1.0 is less than or equal to the minimum of 1.0"),
        (_broken(lambda r: r.update(market="outrights")), "market: 'outrights' is not one of"),
        (_broken(lambda r: r.update(bookie="x")), "unknown field 'bookie'"),
        (_broken(lambda r: r.update(schema_version=7)), "unknown schema_version 7 for odds (supported: 1)"),
        (_broken(lambda r: r.update(event_time="2024-06-10 12:00")), "event_time: '2024-06-10 12:00' is not"),
        (_broken(lambda r: r.update(event_time="2024-06-10T12:00:00")), "is not a 'date-time'"),
        (_broken(lambda r: r.update(price=float("nan"))), "price: nan is not a finite number"),
        (_broken(lambda r: r.update(sport="Soccer EPL")), "sport: 'Soccer EPL' does not match"),
        (_broken(lambda r: r.update(game_id=None)), "game_id: None is not of type 'string'"),
        ([1, 2], "record must be a JSON object, got list"),
    ],
    ids=[
        "missing",
        "wrong-type",
        "wrong-type-bool",
        "price-below-1",
        "price-equal-1",
        "unknown-market",
        "extra-field",
        "unknown-version",
        "not-rfc3339",
        "naive-timestamp",
        "nan",
        "bad-sport-key",
        "null-required",
        "not-an-object",
    ],
)
def test_validate_rejects_with_a_clear_reason(record: Any, reason: str) -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate(ODDS_QUOTE, record)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_validate_reports_several_problems_briefly() -> None:
    record = _broken(lambda r: [r.pop(k) for k in ("bookmaker", "market", "price", "selection")])
    with pytest.raises(SchemaValidationError) as info:
        validate(ODDS_QUOTE, record)
    assert len(info.value.errors) == 4
    assert info.value.reason.endswith("(+1 more)")
    assert info.value.reason.count(";") == 2


def test_validate_nested_paths_and_older_versions() -> None:
    base = {
        "event_id": "e1",
        "source": "simulator",
        "sport": "soccer_epl",
        "event_time": "2024-06-10T12:00:00Z",
        "ingested_at": "2024-06-10T12:00:00Z",
        "s": "x",
        "tags": [],
    }
    ok = validate(KITCHEN_SINK, {**base, "schema_version": 1, "legs": [{"price": 1.5}]})
    assert ok["legs"] == [{"price": 1.5}] and ok["venue"] is None
    with pytest.raises(SchemaValidationError, match=r"legs\[0\]\.price: 1\.0 is less than"):
        validate(KITCHEN_SINK, {**base, "schema_version": 2, "legs": [{"price": 1.0}]})
    with pytest.raises(SchemaValidationError, match=r"unknown field 'venue\.city'"):
        validate(KITCHEN_SINK, {**base, "schema_version": 2, "venue": {"name": "n", "city": "c"}})
    with pytest.raises(SchemaValidationError, match=r"missing required field 'venue\.name'"):
        validate(KITCHEN_SINK, {**base, "schema_version": 2, "venue": {}})
    with pytest.raises(SchemaValidationError, match=r"tags\[1\]: 3 is not of type 'string'"):
        validate(KITCHEN_SINK, {**base, "schema_version": 2, "tags": ["a", 3]})


def test_format_timestamp_refuses_naive_datetimes() -> None:
    assert format_timestamp(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05.000000Z"
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(datetime(2024, 1, 2))


def test_field_dsl_rejects_inconsistent_definitions() -> None:
    with pytest.raises(ValueError, match="snake_case"):
        required("Price", Primitive.DOUBLE, "x")
    with pytest.raises(ValueError, match="numeric bounds"):
        required("name", Primitive.STRING, "x", minimum=0)
    with pytest.raises(ValueError, match="duplicate"):
        replace(ODDS_QUOTE, payload=(*ODDS_QUOTE.payload, optional("price", Primitive.DOUBLE, "again")))


# ---------------------------------------------------------------- import weight


def test_importing_schemas_loads_neither_pyspark_nor_pyiceberg() -> None:
    code = (
        "import sys\n"
        "from lakehouse.schemas import EVENT_TYPES, json_schema, validate\n"
        "for t in EVENT_TYPES.values(): json_schema(t)\n"
        "try:\n"
        "    validate('odds', {})\n"
        "except Exception:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'pyiceberg', 'py4j'))\n"
        "assert not heavy, heavy\n"
    )
    repo_root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
