"""Supervisor specs generated from the aggregate schemas, and the spec comparison `apply` relies on."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lakehouse.config import KafkaSettings
from lakehouse.schemas import AGGREGATE_TYPES, ListOf, Primitive, SchemaValidationError, validate
from serving.overlord import same_spec, supervisor_id
from serving.specs import SPEC_DIR, all_specs, dimension, render, write_specs
from tests.support.samples import sample_batch, sample_record

AGGREGATES = list(AGGREGATE_TYPES.values())


def test_committed_specs_match_the_generator() -> None:
    """infra/druid/supervisors/ is generated: edit serving/specs.py, then `lakehouse druid specs`."""
    expected = {f"{name}.json": render(spec) for name, spec in all_specs(KafkaSettings()).items()}
    committed = {p.name: p.read_text() for p in sorted(SPEC_DIR.glob("*.json"))}
    assert committed.keys() == expected.keys()
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert stale == [], f"regenerate with `lakehouse druid specs`: {stale}"


def test_write_specs_writes_one_file_per_aggregate(tmp_path: Path) -> None:
    written = write_specs(tmp_path, KafkaSettings(bootstrap_servers="kafka:19092"))
    assert sorted(p.stem for p in written) == sorted(a.name for a in AGGREGATES)
    spec = json.loads((tmp_path / "steam_moves.json").read_text())
    assert spec["spec"]["ioConfig"]["consumerProperties"] == {"bootstrap.servers": "kafka:19092"}


@pytest.mark.parametrize("agg", AGGREGATES, ids=lambda a: a.name)
def test_spec_follows_the_schema(agg) -> None:
    spec = all_specs(KafkaSettings())[agg.name]
    schema = spec["spec"]["dataSchema"]
    assert supervisor_id(spec) == agg.name
    assert spec["spec"]["ioConfig"]["topic"] == agg.topic
    assert spec["spec"]["ioConfig"]["useEarliestOffset"] is True
    assert schema["timestampSpec"] == {"column": agg.time_column, "format": "iso"}
    # Every field but the time column is a dimension, in schema order, then the Kafka record
    # timestamp (latest-per-key reads); no metrics, no rollup.
    names = [d["name"] for d in schema["dimensionsSpec"]["dimensions"]]
    assert names == [*(f.name for f in agg.fields if f.name != agg.time_column), "published_at"]
    assert schema["metricsSpec"] == []
    assert schema["granularitySpec"]["rollup"] is False
    assert schema["granularitySpec"]["queryGranularity"] == {"type": "none"}
    expected_segment = "DAY" if agg.name == "pipeline_health" else "HOUR"
    assert schema["granularitySpec"]["segmentGranularity"] == expected_segment


def test_column_types() -> None:
    by_name = {f.name: f for agg in AGGREGATES for f in agg.fields}
    assert dimension(by_name["price"]) == {"type": "double", "name": "price"}
    assert dimension(by_name["quotes"]) == {"type": "long", "name": "quotes"}
    assert dimension(by_name["books_moved"])["type"] == "long"  # INT
    assert dimension(by_name["is_exchange"])["type"] == "long"  # BOOLEAN as 1/0
    assert dimension(by_name["commence_time"])["type"] == "string"  # ISO text, microseconds kept
    # Lists keep order and duplicates as typed arrays: element i describes the same selection.
    assert dimension(by_name["selections"]) == {
        "type": "auto",
        "name": "selections",
        "castToType": "ARRAY<STRING>",
    }
    assert dimension(by_name["stakes"])["castToType"] == "ARRAY<DOUBLE>"
    list_fields = [f for agg in AGGREGATES for f in agg.fields if isinstance(f.type, ListOf)]
    assert {f.name for f in list_fields} == {
        "selections",
        "best_prices",
        "bookmakers",
        "stakes",
        "net_stakes",
        "stale_selections",
        "suspect_selections",
    }
    assert all(f.type.element in (Primitive.STRING, Primitive.DOUBLE) for f in list_fields)


def test_same_spec_ignores_defaults_and_duration_spelling() -> None:
    desired = all_specs(KafkaSettings())["market_agg_1m"]
    running = copy.deepcopy(desired)
    running["spec"]["ioConfig"]["taskDuration"] = "PT600S"  # how the Overlord echoes PT10M
    running["spec"]["ioConfig"]["completionTimeout"] = "PT1200S"
    running["spec"]["tuningConfig"]["handoffConditionTimeout"] = 900000  # a default Druid fills in
    for dim in running["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"]:
        dim["multiValueHandling"] = "SORTED_ARRAY"
    assert same_spec(desired, running)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["spec"]["ioConfig"].update(taskDuration="PT5M"),
        lambda s: s["spec"]["ioConfig"]["consumerProperties"].update({"bootstrap.servers": "other:9092"}),
        lambda s: s["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"].pop(),
        lambda s: s["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"].reverse(),
        lambda s: s["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"][0].update(type="long"),
        lambda s: s["spec"]["ioConfig"].pop("topic"),
    ],
    ids=["duration", "bootstrap", "dimension-removed", "reordered", "retyped", "missing-key"],
)
def test_same_spec_sees_real_changes(change) -> None:
    desired = all_specs(KafkaSettings())["market_agg_1m"]
    running = copy.deepcopy(desired)
    change(running)
    assert not same_spec(desired, running)


@pytest.mark.parametrize("agg", AGGREGATES, ids=lambda a: a.name)
def test_sample_records_are_valid_aggregates(agg) -> None:
    record = sample_record(agg, "m1", 3)
    assert validate(agg, record) == record
    assert list(record) == [f.name for f in agg.fields]


def test_sample_batch_and_invalid_records() -> None:
    batch = sample_batch("m2", 4)
    assert {k: len(v) for k, v in batch.items()} == {a.name: 4 for a in AGGREGATES}
    bad = dict(batch["market_prices_live"][0], price=0.9)  # a decimal price is above 1.0
    with pytest.raises(SchemaValidationError, match="price"):
        validate(AGGREGATE_TYPES["market_prices_live"], bad)
