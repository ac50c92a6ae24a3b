"""Run streaming jobs: one Spark application, one query per job, each with its own checkpoint.

Per-batch metrics (input rows, processing time, Kafka lag) are logged, written to
`<state>/streaming/metrics.json`, which `lakehouse stream status` reads, and sent as
`pipeline_health` samples to the `pipeline.health` topic for the Druid health dashboard.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = get_logger(__name__)

JOBS = ("bronze", "silver", "aggregates", "gold")


def _builders() -> dict[str, Callable[..., StreamingQuery]]:
    from streaming.aggregates import aggregates_query
    from streaming.bronze import bronze_query
    from streaming.gold import gold_query
    from streaming.silver import silver_query

    return {
        "bronze": bronze_query,
        "silver": silver_query,
        "aggregates": aggregates_query,
        "gold": gold_query,
    }


def kafka_offsets(text: str | None) -> dict[str, dict[str, int]] | None:
    """A Kafka source's offsets from a progress report, or None when Spark did not report them.

    PySpark renders a missing offset as the string ``"None"`` (``str()`` of a JVM null): a batch
    replayed from the offset log after a restart reports no latest offset.
    """
    try:
        parsed = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not all(isinstance(p, dict) for p in parsed.values()):
        return None
    return {topic: {part: int(o) for part, o in parts.items()} for topic, parts in parsed.items()}


def _behind(source: Any) -> int | None:
    """Records on a source's topics past what its batch read (None if Spark did not say)."""
    latest = kafka_offsets(source["latestOffset"])
    end = kafka_offsets(source["endOffset"])
    if latest is None or end is None:
        return None
    return sum(
        max(0, offset - end.get(topic, {}).get(part, offset))
        for topic, parts in latest.items()
        for part, offset in parts.items()
    )


def _lag(progress: Any) -> int | None:
    """Records behind the latest Kafka offsets after this batch (None if unknown)."""
    behind = [_behind(source) for source in progress.sources]
    return None if None in behind else sum(b for b in behind if b is not None)


IDLE_HEALTH_INTERVAL_S = 10.0
"""An idle query's health samples are sent at most this often (Spark's own default interval)."""


def install_metrics_listener(spark: SparkSession, settings: Settings) -> Any:
    from pyspark.sql.streaming import StreamingQueryListener

    path = settings.state_dir / "streaming" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a previous run's figures must not pass for this run's
    latest: dict[str, dict] = {}
    reporters: dict[str, HealthReporter] = {}
    lock = threading.Lock()

    names: dict[str, str] = {}
    emitted: dict[str, float] = {}  # query name -> monotonic time of its last health sample

    class Listener(StreamingQueryListener):
        def onQueryStarted(self, event: Any) -> None:
            names[str(event.id)] = event.name
            log.info("query started", name=event.name, id=str(event.id))

        def onQueryProgress(self, event: Any) -> None:
            p = event.progress
            metrics = {
                "name": p.name,
                "batch_id": p.batchId,
                "timestamp": p.timestamp,
                "input_rows": p.numInputRows,
                "input_rows_per_s": round(p.inputRowsPerSecond or 0.0, 1),
                "processed_rows_per_s": round(p.processedRowsPerSecond or 0.0, 1),
                "trigger_ms": p.durationMs.get("triggerExecution"),
                "kafka_lag": _lag(p),
            }
            if p.numInputRows:
                log.info("batch", **metrics)
            with lock:
                latest[p.name] = metrics
                path.write_text(json.dumps(latest, indent=1))
                if p.name not in reporters:
                    reporters[p.name] = HealthReporter(settings, f"stream:{p.name}")
            idle_for = time.monotonic() - emitted.get(p.name, 0.0)
            if not p.numInputRows and idle_for < IDLE_HEALTH_INTERVAL_S:
                return  # an idle query reports every second (the drain needs it); health less often
            emitted[p.name] = time.monotonic()
            reporters[p.name].emit(
                {
                    "input_rows": p.numInputRows,
                    "records_per_s": metrics["processed_rows_per_s"],
                    "processing_ms": metrics["trigger_ms"],
                    "lag_records": metrics["kafka_lag"],
                }
            )

        def onQueryIdle(self, event: Any) -> None:
            pass

        def onQueryTerminated(self, event: Any) -> None:
            name = names.get(str(event.id), str(event.id))
            if event.exception is None:
                log.info("query terminated", name=name, id=str(event.id))
                return
            error = first_line(event.exception)
            log.error("query failed", name=name, id=str(event.id), error=error)
            # `stream status` reads this: a dead query must not look like one between batches.
            with lock:
                latest[name] = {**latest.get(name, {"name": name}), "failed_at": _now(), "error": error}
                path.write_text(json.dumps(latest, indent=1))

    listener = Listener()
    spark.streams.addListener(listener)
    return listener


def first_line(error: str) -> str:
    """The message of a query's exception without Spark's stack trace."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:500] if lines else "unknown error"


def _now() -> str:
    return datetime.now(UTC).isoformat()


class StreamingQueryFailed(RuntimeError):
    """A query died (after any restarts the settings allow); the run ends non-zero."""

    def __init__(self, job: str, error: str) -> None:
        super().__init__(f"streaming query {job} failed: {error}")
        self.job = job


UPSTREAM = {"gold": ("aggregates",)}
"""A job that reads what another writes: in a drain it finishes after them."""


def _caught_up(query: StreamingQuery, since: datetime) -> bool:
    """A batch that started after ``since`` read nothing and left nothing behind on its topics."""
    progress = query.lastProgress
    if not progress or progress["numInputRows"]:
        return False
    if datetime.fromisoformat(progress["timestamp"].replace("Z", "+00:00")) <= since:
        return False
    sources = progress["sources"]
    # Unknown offsets (a batch replayed after a restart) prove nothing: wait for the next batch.
    return bool(sources) and all(_behind(source) == 0 for source in sources)


def stop_between_batches(query: StreamingQuery, timeout_s: float = 60.0) -> None:
    """Stop a query when no batch is running, so the one in progress completes (and commits)."""
    deadline = time.monotonic() + timeout_s
    while query.isActive and query.status["isTriggerActive"] and time.monotonic() < deadline:
        time.sleep(0.05)
    query.stop()


def run_jobs(settings: Settings, jobs: Sequence[str] = JOBS, available_now: bool = False) -> None:
    """Start the jobs and block until SIGTERM/SIGINT stops them or, with ``available_now``, they drain.

    Draining processes what the topics hold, then stops each query once a batch finds nothing
    new, a job after the jobs it reads from (gold after aggregates).  Bronze and silver use
    Spark's available-now trigger; the aggregates cannot (a processing-time stateful query always
    asks for one more batch), so every job is stopped the same way once caught up.
    """
    from iceberg import ensure_tables
    from lakehouse.catalog import load_catalog
    from lakehouse.spark import build_spark_session

    builders = _builders()
    unknown = set(jobs) - set(builders)
    if unknown:
        raise ValueError(f"unknown streaming job(s) {sorted(unknown)}; known: {sorted(builders)}")
    ensure_tables(load_catalog(settings))
    spark = build_spark_session(settings, app_name="lakehouse-streaming")
    listener = install_metrics_listener(spark, settings)
    queries = {job: builders[job](spark, settings, available_now=available_now) for job in jobs}
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    started = datetime.now(UTC)
    finished: dict[str, datetime] = {}
    restarts = dict.fromkeys(queries, 0)
    try:
        while not stop.is_set() and len(finished) < len(queries):
            for job, q in list(queries.items()):
                if q.exception() is not None:
                    error = first_line(str(q.exception()))
                    if restarts[job] >= settings.streaming.query_restarts:
                        raise StreamingQueryFailed(job, error)
                    restarts[job] += 1
                    delay = min(60.0, 2.0 ** (restarts[job] - 1))
                    log.warning(
                        "restarting query", job=job, restart=restarts[job], after_s=delay, error=error
                    )
                    stop.wait(delay)
                    queries[job] = q = builders[job](spark, settings, available_now=available_now)
                if job in finished:
                    continue
                upstream = [u for u in UPSTREAM.get(job, ()) if u in queries]
                if any(u not in finished for u in upstream):
                    continue
                since = max([started, *(finished[u] for u in upstream)])
                if not q.isActive or (available_now and _caught_up(q, since)):
                    stop_between_batches(q)
                    finished[job] = datetime.now(UTC)
            stop.wait(0.5)
    finally:
        for q in queries.values():
            if q.isActive:
                stop_between_batches(q)
        deadline = time.monotonic() + 30
        for q in queries.values():
            if q.exception() is None:  # a failed query re-raises here: it was reported above
                q.awaitTermination(max(1, int(deadline - time.monotonic())))
        spark.streams.removeListener(listener)
    log.info("streaming stopped", queries=sorted(queries), drained=sorted(finished))
