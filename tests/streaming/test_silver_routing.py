"""Silver routes every record once: valid and on time to silver (the first of each event id),
malformed to dead letters with the reason, behind its (feed, source) watermark to late events;
duplicates are dropped in the stream's state store, across batches and restarts; a replayed batch
writes nothing twice.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer

from lakehouse.catalog import load_catalog
from lakehouse.kafka import producer_config
from lakehouse.schemas import format_timestamp, validate
from producers.simulator import Simulator
from streaming.runner import run_jobs
from streaming.silver import SilverBatch, keyed_records
from tests.streaming.harness import isolated_run

pytestmark = [pytest.mark.integration, pytest.mark.spark]

T0 = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)


def _quote(base: dict, run: str, i: int, source: str, at: datetime) -> dict:
    return validate(
        "odds",
        {**base, "event_id": f"{run}-{i}", "source": source, "event_time": format_timestamp(at)},
    )


def _send(settings, values: list[str]) -> None:
    producer = Producer(producer_config(settings.kafka, client_id="routing"))
    for v in values:
        producer.produce("odds.quotes", key=b"g", value=v.encode())  # one key: one partition, in order
    assert producer.flush(30) == 0


def test_valid_dead_late_duplicate_and_replayed_records(spark, runs_broker, tmp_path: Path) -> None:
    run = f"routing-{uuid.uuid4().hex[:8]}"
    source, other = "routing", "routing_other"
    base = next(r for feed, r in Simulator(seed=9).run(5) if feed == "odds")
    with isolated_run(spark, runs_broker, tmp_path, max_offsets_per_trigger=7) as lake:
        settings = lake.settings
        # First drain: twenty events a minute apart, event 3 sent three times (in one batch and
        # across batches of 7), three bad records.
        first = [_quote(base, run, i, source, T0 + timedelta(minutes=i)) for i in range(20)]
        values = [json.dumps(q) for q in first[:10]] + [json.dumps(first[3])]
        values += [json.dumps(q) for q in first[10:]] + [json.dumps(first[3])]
        values += [
            "{oops",
            json.dumps({**first[0], "event_id": f"{run}-v7", "schema_version": 7}),
            json.dumps({**first[0], "event_id": f"{run}-cheap", "price": 0.5}),
        ]
        _send(settings, values)
        run_jobs(settings, ["silver"], available_now=True)

        # Second drain, after a restart: five new events, a re-send of event 5, one event three
        # days behind the source's watermark (late), and one equally old event from another source
        # (no watermark yet: on time).
        newer = [_quote(base, run, 100 + i, source, T0 + timedelta(minutes=30 + i)) for i in range(5)]
        behind = _quote(base, run, 200, source, T0 - timedelta(days=3))
        other_source = _quote(base, run, 300, other, T0 - timedelta(days=3))
        _send(settings, [json.dumps(q) for q in [*newer, first[5], behind, other_source]])
        run_jobs(settings, ["silver"], available_now=True)

        catalog = load_catalog(settings)
        rows = catalog.load_table("silver.odds_quotes").scan().to_arrow().to_pylist()
        ids = [r["event_id"] for r in rows]
        expected = {q["event_id"] for q in [*first, *newer, other_source]}
        assert len(ids) == len(expected) == 26 and set(ids) == expected
        # The first Kafka record of a repeated event is the one kept.
        assert next(r["kafka_offset"] for r in rows if r["event_id"] == f"{run}-3") == 3

        dead = catalog.load_table("silver.dead_letters").scan().to_arrow().to_pylist()
        reasons = {r["kafka_offset"]: r["reason"] for r in dead}
        assert reasons == {
            22: "record is not a JSON object (malformed JSON)",
            23: reasons[23],
            24: "price: 0.5 is less than or equal to the minimum of 1.0",
        }
        assert reasons[23].startswith("unknown schema_version 7 for odds")

        late = catalog.load_table("silver.late_events").scan().to_arrow().to_pylist()
        assert [r["event_id"] for r in late] == [behind["event_id"]]
        # Behind the mark (newest event of the first drain minus the allowed lateness).
        mark = T0 + timedelta(minutes=19) - timedelta(seconds=settings.streaming.allowed_lateness_s)
        assert late[0]["lateness_s"] == pytest.approx((mark - (T0 - timedelta(days=3))).total_seconds())
        assert json.loads(late[0]["raw_value"]) == behind

        # Spark runs a batch again after a crash: the same classification, nothing written twice.
        fresh = [_quote(base, run, 900 + i, source, T0 + timedelta(minutes=40 + i)) for i in range(5)]
        batch = keyed_records(
            spark.createDataFrame(
                [("odds.quotes", 0, 900 + i, datetime.now(UTC), json.dumps(q)) for i, q in enumerate(fresh)],
                "topic string, partition int, offset long, timestamp timestamp, value string",
            ),
            f"{int(settings.streaming.silver_dedup_window_s)} seconds",
        )
        silver = SilverBatch(settings)
        silver(batch, 99)
        assert silver.last["silver"] == 5
        again = SilverBatch(settings)
        again(batch, 99)
        assert again.last["silver"] == 0
        total = catalog.load_table("silver.odds_quotes").scan().to_arrow().num_rows
        assert total == 26 + 5
