"""Health samples never hold a command up: with no broker to reach, `flush` gives up at once."""

from __future__ import annotations

import time

import pytest

from infra.stack.process import free_port
from lakehouse.config import KafkaSettings, Settings
from lakehouse.health import HealthReporter


def test_flush_gives_up_when_no_broker_can_be_reached() -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}"))
    reporter = HealthReporter(settings, "quality")
    assert reporter.emit({"rows_checked": 10.0, "expectations_failed": 0.0, "skipped": None}) == 2
    started = time.monotonic()
    undelivered = reporter.flush(timeout=120.0)
    # Counted, not lost silently, and not waited for: the whole timeout would be 120 s.
    assert undelivered == 2
    assert time.monotonic() - started < 60.0


@pytest.mark.integration
def test_flush_delivers_to_a_running_broker(kafka_broker) -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    reporter = HealthReporter(settings, "quality")
    reporter.emit({"rows_checked": 10.0})
    assert reporter.flush(timeout=30.0) == 0
