"""Answers of the live endpoints, serialized once and kept a short time.

A hundred clients polling one game's board would otherwise each cost a Druid query and the
board's arithmetic.  Here an answer (its JSON bytes) is kept ``ttl_s`` (1 s by default: the
WebSocket is the real-time path), and concurrent misses of one key wait for one computation
instead of each querying Druid (``cachetools``' ``condition``: no stampede when an entry expires).
Druid stays the one store of live data: nothing here outlives the TTL, and an error is never kept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache, cached
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

_MISSING = object()


def to_json(value: Any) -> bytes:
    """Rows from Druid and the warehouse with dates and decimals as JSON can carry them."""
    return json.dumps(value, default=str, separators=(",", ":")).encode()


def answer_key(scope: Scope) -> tuple[str, bytes]:
    """What an answer is kept by: the request's path and raw query (the answer depends on
    nothing else), so a request can find its answer before the framework parses it."""
    return scope["path"], scope["query_string"]


class Answers:
    """Serialized answers by key for ``ttl_s`` seconds (0: computed per request, still one at a
    time per key), at most ``max_entries`` of them."""

    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self._cache: TTLCache[Hashable, bytes | None] = TTLCache(max_entries, ttl_s)
        self._condition = threading.Condition()
        self.computed = 0  # how many answers were computed (the rest were served from here)

        def compute(key: Hashable, build: Callable[[], Any]) -> bytes | None:
            value = build()
            self.computed += 1
            return None if value is None else to_json(value)

        self._get = cached(
            self._cache, key=lambda key, _build: key, lock=self._condition, condition=self._condition
        )(compute)

    def get(self, key: Hashable, build: Callable[[], Any]) -> bytes | None:
        """The answer for ``key`` (None when ``build`` found nothing), blocking on a miss."""
        return self._get(key, build)

    def peek(self, key: Hashable) -> bytes | None:
        """The kept answer for ``key``, or None (none kept, or the one kept is "nothing found")."""
        with self._condition:
            return self._cache.get(key)

    async def aget(self, key: Hashable, build: Callable[[], Any]) -> bytes | None:
        """The same from the event loop: a hit answers at once, a miss runs in a worker thread."""
        with self._condition:  # held only for dictionary reads and writes, never across a query
            hit = self._cache.get(key, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        return await run_in_threadpool(self._get, key, build)
