"""Silver routes every record once: valid and on time to silver (first record of each event id),
malformed to dead letters with the reason, behind its (feed, source) watermark to late events;
a replayed batch writes nothing twice.

The micro-batch function is driven directly with Kafka-shaped batches, so each case is exact.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iceberg import ensure_tables
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, Settings
from lakehouse.schemas import format_timestamp, validate
from producers.simulator import Simulator
from streaming.silver import SilverBatch

pytestmark = [pytest.mark.spark]

T0 = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)
PARTITION = 91  # no real topic has it: these rows are told apart from the session's others


def _quote(base: dict, run: str, i: int, source: str, at: datetime) -> dict:
    return validate(
        "odds",
        {**base, "event_id": f"{run}-{i}", "source": source, "event_time": format_timestamp(at)},
    )


def _batch(spark, values: list[tuple[int, str]]):
    from pyspark.sql.types import (
        BinaryType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
        TimestampType,
    )

    schema = StructType(
        [
            StructField("topic", StringType()),
            StructField("partition", IntegerType()),
            StructField("offset", LongType()),
            StructField("timestamp", TimestampType()),
            StructField("value", BinaryType()),
        ]
    )
    now = datetime.now(UTC)
    rows = [("odds.quotes", PARTITION, offset, now, v.encode()) for offset, v in values]
    return spark.createDataFrame(rows, schema)


@pytest.fixture
def settings(lake_settings: Settings, tmp_path: Path) -> Settings:
    return lake_settings.model_copy(
        update={
            "state_dir": tmp_path,
            "catalog": CatalogSettings(
                local_warehouse=lake_settings.warehouse_path, local_catalog_db=lake_settings.catalog_db_path
            ),
        }
    )


def test_valid_dead_late_duplicate_and_replayed_records(spark, settings: Settings) -> None:
    from pyspark.sql import functions as F

    ensure_tables(load_catalog(settings))
    run = f"routing-{uuid.uuid4().hex[:8]}"
    source, other = f"routing_{run[-8:]}", f"routing_other_{run[-8:]}"
    base = next(r for feed, r in Simulator(seed=9).run(5) if feed == "odds")
    lateness = settings.streaming.allowed_lateness_s

    # Batch 0: twenty events a minute apart, event 3 sent three times, three bad records.
    first = [_quote(base, run, i, source, T0 + timedelta(minutes=i)) for i in range(20)]
    values = [json.dumps(q) for q in first] + [json.dumps(first[3])] * 2
    values += [
        "{oops",
        json.dumps({**first[0], "event_id": f"{run}-v7", "schema_version": 7}),
        json.dumps({**first[0], "event_id": f"{run}-cheap", "price": 0.5}),
    ]
    silver = SilverBatch(settings, name=run)
    silver(_batch(spark, list(enumerate(values))), 0)
    assert silver.metrics[-1] | {"seconds": 0} == {
        "batch_id": 0,
        "input": 25,
        "silver": 20,
        "dead": 3,
        "late": 0,
        "seconds": 0,
    }

    # Batch 1: five new events, a re-send of event 5, one event three days behind the source's
    # watermark (late), and one equally old event from another source (no watermark yet: on time).
    newer = [_quote(base, run, 100 + i, source, T0 + timedelta(minutes=30 + i)) for i in range(5)]
    behind = _quote(base, run, 200, source, T0 - timedelta(days=3))
    other_source = _quote(base, run, 300, other, T0 - timedelta(days=3))
    values1 = [json.dumps(q) for q in [*newer, first[5], behind, other_source]]
    batch1 = _batch(spark, [(100 + i, v) for i, v in enumerate(values1)])
    silver(batch1, 1)
    assert silver.metrics[-1]["silver"] == 6 and silver.metrics[-1]["late"] == 1

    # Spark runs batch 1 again after a crash: the same classification, nothing written twice.
    replayed = SilverBatch(settings, name=run)
    replayed(batch1, 1)
    assert replayed.metrics[-1]["silver"] == 0

    catalog = settings.catalog.name
    rows = (
        spark.table(f"{catalog}.silver.odds_quotes")
        .filter(F.col("source").isin(source, other))
        .select("event_id", "kafka_partition", "kafka_offset", "price")
        .collect()
    )
    ids = [r["event_id"] for r in rows]
    expected = {q["event_id"] for q in [*first, *newer, other_source]}
    assert len(ids) == len(expected) == 26 and set(ids) == expected
    # The first Kafka record of a repeated event is the one kept.
    assert next(r["kafka_offset"] for r in rows if r["event_id"] == f"{run}-3") == 3

    dead = (
        spark.table(f"{catalog}.silver.dead_letters")
        .filter(F.col("kafka_partition") == PARTITION)
        .filter(F.col("kafka_offset").between(20, 24))
        .filter(F.col("raw_value").contains(run) | (F.col("raw_value") == "{oops"))
        .orderBy("kafka_offset")
        .collect()
    )
    reasons = {r["kafka_offset"]: r["reason"] for r in dead if r["kafka_offset"] >= 22}
    assert reasons[22] == "record is not a JSON object (malformed JSON)"
    assert reasons[23].startswith("unknown schema_version 7 for odds")
    assert reasons[24] == "price: 0.5 is less than or equal to the minimum of 1.0"

    late = spark.table(f"{catalog}.silver.late_events").filter(F.col("event_id").startswith(run)).collect()
    assert [r["event_id"] for r in late] == [behind["event_id"]]
    # Behind the mark (newest of batch 0 minus the allowed lateness) by three days less that.
    mark = T0 + timedelta(minutes=19) - timedelta(seconds=lateness)
    assert late[0]["lateness_s"] == pytest.approx((mark - (T0 - timedelta(days=3))).total_seconds())
    assert json.loads(late[0]["raw_value"]) == behind
