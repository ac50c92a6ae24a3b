"""Per-(feed, source) watermarks that replay identically after a crash.

A record is late when its event time is older than the newest event time already seen from
the same feed and source minus the allowed lateness.  Sources are kept apart because a replay
of 2024 captures is not "late" next to a live 2026 feed; it is its own stream.  The marks a
batch used are stored under its batch id before the batch writes anything, so if Spark runs
that batch again after a crash it classifies every record exactly as the first time.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Key = tuple[str, str]  # (feed, source)
KEEP_BATCHES = 20


class WatermarkStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._state: dict[str, Any] = {"batches": {}, "latest": {}}
        if path.exists():
            self._state = json.loads(path.read_text())

    @staticmethod
    def _enc(key: Key) -> str:
        return f"{key[0]}|{key[1]}"

    @staticmethod
    def _dec(text: str) -> Key:
        feed, source = text.split("|", 1)
        return feed, source

    def marks_for_batch(self, batch_id: int) -> dict[Key, datetime]:
        """Watermarks in force for `batch_id`: the recorded ones on a replay, else the latest."""
        stored = self._state["batches"].get(str(batch_id))
        if stored is None:
            stored = dict(self._state["latest"])
            self._state["batches"][str(batch_id)] = stored
            for old in sorted(self._state["batches"], key=int)[:-KEEP_BATCHES]:
                del self._state["batches"][old]
            self._save()
        return {self._dec(k): datetime.fromisoformat(v) for k, v in stored.items()}

    def advance(self, batch_id: int, newest: dict[Key, datetime], lateness_s: float) -> None:
        """After a batch: move each mark to (newest event time - lateness), never backwards."""
        from datetime import timedelta

        latest = self._state["latest"]
        for key, newest_time in newest.items():
            mark = newest_time.astimezone(UTC) - timedelta(seconds=lateness_s)
            current = latest.get(self._enc(key))
            if current is None or datetime.fromisoformat(current) < mark:
                latest[self._enc(key)] = mark.isoformat()
        self._state["last_batch"] = batch_id
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state))
        os.replace(tmp, self.path)
