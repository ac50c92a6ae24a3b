"""Kafka client configuration: the one place producer, consumer, admin and Spark settings are written.

Every client in the project (the publisher, health samples, the stack's admin, consumers, the
Spark Kafka source and sink) takes its configuration from here, so pointing the platform at
another cluster, or tuning the producer, is one settings change (``LAKEHOUSE_KAFKA__*``).
"""

from __future__ import annotations

from typing import Any

from lakehouse.config import KafkaSettings

__all__ = [
    "JAAS_CONFIG_ENV",
    "admin_config",
    "client_config",
    "consumer_config",
    "druid_consumer_properties",
    "jaas_config",
    "java_client_properties",
    "producer_config",
    "spark_options",
]

JAAS_CONFIG_ENV = "LAKEHOUSE_KAFKA_JAAS_CONFIG"
"""The environment variable Druid's processes read the SASL login from (see `druid_consumer_properties`)."""

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """What every librdkafka client needs: where the cluster is and how to connect to it."""
    config: dict[str, Any] = {"bootstrap.servers": kafka.bootstrap}
    if kafka.security_protocol != "PLAINTEXT":
        config["security.protocol"] = kafka.security_protocol
    if kafka.sasl and kafka.sasl_password is not None:
        config |= {
            "sasl.mechanism": kafka.sasl_mechanism,
            "sasl.username": kafka.sasl_username,
            "sasl.password": kafka.sasl_password.get_secret_value(),
        }
    if kafka.ssl_ca_location is not None:
        config["ssl.ca.location"] = str(kafka.ssl_ca_location)
    return config


def jaas_config(kafka: KafkaSettings) -> str:
    """The Java client's SASL login line (it carries the password: never log it)."""
    if kafka.sasl_password is None:
        raise ValueError("no SASL password: set LAKEHOUSE_KAFKA__SASL_PASSWORD")
    user, password = _jaas_quoted(kafka.sasl_username), _jaas_quoted(kafka.sasl_password.get_secret_value())
    return f'{_LOGIN_MODULES[kafka.sasl_mechanism]} required username="{user}" password="{password}";'


def _jaas_quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def java_client_properties(kafka: KafkaSettings, *, with_login: bool = True) -> dict[str, str]:
    """The same connection for Java clients (Spark's Kafka source and sink, Druid's supervisors).

    A PEM truststore (Kafka >= 2.7) takes the same CA file librdkafka reads.
    """
    props = {"bootstrap.servers": kafka.bootstrap}
    if kafka.security_protocol != "PLAINTEXT":
        props["security.protocol"] = kafka.security_protocol
    if kafka.sasl:
        props["sasl.mechanism"] = kafka.sasl_mechanism
        if with_login:
            props["sasl.jaas.config"] = jaas_config(kafka)
    if kafka.ssl_ca_location is not None:
        props |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(kafka.ssl_ca_location)}
    return props


def druid_consumer_properties(kafka: KafkaSettings) -> dict[str, Any]:
    """A Kafka supervisor's ``consumerProperties``.

    The SASL login is not written into the spec (Druid keeps specs in its metadata store and shows
    them in its console): Druid's environment config provider reads it from ``JAAS_CONFIG_ENV`` in
    the Overlord's and the task processes' environment, where the operator sets `jaas_config`'s line.
    """
    props: dict[str, Any] = java_client_properties(kafka, with_login=False)
    if kafka.sasl:
        props["druid.dynamic.config.provider"] = {
            "type": "environment",
            "variables": {"sasl.jaas.config": JAAS_CONFIG_ENV},
        }
    return props


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
    """The same cluster for Spark's Kafka source and sink (their options carry a ``kafka.`` prefix;
    Spark redacts ``sasl.jaas.config`` in its logs and UI)."""
    return {f"kafka.{key}": value for key, value in java_client_properties(kafka).items()}
