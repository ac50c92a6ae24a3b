"""The API's short-lived live answers: one computation per key at a time, nothing kept past the
TTL, errors never kept; a kept answer served before routing with the same checks as the route."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lakehouse.config import ApiSettings
from serving.api.answers import Answers
from serving.api.app import Parts, create_app
from serving.api.history import DuckDBHistory
from serving.api.keys import KeyRing, new_key
from serving.api.live import LiveStore
from serving.query import DruidQuery

READ_KEY, READ_ENTRY = new_key("analyst", ("read",))
INGEST_KEY, INGEST_ENTRY = new_key("partner", ("ingest",))


def test_concurrent_misses_of_one_key_share_one_computation() -> None:
    answers = Answers(ttl_s=30)
    calls: list[str] = []
    gate = threading.Event()

    def build() -> dict[str, object]:
        calls.append("board")
        gate.wait(5)  # every other caller arrives while this one computes
        return {"game_id": "g1", "prices": [1.5, 2.5]}

    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(answers.get, ("board", "g1"), build) for _ in range(20)]
        time.sleep(0.3)
        gate.set()
        bodies = {f.result() for f in futures}
    assert calls == ["board"] and answers.computed == 1
    assert bodies == {b'{"game_id":"g1","prices":[1.5,2.5]}'}
    assert answers.get(("board", "g2"), lambda: None) is None  # nothing found is an answer too


def test_an_answer_expires_after_its_ttl_and_an_error_is_never_kept() -> None:
    answers = Answers(ttl_s=0.2)
    version = iter(range(10))
    first = answers.get("k", lambda: next(version))
    assert answers.get("k", lambda: next(version)) == first == b"0"
    time.sleep(0.3)
    assert answers.get("k", lambda: next(version)) == b"1"

    def failing() -> object:
        raise ConnectionError("druid down")

    with pytest.raises(ConnectionError):
        answers.get("e", failing)
    assert answers.get("e", lambda: {"ok": True}) == b'{"ok":true}'


def test_a_hit_answers_on_the_event_loop_and_a_miss_in_a_thread() -> None:
    answers = Answers(ttl_s=30)
    loop_thread: list[int] = []

    def build() -> list[str]:
        loop_thread.append(threading.get_ident())
        return ["2026-12-06T12:00:00+00:00"]

    async def twice() -> tuple[bytes | None, bytes | None, int]:
        first = await answers.aget("arb", build)
        second = await answers.aget("arb", build)
        return first, second, threading.get_ident()

    first, second, main = asyncio.run(twice())
    assert first == second and json.loads(first or b"") == ["2026-12-06T12:00:00+00:00"]
    assert len(loop_thread) == 1 and loop_thread[0] != main


class _CountedLive(LiveStore):
    """The live store's answers, counted (no Druid: what is tested is what the API keeps)."""

    def __init__(self) -> None:
        super().__init__(DruidQuery("http://127.0.0.1:9"))
        self.boards = 0

    def board(self, game_id: str, now: datetime | None = None) -> dict[str, Any] | None:
        self.boards += 1
        return {"game_id": game_id, "version": self.boards} if game_id != "none" else None


def _app(live: LiveStore, rate: int = 100, cors: list[str] | None = None) -> FastAPI:
    settings = ApiSettings(
        keys=f"{READ_ENTRY},{INGEST_ENTRY}",
        rate_per_minute=rate,
        cors_origins=cors or [],
        live_cache_ms=30_000,
    )
    no_sink: Any = None  # no ingestion here
    return create_app(
        Parts(settings, KeyRing.from_settings(settings), live, DuckDBHistory(Path("none")), no_sink)
    )


def _routed(app: FastAPI, path: str) -> list[str]:
    """The requests that reached the route of ``path`` (past the framework's routing)."""
    route: Any = next(r for r in app.routes if getattr(r, "path", None) == path)
    inner, entered = route.app, []

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        await inner(scope, receive, send)

    route.app = counted
    return entered


def test_a_kept_answer_is_served_before_routing_with_the_routes_checks() -> None:
    live = _CountedLive()
    app = _app(live, rate=5, cors=["https://board.example.com"])
    routed = _routed(app, "/v1/games/{game_id}/board")
    read = {"X-API-Key": READ_KEY, "Origin": "https://board.example.com"}
    with TestClient(app) as c:
        first = c.get("/v1/games/g1/board", headers=read)
        kept = app.state.answers.peek(("/v1/games/g1/board", b""))
        second = c.get("/v1/games/g1/board", headers=read)
        # The second answer is the kept bytes, with the route's headers and CORS.
        assert first.status_code == second.status_code == 200 and live.boards == 1
        assert routed == ["/v1/games/g1/board"]  # the second never reached the route
        assert second.content == first.content == kept == b'{"game_id":"g1","version":1}'
        assert second.headers["content-type"] == first.headers["content-type"] == "application/json"
        assert second.headers["access-control-allow-origin"] == "https://board.example.com"
        # A hit still checks the key, its scope and its rate, as the route does.
        assert c.get("/v1/games/g1/board").status_code == 401
        assert c.get("/v1/games/g1/board", headers={"X-API-Key": INGEST_KEY}).status_code == 403
        codes = [c.get("/v1/games/g1/board", headers=read).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]  # 5 a minute: two above and three here
        limited = c.get("/v1/games/g1/board", headers=read)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json() == {"detail": "rate limit of key 'analyst' reached"}
    assert live.boards == 1 and len(routed) == 1


def test_only_a_validated_request_is_kept_and_nothing_found_is_a_404() -> None:
    live = _CountedLive()
    app = _app(live)
    routed = _routed(app, "/v1/games/{game_id}/board")
    read = {"X-API-Key": READ_KEY}
    with TestClient(app) as c:
        for _ in range(2):
            assert c.get("/v1/games/none/board", headers=read).status_code == 404
        # "Nothing found" is kept too (one computation), and answered by the route each time.
        assert live.boards == 1 and len(routed) == 2
        assert c.get("/v1/arbitrage?status=bogus", headers=read).status_code == 422
        assert app.state.answers.peek(("/v1/arbitrage", b"status=bogus")) is None
        # Another query is another answer.
        c.get("/v1/games/g1/board", headers=read)
        c.get("/v1/games/g1/board?x=1", headers=read)
        assert live.boards == 3
