"""Kafka client configuration: the one place producer, consumer, admin and Spark settings are written.

Every client in the project (the publisher, health samples, the stack's admin, consumers, the
Spark Kafka source and sink) takes its configuration from here, so pointing the platform at
another cluster, or tuning the producer, is one settings change (``LAKEHOUSE_KAFKA__*``).
"""

from __future__ import annotations

from typing import Any

from lakehouse.config import KafkaSettings

__all__ = ["admin_config", "client_config", "consumer_config", "producer_config", "spark_options"]


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """What every client needs: where the cluster is."""
    return {"bootstrap.servers": kafka.bootstrap}


def producer_config(kafka: KafkaSettings, *, client_id: str, **overrides: Any) -> dict[str, Any]:
    """An idempotent, acks=all producer with the tuned batching settings; ``overrides`` win.

    Idempotence with acks=all is what makes a retried send write once, in order, per partition.
    """
    return {
        **client_config(kafka),
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": kafka.compression_type,
        "linger.ms": kafka.linger_ms,
        "batch.size": kafka.batch_size,
        "queue.buffering.max.messages": kafka.queue_max_messages,
        "message.timeout.ms": kafka.delivery_timeout_ms,
        "log_level": 3,  # errors only: delivery failures are counted and reported by the caller
        **overrides,
    }


def consumer_config(kafka: KafkaSettings, *, group_id: str, **overrides: Any) -> dict[str, Any]:
    """A consumer that starts from the earliest offset and commits only when told to."""
    return {
        **client_config(kafka),
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "log_level": 3,
        **overrides,
    }


def admin_config(kafka: KafkaSettings) -> dict[str, Any]:
    return {**client_config(kafka), "log_level": 0}


def spark_options(kafka: KafkaSettings) -> dict[str, str]:
    """The same cluster for Spark's Kafka source and sink (their options carry a ``kafka.`` prefix)."""
    return {f"kafka.{key}": str(value) for key, value in client_config(kafka).items()}
