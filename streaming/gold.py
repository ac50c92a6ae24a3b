"""Gold upserts off the micro-batch's critical path, through a local journal.

A gold MERGE costs seconds (a Spark job and an Iceberg commit per table) while the Kafka
aggregates a dashboard reads are ready in well under one.  So each micro-batch only journals
its gold rows (one JSON file per batch id, written atomically before the batch returns, so
the journal holds every batch Spark has committed) and a background thread folds all pending
batches into one MERGE per table.

Idempotence: rows are upserts on the aggregate's key, folded in batch order (the last row of
a key wins), and a journal file is deleted only after every table took it; applying a file a
second time after a crash, or a replayed batch overwriting its own file, writes the same
values.  Appliers (the thread, a restart's `drain`, another process) serialise on a file lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.log import get_logger
from lakehouse.schemas import spark_schema
from lakehouse.schemas.aggregates import AggregateType
from lakehouse.schemas.fields import TIMESTAMP

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = get_logger(__name__)

Rows = Mapping[str, Sequence[dict[str, Any]]]  # aggregate name -> records


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class GoldJournal:
    """Pending gold rows per batch, and the applier that upserts them into the gold tables.

    `tables` maps each aggregate (in apply order: the last one is written after the others,
    so once it shows a batch, every other table has it too) to its gold table name.
    """

    def __init__(self, directory: Path, catalog: str, tables: Mapping[AggregateType, str]) -> None:
        self.directory = directory
        self.catalog = catalog
        self.tables = dict(tables)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.applied_batches = 0
        self.failures = 0

    # -- journal ---------------------------------------------------------------------------
    def append(self, batch_id: int, rows: Rows) -> None:
        """Record one batch's rows durably (atomic rename; a replayed batch replaces its file)."""
        path = self.directory / f"{batch_id:012d}.json"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as out:
            json.dump({name: list(records) for name, records in rows.items() if records}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        self._wake.set()

    def pending(self) -> list[Path]:
        return sorted(self.directory.glob("*.json"))

    # -- applying --------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.directory / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def drain(self, spark: SparkSession) -> int:
        """Apply every pending batch now; returns how many batches were applied."""
        with self._locked():
            files = self.pending()
            if not files:
                return 0
            folded: dict[str, dict[str, dict[str, Any]]] = {agg.name: {} for agg in self.tables}
            keys = {agg.name: agg.key for agg in self.tables}
            for path in files:
                for name, records in json.loads(path.read_text()).items():
                    for record in records:
                        folded[name]["|".join(str(record.get(k)) for k in keys[name])] = record
            *others, last = self.tables
            with ThreadPoolExecutor(max_workers=max(1, len(others))) as pool:
                futures = [pool.submit(self._upsert, spark, a, list(folded[a.name].values())) for a in others]
                for future in futures:
                    future.result()
            self._upsert(spark, last, list(folded[last.name].values()))
            for path in files:
                path.unlink()
            self.applied_batches += len(files)
            return len(files)

    def _upsert(self, spark: SparkSession, agg: AggregateType, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        timestamps = {f.name for f in agg.fields if f.type is TIMESTAMP}
        rows = [
            {k: (_ts(v) if k in timestamps and v is not None else v) for k, v in r.items()} for r in records
        ]
        view = f"gold_src_{agg.name}_{threading.get_ident()}"
        spark.createDataFrame(rows, schema=spark_schema(agg)).createOrReplaceTempView(view)
        on = " AND ".join(f"t.{k} <=> s.{k}" for k in agg.key)
        spark.sql(
            f"MERGE INTO {self.catalog}.{self.tables[agg]} t USING {view} s ON {on} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
        spark.catalog.dropTempView(view)

    # -- background applier -----------------------------------------------------------------
    def start(self, spark: SparkSession, interval_s: float = 5.0) -> None:
        """Apply pending batches in the background until `stop`; failures are retried.

        At most one apply per `interval_s`: each apply is a Spark job per table, and on two
        cores fewer, larger MERGEs leave the CPU to the micro-batches the dashboards wait for.
        """
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.wait()
                self._wake.clear()
                try:
                    started = time.monotonic()
                    applied = self.drain(spark)
                    if applied:
                        seconds = round(time.monotonic() - started, 3)
                        log.debug("gold applied", batches=applied, seconds=seconds)
                except Exception as exc:  # a failed commit stays journalled and is retried
                    self.failures += 1
                    log.warning("gold upsert failed; will retry", error=str(exc)[:500])
                    self._stop.wait(min(30.0, 2.0 * self.failures))
                    self._wake.set()
                self._stop.wait(interval_s)

        self._thread = threading.Thread(target=loop, name="gold-journal", daemon=True)
        self._thread.start()

    def stop(self, spark: SparkSession | None = None, timeout: float = 60.0) -> None:
        """Stop the thread, then apply what is left (when a session is given)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if spark is not None:
            self.drain(spark)
