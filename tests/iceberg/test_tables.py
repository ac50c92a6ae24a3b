"""Tables as code: definitions derived from the record schemas, created and evolved idempotently."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import DoubleType, IcebergType, IntegerType, LongType, NestedField, StringType

from iceberg import TABLES, SchemaEvolutionError, TableDef, ensure_tables
from iceberg.tables import STREAMING_PROPERTIES, UPSERT_PROPERTIES
from infra.stack.moto import MotoServer
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from lakehouse.schemas import AGGREGATE_TYPES, EVENT_TYPES, iceberg_schema
from tests.support.rows import silver_quote

LINEAGE = ["kafka_topic", "kafka_partition", "kafka_offset", "processed_at"]


@pytest.fixture
def catalog(tmp_path: Path):
    """A private local catalog: these tests use the real namespaces without touching other tests."""
    return load_catalog(Settings(state_dir=tmp_path))


def scratch(identifier: str, run: str) -> TableDef:
    """The same definition in a namespace of its own, for catalogs shared with other tests."""
    td = TABLES[identifier]
    return replace(td, namespace=f"{td.namespace}_{run}")


def with_optional_column(td: TableDef, name: str) -> TableDef:
    """``td`` with one optional column appended: what adding a payload field produces."""
    extra = NestedField(
        td.schema.highest_field_id + 1, name, DoubleType(), required=False, doc="Added later."
    )
    return replace(td, schema=Schema(*td.schema.fields, extra))


# --- definitions -------------------------------------------------------------------------


def test_every_layer_is_defined() -> None:
    assert set(TABLES) == {
        "bronze.kafka_records",
        "silver.odds_quotes",
        "silver.games",
        "silver.weather",
        "silver.news",
        "silver.dead_letters",
        "silver.late_events",
        "gold.market_prices_live",
        "gold.market_agg_1m",
        "gold.arbitrage_opportunities",
        "gold.steam_moves",
        "gold.pipeline_health",
    }
    assert all(TABLES[i].identifier == i for i in TABLES)


def test_silver_is_the_event_schema_plus_optional_lineage_with_new_ids() -> None:
    for feed, table in {
        "odds": "odds_quotes",
        "games": "games",
        "weather": "weather",
        "news": "news",
    }.items():
        event = iceberg_schema(EVENT_TYPES[feed])
        td = TABLES[f"silver.{table}"]
        n = len(event.fields)
        assert td.schema.fields[:n] == event.fields  # same names, types, requiredness and ids
        lineage = td.schema.fields[n:]
        assert [f.name for f in lineage] == LINEAGE
        assert all(f.optional and f.field_id > event.highest_field_id for f in lineage)
        assert td.partition == (("event_time", "day", "event_time_day"), ("sport", "identity", "sport"))
        assert td.sort == (("game_id", "asc"), ("event_time", "asc"))


def test_gold_tables_are_derived_from_the_aggregate_types() -> None:
    gold = {i: td for i, td in TABLES.items() if td.namespace == "gold"}
    assert set(gold) == {f"gold.{a.name}" for a in AGGREGATE_TYPES.values()}
    for agg in AGGREGATE_TYPES.values():
        td = gold[f"gold.{agg.name}"]
        assert td.schema == iceberg_schema(agg)
        assert td.sort == tuple((c, "asc") for c in agg.key)
    partition_time = {name.split(".")[1]: td.partition[0][0] for name, td in gold.items()}
    assert partition_time == {
        "market_prices_live": "last_update",
        "market_agg_1m": "window_start",
        "arbitrage_opportunities": "opened_at",
        "steam_moves": "window_start",
        "pipeline_health": "observed_at",
    }
    assert all(td.partition[0][1] == "day" for td in gold.values())


def test_streaming_properties_everywhere_and_merge_on_read_only_where_upserted() -> None:
    for identifier, td in TABLES.items():
        assert STREAMING_PROPERTIES.items() <= td.properties.items(), identifier
        upserted = UPSERT_PROPERTIES.items() <= td.properties.items()
        assert upserted == (identifier == "gold.market_prices_live")
        assert td.doc


def test_inconsistent_definitions_fail_at_definition_time() -> None:
    schema = Schema(NestedField(1, "ts", StringType(), required=True))
    with pytest.raises(ValueError, match="no column 'missing'"):
        TableDef("x", "t", schema, partition=(("missing", "day", "d"),))
    with pytest.raises(ValueError, match="cannot apply day"):
        TableDef("x", "t", schema, partition=(("ts", "day", "d"),))
    with pytest.raises(ValueError, match="unknown partition transform"):
        TableDef("x", "t", schema, partition=(("ts", "fortnight", "d"),))
    with pytest.raises(ValueError, match="asc or desc"):
        TableDef("x", "t", schema, sort=(("ts", "up"),))  # type: ignore[arg-type]


# --- ensure_tables on a local catalog ----------------------------------------------------


def test_ensure_creates_every_table_as_defined_then_is_idempotent(catalog) -> None:
    assert ensure_tables(catalog) == dict.fromkeys(TABLES, "created")
    for identifier, td in TABLES.items():
        table = catalog.load_table(identifier)
        assert table.format_version == 2
        # Catalogs renumber ids on create (nested ones differently), so compare without ids.
        assert [(f.name, str(f.field_type), f.required) for f in table.schema().fields] == [
            (f.name, str(f.field_type), f.required) for f in td.schema.fields
        ]
        spec = [
            (table.schema().find_column_name(f.source_id), str(f.transform), f.name)
            for f in table.spec().fields
        ]
        assert spec == list(td.partition)
        sort = [
            (table.schema().find_column_name(f.source_id), f.direction.value)
            for f in table.sort_order().fields
        ]
        assert sort == list(td.sort)
        wanted = {k: v for k, v in td.table_properties.items() if k != "format-version"}
        assert wanted.items() <= table.properties.items()
    assert ensure_tables(catalog) == dict.fromkeys(TABLES, "unchanged")


def test_ensure_only_the_named_tables_and_rejects_unknown_ones(catalog) -> None:
    assert ensure_tables(catalog, ["gold.pipeline_health"]) == {"gold.pipeline_health": "created"}
    assert [t for ns in catalog.list_namespaces() for t in catalog.list_tables(ns)] == [
        ("gold", "pipeline_health")
    ]
    with pytest.raises(KeyError, match="no table definition"):
        ensure_tables(catalog, ["gold.nope"])


def test_changed_properties_are_applied_and_extra_ones_kept(catalog) -> None:
    td = TABLES["silver.late_events"]
    ensure_tables(catalog, [td.identifier])
    catalog.load_table(td.identifier).transaction().set_properties(
        {"operator.note": "tuned"}
    ).commit_transaction()
    changed = replace(td, properties={**td.properties, "write.target-file-size-bytes": "67108864"})
    assert ensure_tables(catalog, tables={td.identifier: changed}) == {td.identifier: "evolved"}
    props = catalog.load_table(td.identifier).properties
    assert props["write.target-file-size-bytes"] == "67108864"
    assert props["operator.note"] == "tuned"
    assert ensure_tables(catalog, tables={td.identifier: changed}) == {td.identifier: "unchanged"}


def test_a_new_required_column_is_refused_and_nothing_changes(catalog) -> None:
    td = TABLES["silver.odds_quotes"]
    ensure_tables(catalog, [td.identifier])
    before = catalog.load_table(td.identifier).metadata_location
    extra = NestedField(td.schema.highest_field_id + 1, "must_have", StringType(), required=True, doc="x")
    broken = replace(td, schema=Schema(*td.schema.fields, extra))
    with pytest.raises(SchemaEvolutionError, match="must_have"):
        ensure_tables(catalog, tables={td.identifier: broken})
    assert catalog.load_table(td.identifier).metadata_location == before


def test_an_optional_column_is_never_tightened_to_required(catalog) -> None:
    """Old rows may hold nulls; a definition marking the column required leaves the table alone."""
    td = TABLES["gold.pipeline_health"]
    ensure_tables(catalog, [td.identifier])
    fields = [
        NestedField(f.field_id, f.name, f.field_type, required=True, doc=f.doc) if f.name == "labels" else f
        for f in td.schema.fields
    ]
    tightened = replace(td, schema=Schema(*fields))
    assert ensure_tables(catalog, tables={td.identifier: tightened}) == {td.identifier: "unchanged"}
    assert catalog.load_table(td.identifier).schema().find_field("labels").optional


def test_types_only_widen(catalog) -> None:
    td = TABLES["gold.steam_moves"]
    ensure_tables(catalog, [td.identifier])

    def retyped(name: str, type_: IcebergType) -> TableDef:
        fields = [
            NestedField(f.field_id, f.name, type_, required=f.required, doc=f.doc) if f.name == name else f
            for f in td.schema.fields
        ]
        return replace(td, schema=Schema(*fields))

    assert ensure_tables(catalog, tables={td.identifier: retyped("books_moved", LongType())}) == {
        td.identifier: "evolved"
    }
    assert catalog.load_table(td.identifier).schema().find_field("books_moved").field_type == LongType()
    with pytest.raises(SchemaEvolutionError, match="direction: string -> int"):
        ensure_tables(catalog, tables={td.identifier: retyped("direction", IntegerType())})


# --- schema evolution seen by both engines -------------------------------------------------


def _odds_row(event_id: str, **extra: object) -> dict[str, object]:
    return {**silver_quote(event_id, datetime(2025, 3, 1, 15, 0, tzinfo=UTC), 2.1), **extra}


@pytest.mark.integration
@pytest.mark.spark
def test_an_added_optional_field_evolves_the_table_and_old_rows_read_null(
    spark, lake_settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    base = scratch("silver.odds_quotes", run)
    catalog = load_catalog(lake_settings)
    assert ensure_tables(catalog, tables={base.identifier: base}) == {base.identifier: "created"}
    name = f"lake.{base.identifier}"
    spark.createDataFrame([_odds_row("old")], spark.table(name).schema).writeTo(name).append()
    old_ids = {f.name: f.field_id for f in catalog.load_table(base.identifier).schema().fields}

    evolved = with_optional_column(base, "boost_pct")
    assert ensure_tables(catalog, tables={base.identifier: evolved}) == {base.identifier: "evolved"}
    table = catalog.load_table(base.identifier)
    schema = table.schema()
    assert schema.fields[-1].name == "boost_pct" and schema.fields[-1].optional
    assert schema.fields[-1].field_id > max(old_ids.values())
    assert {f.name: f.field_id for f in schema.fields[:-1]} == old_ids  # nothing renumbered
    assert len(table.metadata.schemas) == 2  # a real schema update, not a new table

    # Old data file, new schema: the missing column reads as null in both engines...
    assert table.scan().to_arrow().to_pylist()[0]["boost_pct"] is None
    assert spark.table(name).collect()[0]["boost_pct"] is None
    # ...and Spark appends with the new column.
    spark.createDataFrame([_odds_row("new", boost_pct=5.0)], spark.table(name).schema).writeTo(name).append()
    by_id = {
        r["event_id"]: r["boost_pct"]
        for r in catalog.load_table(base.identifier).scan().to_arrow().to_pylist()
    }
    assert by_id == {"old": None, "new": 5.0}
    spark_by_id = {r["event_id"]: r["boost_pct"] for r in spark.table(name).collect()}
    assert spark_by_id == by_id

    assert ensure_tables(catalog, tables={base.identifier: evolved}) == {base.identifier: "unchanged"}


# --- Glue ----------------------------------------------------------------------------------


@pytest.mark.integration
def test_ensure_tables_on_glue_and_s3(moto_server: MotoServer, glue_settings: Settings) -> None:
    run = uuid.uuid4().hex[:8]
    settings = glue_settings
    bucket = settings.catalog.s3_warehouse.removeprefix("s3://").split("/")[0]
    catalog = load_catalog(settings)
    defs = {
        td.identifier: td for td in (scratch("bronze.kafka_records", run), scratch("gold.market_agg_1m", run))
    }
    assert ensure_tables(catalog, tables=defs) == dict.fromkeys(defs, "created")
    assert ensure_tables(catalog, tables=defs) == dict.fromkeys(defs, "unchanged")

    glue = boto3.client("glue", endpoint_url=moto_server.endpoint, region_name="eu-west-1")
    for td in defs.values():
        entry = glue.get_table(DatabaseName=td.namespace, Name=td.name)["Table"]
        assert entry["Parameters"]["table_type"].upper() == "ICEBERG"
        assert entry["Parameters"]["metadata_location"].startswith(f"s3://{bucket}/warehouse/")

    bronze = next(iter(defs))
    evolved = with_optional_column(defs[bronze], "source_cluster")
    assert ensure_tables(catalog, tables={bronze: evolved}) == {bronze: "evolved"}
    assert catalog.load_table(bronze).schema().fields[-1].name == "source_cluster"


def test_a_namespace_another_job_created_meanwhile_is_no_error(tmp_path: Path) -> None:
    """Two backfills on a fresh lake: both saw no namespace, the other inserted it first. The SQL
    catalog then fails this job's insert on its unique key; ensure_tables goes on."""
    settings = Settings(state_dir=tmp_path)
    ours, theirs = load_catalog(settings), load_catalog(settings)
    theirs.create_namespace("silver")
    real = ours.namespace_exists
    checks: list[str] = []

    def stale_first(namespace: str) -> bool:  # our first check ran before their insert
        checks.append(namespace)
        return False if len(checks) == 1 else real(namespace)

    ours.namespace_exists = stale_first  # type: ignore[method-assign]
    outcome = ensure_tables(ours, ["silver.odds_quotes"])
    assert outcome == {"silver.odds_quotes": "created"}
    assert theirs.load_table("silver.odds_quotes").schema() == ours.load_table("silver.odds_quotes").schema()
