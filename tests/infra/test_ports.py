"""Ports for the services we start come from outside the kernel's ephemeral range.

A stopped service leaves clients that keep dialing its port; from outside the range, that port
is never handed to a later ``bind(0)`` listener (Spark's per-task state server was one such
victim), so a stale client reaches only a service we started, or nothing.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from infra.stack import process
from infra.stack.process import ephemeral_range, free_port, free_port_block


def outside(port: int, low: int, high: int) -> bool:
    return not low <= port <= high


def test_the_range_is_the_kernels() -> None:
    low, high = ephemeral_range()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        assert low <= s.getsockname()[1] <= high  # what bind(0) hands out


def test_a_free_port_is_bindable_and_never_ephemeral() -> None:
    low, high = ephemeral_range()
    ports = {free_port() for _ in range(50)}
    assert len(ports) > 40  # random, not one fixed port
    assert all(outside(p, low, high) and 10000 <= p <= 65535 for p in ports)
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_a_block_is_consecutive_free_and_wholly_outside(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    narrow = tmp_path / "ip_local_port_range"
    narrow.write_text("12000\t64000\n")
    monkeypatch.setattr(process, "EPHEMERAL_RANGE_FILE", narrow)
    assert ephemeral_range() == (12000, 64000)
    for _ in range(20):
        first = free_port_block(6)
        assert all(outside(p, 12000, 64000) for p in range(first, first + 6))
        assert first + 5 <= 65535


def test_a_taken_port_is_not_offered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tiny = tmp_path / "ip_local_port_range"
    tiny.write_text("10002 65533\n")  # leaves 10000, 10001, 65534 and 65535
    monkeypatch.setattr(process, "EPHEMERAL_RANGE_FILE", tiny)
    with socket.socket() as a, socket.socket() as b, socket.socket() as c:
        taken = []
        for sock, port in ((a, 10000), (b, 65534), (c, 65535)):
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
                taken.append(port)
            except OSError:
                pass  # already taken by someone else: just as good
        free = {10000, 10001, 65534, 65535} - set(taken)
        assert {free_port() for _ in range(30)} <= free
        with pytest.raises(OSError, match="no 3 consecutive free ports"):
            free_port_block(3)


def test_an_unreadable_range_falls_back_to_linux_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(process, "EPHEMERAL_RANGE_FILE", tmp_path / "missing")
    assert ephemeral_range() == (32768, 60999)
