"""Change detection for odds quotes: send a price only when it moved.

Polling a bookmaker every minute mostly returns the same prices; re-sending them would
multiply Kafka, Iceberg and Druid volume for nothing.  A quote is identified by (game,
bookmaker, market, selection); its state is (price, point).  State is committed only when
Kafka confirms delivery, so a failed send is retried on the next poll instead of being
forgotten.  With a path, state survives restarts (SQLite), so replaying a capture twice
sends nothing the second time.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

QuoteKey = tuple[str, str, str, str]


def quote_key(record: dict[str, Any]) -> QuoteKey:
    return (record["game_id"], record["bookmaker"], record["market"], record["selection"])


class ChangeDetector:
    """Remembers the last delivered (price, point) per quote."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._state: dict[QuoteKey, tuple[float, float | None]] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS last_quote (game_id TEXT, bookmaker TEXT, market TEXT,"
                " selection TEXT, price REAL, point REAL,"
                " PRIMARY KEY (game_id, bookmaker, market, selection))"
            )
            for g, b, m, s, price, point in self._db.execute("SELECT * FROM last_quote"):
                self._state[(g, b, m, s)] = (price, point)

    def __len__(self) -> int:
        return len(self._state)

    def changed(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record to send (with `previous_price` set when known), or None if unchanged."""
        with self._lock:
            last = self._state.get(quote_key(record))
        if last is not None and last == (record["price"], record.get("point")):
            return None
        if last is not None and record.get("previous_price") is None:
            return {**record, "previous_price": last[0]}
        return record

    def commit(self, record: dict[str, Any]) -> None:
        """Call once Kafka confirmed delivery of `record`."""
        key = quote_key(record)
        value = (record["price"], record.get("point"))
        with self._lock:
            self._state[key] = value
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO last_quote VALUES (?, ?, ?, ?, ?, ?)", (*key, *value)
                )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
