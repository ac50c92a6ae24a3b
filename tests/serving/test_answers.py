"""The API's short-lived live answers: one computation per key at a time, nothing kept past the
TTL, errors never kept."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from serving.api.answers import Answers


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
