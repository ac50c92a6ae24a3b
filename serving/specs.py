"""Kafka supervisor specs for the aggregates, generated from their one definition.

One datasource per aggregate type (the datasource is ``agg.name``, the topic ``agg.topic``,
``__time`` is ``agg.time_column``), so a field added to the schema reaches Druid by
re-running the generator, and Grafana's queries use the schema's own column names.

Column types, chosen so SQL over Druid returns what the gold Iceberg tables hold:

* STRING -> string, LONG/INT -> long, DOUBLE -> double (nulls stay null);
* BOOLEAN -> long 1/0 (Druid's boolean; ``WHERE is_exchange = 1``);
* TIMESTAMP other than the time column -> string, the canonical ISO text as produced
  (``2024-03-27T10:00:00.123456Z``, microseconds kept, so values compare equal to the gold
  tables'); ``TIME_PARSE(col)`` in SQL makes it a TIMESTAMP (to the millisecond, as ``__time``);
* lists (the arbitrage's ``selections``, ``best_prices``, ``bookmakers``, ``stakes``) -> typed
  ARRAY columns (``auto`` dimensions), which keep order and duplicates: element i of every
  list describes the same selection, which a sorted multi-value string would scramble.

Every datasource also has ``published_at``: the Kafka timestamp of the record (milliseconds), the
time the aggregates job published that version. A key's versions share their event-time columns
when one batch's quotes change a row another batch already sent, so "the latest version" of a key
is the one with the greatest ``published_at`` (``LATEST_BY(x, MILLIS_TO_TIMESTAMP(published_at))``).

Rows are already aggregates, compared row for row with the gold tables, so there is no
rollup and no query granularity. ``python -m serving.specs`` rewrites the committed copies
in ``infra/druid/supervisors/`` (a test fails when they drift from this generator).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lakehouse.config import PROJECT_ROOT, KafkaSettings
from lakehouse.kafka import druid_consumer_properties
from lakehouse.schemas import AGGREGATE_TYPES, AggregateType, Field, ListOf, Primitive

SPEC_DIR = PROJECT_ROOT / "infra" / "druid" / "supervisors"
PUBLISHED_AT = "published_at"
"""The Kafka timestamp of each aggregate record: which version of a key is the latest."""

# A task reads for this long, then publishes its segments and hands them to the historical.
TASK_DURATION = "PT10M"
COMPLETION_TIMEOUT = "PT20M"
# Segment per hour for the busy aggregates; the health metrics are few enough for a day.
SEGMENT_GRANULARITY = {"pipeline_health": "DAY"}

_SCALARS: dict[Primitive, str] = {
    Primitive.STRING: "string",
    Primitive.LONG: "long",
    Primitive.INT: "long",
    Primitive.DOUBLE: "double",
    Primitive.BOOLEAN: "long",
    Primitive.TIMESTAMP: "string",
    Primitive.DATE: "string",
}
_ARRAYS: dict[Primitive, str] = {
    Primitive.STRING: "ARRAY<STRING>",
    Primitive.LONG: "ARRAY<LONG>",
    Primitive.INT: "ARRAY<LONG>",
    Primitive.DOUBLE: "ARRAY<DOUBLE>",
}


def dimension(field: Field) -> dict[str, Any]:
    """The Druid dimension schema of one aggregate field."""
    if isinstance(field.type, ListOf):
        element = field.type.element
        if not isinstance(element, Primitive) or element not in _ARRAYS:
            raise ValueError(f"{field.name}: no Druid array type for a list of {element}")
        return {"type": "auto", "name": field.name, "castToType": _ARRAYS[element]}
    if not isinstance(field.type, Primitive):
        raise ValueError(f"{field.name}: nested records have no Druid column type; flatten the aggregate")
    return {"type": _SCALARS[field.type], "name": field.name}


def supervisor_spec(agg: AggregateType, kafka: KafkaSettings) -> dict[str, Any]:
    """The Kafka supervisor spec ingesting ``agg.topic`` of ``kafka`` into the datasource ``agg.name``."""
    return {
        "type": "kafka",
        "spec": {
            "dataSchema": {
                "dataSource": agg.name,
                "timestampSpec": {"column": agg.time_column, "format": "iso"},
                "dimensionsSpec": {
                    "dimensions": [
                        *(dimension(f) for f in agg.fields if f.name != agg.time_column),
                        {"type": "long", "name": PUBLISHED_AT},
                    ],
                },
                "metricsSpec": [],
                "granularitySpec": {
                    "type": "uniform",
                    "segmentGranularity": SEGMENT_GRANULARITY.get(agg.name, "HOUR"),
                    "queryGranularity": {"type": "none"},  # Druid's own spelling: compared on apply
                    "rollup": False,
                },
            },
            "ioConfig": {
                "topic": agg.topic,
                # The Kafka wrapper adds the record's own timestamp as `published_at`.
                "inputFormat": {
                    "type": "kafka",
                    "valueFormat": {"type": "json"},
                    "timestampColumnName": PUBLISHED_AT,
                },
                "consumerProperties": druid_consumer_properties(kafka),
                "useEarliestOffset": True,
                "taskCount": 1,
                "replicas": 1,
                "taskDuration": TASK_DURATION,
                "completionTimeout": COMPLETION_TIMEOUT,
                # A new or resumed supervisor starts its task within seconds (defaults: 5 s, 30 s).
                "startDelay": "PT1S",
                "period": "PT5S",
            },
            "tuningConfig": {
                "type": "kafka",
                "maxRowsInMemory": 50000,
                "maxRowsPerSegment": 1000000,
                "intermediatePersistPeriod": "PT5M",
            },
        },
    }


def all_specs(kafka: KafkaSettings) -> dict[str, dict[str, Any]]:
    """Every aggregate's supervisor spec, keyed by datasource (= supervisor id)."""
    return {agg.name: supervisor_spec(agg, kafka) for agg in AGGREGATE_TYPES.values()}


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2) + "\n"


def write_specs(directory: Path = SPEC_DIR, kafka: KafkaSettings | None = None) -> list[Path]:
    """Write one ``<datasource>.json`` per aggregate (default: for the local stack's broker)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, spec in all_specs(kafka or KafkaSettings()).items():
        path = directory / f"{name}.json"
        path.write_text(render(spec))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_specs(Path(sys.argv[1]) if len(sys.argv) > 1 else SPEC_DIR):
        print(written)
