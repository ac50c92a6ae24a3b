"""Kafka client configuration comes from one place, tuned by settings."""

from __future__ import annotations

from lakehouse.config import KafkaSettings, Settings
from lakehouse.kafka import admin_config, consumer_config, producer_config, spark_options


def test_every_client_points_at_the_configured_cluster(monkeypatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS", "b1:9092,b2:9092")
    monkeypatch.setenv("LAKEHOUSE_KAFKA__LINGER_MS", "5")
    kafka = Settings().kafka
    producer = producer_config(kafka, client_id="p")
    assert producer["bootstrap.servers"] == "b1:9092,b2:9092"
    assert (producer["enable.idempotence"], producer["acks"], producer["linger.ms"]) == (True, "all", 5)
    assert consumer_config(kafka, group_id="g")["bootstrap.servers"] == "b1:9092,b2:9092"
    assert admin_config(kafka)["bootstrap.servers"] == "b1:9092,b2:9092"
    assert spark_options(kafka) == {"kafka.bootstrap.servers": "b1:9092,b2:9092"}


def test_overrides_win_and_the_local_broker_is_the_default() -> None:
    kafka = KafkaSettings(port=19092)
    assert producer_config(kafka, client_id="x", **{"linger.ms": 0})["linger.ms"] == 0
    assert consumer_config(kafka, group_id="g")["bootstrap.servers"] == "127.0.0.1:19092"
    assert consumer_config(kafka, group_id="g")["enable.auto.commit"] is False
