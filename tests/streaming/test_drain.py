"""When a drain may stop a query: only on a batch that proves nothing is left on its topics.

The progress reports are shaped as PySpark hands them over (offsets as JSON text, a missing
offset as the string "None"); the runner's stop rule is checked on them without Spark.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from streaming.runner import _caught_up, _lag, kafka_offsets

SINCE = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _query(
    latest: str, end: str, rows: int = 0, at: datetime = SINCE + timedelta(seconds=1)
) -> SimpleNamespace:
    source = {"latestOffset": latest, "endOffset": end}
    progress = {"numInputRows": rows, "timestamp": at.isoformat().replace("+00:00", "Z"), "sources": [source]}
    return SimpleNamespace(lastProgress=progress)


def _offsets(**parts: int) -> str:
    return json.dumps({"feed.odds": {p.removeprefix("p"): o for p, o in parts.items()}})


def test_a_batch_that_read_everything_ends_the_drain() -> None:
    assert _caught_up(_query(_offsets(p0=5, p1=7), _offsets(p0=5, p1=7)), SINCE)


def test_records_left_behind_keep_the_query_running() -> None:
    assert not _caught_up(_query(_offsets(p0=5, p1=9), _offsets(p0=5, p1=7)), SINCE)
    assert not _caught_up(_query(_offsets(p0=5), _offsets(p0=5), rows=3), SINCE)
    assert not _caught_up(_query(_offsets(p0=5), _offsets(p0=5), at=SINCE), SINCE)


def test_a_batch_without_a_latest_offset_proves_nothing_and_does_not_crash() -> None:
    # A batch replayed from the offset log after a restart: Spark reports no latest offset and
    # PySpark renders it "None" (this once crashed the drain with a JSONDecodeError).
    assert kafka_offsets("None") is None
    assert not _caught_up(_query("None", _offsets(p0=5)), SINCE)
    assert _lag(SimpleNamespace(sources=[{"latestOffset": "None", "endOffset": _offsets(p0=5)}])) is None


def test_lag_counts_records_behind_on_every_partition() -> None:
    progress = SimpleNamespace(
        sources=[
            {"latestOffset": _offsets(p0=10, p1=4), "endOffset": _offsets(p0=7, p1=4)},
            {"latestOffset": _offsets(p0=3), "endOffset": _offsets(p0=1)},
        ]
    )
    assert _lag(progress) == 3 + 2
