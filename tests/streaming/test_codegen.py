"""Each micro-batch runs the parse's generated code of the batch before it, so Spark compiles the
parse (hundreds of KB of Java source) once per query and the JVM's JIT compiles it once, not per
batch.  A per-batch constant in the parse's stage (the batch's time, a re-seeded ``rand``) changed
the code of every batch; both tests fail with the stamps where they were before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streaming.aggregates import valid_quotes
from streaming.silver import keyed_records

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def _source(spark: Any) -> Any:
    """Kafka-shaped records from Spark's rate source: the topic varies by row (a constant topic
    would be folded into the plan), the value is JSON text."""
    from pyspark.sql import functions as F

    topics = F.array(F.lit("odds.quotes"), F.lit("games.events"))
    return (
        spark.readStream.format("rate")
        .option("rowsPerSecond", 5)
        .load()
        .select(
            F.element_at(topics, (F.col("value") % 2 + 1).cast("int")).alias("topic"),
            F.lit(0).alias("partition"),
            F.col("value").alias("offset"),
            "timestamp",
            F.format_string('{"event_id": "e%d", "price": 2.5}', F.col("value")).alias("value"),
        )
    )


def _generated_code_per_batch(spark: Any, df: Any, checkpoint: Path, batches: int = 3) -> list[list[str]]:
    """The generated Java source of each whole-stage-codegen subtree, for the first batches."""
    codes: list[list[str]] = []
    done = threading.Event()
    running: dict[str, Any] = {}
    debug = spark._jvm.org.apache.spark.sql.execution.debug.package

    def record(_batch: Any, _batch_id: int) -> None:
        query = running.get("query")
        if query is None or done.is_set():
            return
        execution = query._jsq.streamingQuery().lastExecution()  # this batch's plan
        subtrees = debug.codegenStringSeq(execution.executedPlan()).iterator()
        code = []
        while subtrees.hasNext():
            code.append(subtrees.next()._2())
        codes.append(code)
        if len(codes) >= batches:
            done.set()

    query = df.writeStream.foreachBatch(record).option("checkpointLocation", str(checkpoint)).start()
    running["query"] = query
    try:
        assert done.wait(240), f"{len(codes)} batches in 240 s"
    finally:
        query.stop()
    return codes


PIPELINES: dict[str, Callable[[Any], Any]] = {
    "silver": lambda source: keyed_records(source, "3600 seconds").dropDuplicatesWithinWatermark(
        ["topic", "_dedup"]
    ),
    "aggregates": lambda source: valid_quotes(source, 60),
}


@pytest.mark.parametrize("name", PIPELINES)
def test_the_parse_is_the_same_code_in_every_micro_batch(spark: Any, tmp_path: Path, name: str) -> None:
    codes = _generated_code_per_batch(spark, PIPELINES[name](_source(spark)), tmp_path / name)
    parse = [max(code, key=len) for code in codes]  # the parse and validation: by far the largest
    assert len(parse[0]) > 100_000, len(parse[0])
    assert "GetJsonObjectEvaluator" in parse[0]  # the validation's raw-text checks
    same = [code == parse[0] for code in parse]  # booleans: a diff of the code would be huge
    assert same == [True] * len(parse), "the parse's generated code changed between micro-batches"
