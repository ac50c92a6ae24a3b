"""Per-(feed, source) event-time watermarks of the silver job, logged per batch in its checkpoint.

A record is late when its event time is older than the newest event time already seen from the
same feed and source minus the allowed lateness.  Sources are kept apart because a replay of a
2024 capture is not "late" next to a live 2026 feed: it is its own timeline.  A record dated more
than ``future_s`` after its own Kafka timestamp moves no mark, and the newest event time that can
move one is capped at the wall clock, so one future-dated record cannot push a source's mark
ahead and divert its next records (replays of history included).

The marks a batch uses are written under its batch id before the batch writes anything, so when
Spark runs that batch again after a crash it classifies every record as the first time; this is
how Spark keeps its own watermark (in the query's offset log).  The log lives in the query's
checkpoint through Hadoop's file system API, so it follows the checkpoint to an object store
(``s3a://``) or a cluster's shared file system, and only the last ``KEEP`` batches are kept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Key = tuple[str, str]  # (feed, source)
KEEP = 20


class CheckpointFiles:
    """Small text files under a checkpoint location, through the JVM's Hadoop file system."""

    def __init__(self, spark: SparkSession, location: str) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self._jvm = jvm
        self._root = jvm.org.apache.hadoop.fs.Path(location)
        jsc = spark.sparkContext._jsc
        assert jsc is not None
        self._fs = self._root.getFileSystem(jsc.hadoopConfiguration())

    def _path(self, name: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(self._root, name)

    def read(self, name: str) -> str | None:
        path = self._path(name)
        if not self._fs.exists(path):
            return None
        stream = self._fs.open(path)
        try:
            return str(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write(self, name: str, text: str) -> None:
        """Write to a temporary name, then rename over the target (atomic on a file system)."""
        tmp, path = self._path(f".{name}.tmp"), self._path(name)
        stream = self._fs.create(tmp, True)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()
        self._fs.delete(path, False)
        self._fs.rename(tmp, path)

    def names(self) -> list[str]:
        if not self._fs.exists(self._root):
            return []
        return [str(status.getPath().getName()) for status in self._fs.listStatus(self._root)]

    def delete(self, name: str) -> None:
        self._fs.delete(self._path(name), False)


class WatermarkLog:
    """The marks in force for each batch, kept with the query's checkpoint."""

    def __init__(self, files: CheckpointFiles) -> None:
        self.files = files

    @staticmethod
    def _decode(text: str | None) -> dict[Key, datetime]:
        marks: dict[Key, datetime] = {}
        for key, value in json.loads(text or "{}").items():
            feed, source = key.split("|", 1)
            marks[(feed, source)] = datetime.fromisoformat(value)
        return marks

    @staticmethod
    def _encode(marks: dict[Key, datetime]) -> str:
        return json.dumps({f"{f}|{s}": m.isoformat() for (f, s), m in sorted(marks.items())})

    def marks_for_batch(self, batch_id: int) -> dict[Key, datetime]:
        """The marks of ``batch_id``: recorded ones on a replay, else the latest, recorded now."""
        recorded = self.files.read(f"{batch_id}.json")
        if recorded is not None:
            return self._decode(recorded)
        marks = self._decode(self.files.read("latest.json"))
        self.files.write(f"{batch_id}.json", self._encode(marks))
        for name in self.files.names():
            stem = name.removesuffix(".json")
            if stem.isdigit() and int(stem) <= batch_id - KEEP:
                self.files.delete(name)
        return marks

    def advance(
        self, newest: dict[Key, datetime], lateness_s: float, now: datetime | None = None
    ) -> dict[Key, datetime]:
        """After a batch: each mark moves to (newest event time, at most now) - lateness, never back."""
        cap = now or datetime.now(UTC)
        latest = self._decode(self.files.read("latest.json"))
        for key, newest_time in newest.items():
            mark = min(newest_time.astimezone(UTC), cap) - timedelta(seconds=lateness_s)
            if key not in latest or latest[key] < mark:
                latest[key] = mark
        self.files.write("latest.json", self._encode(latest))
        return latest
