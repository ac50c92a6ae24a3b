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


@pytest.mark.integration
def test_flush_waits_out_an_outage_of_a_broker_it_reached_before(tmp_path) -> None:
    """After a delivery, 'every broker down' is an outage to wait for (the samples then arrive),
    not the absent broker of a run without Kafka."""
    import threading

    from infra.stack.kafka import KafkaBroker
    from infra.stack.topics import apply_topics

    broker = KafkaBroker(home=tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.start()
    try:
        apply_topics(broker.bootstrap)
        reporter = HealthReporter(
            Settings(kafka=KafkaSettings(bootstrap_servers=broker.bootstrap)), "quality"
        )
        reporter.emit({"rows_checked": 1.0})
        assert reporter.flush(timeout=30.0) == 0
        broker.stop()
        reporter.emit({"rows_checked": 2.0})
        time.sleep(2.0)  # long enough for librdkafka to report every broker down
        restart = threading.Timer(2.0, broker.start)
        restart.start()
        assert reporter.flush(timeout=90.0) == 0
        restart.join()
    finally:
        broker.stop()
