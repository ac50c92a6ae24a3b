"""Pointing every client at a SASL_SSL (SCRAM over TLS) cluster is one settings change.

A real broker whose only client listener is SASL_SSL with SCRAM-SHA-512 (the production
shape of MSK and Confluent clusters), a self-signed certificate, and two logins.  The
`lakehouse` command, confluent-kafka consumers and Spark's Kafka source and sink all reach it
through `LAKEHOUSE_KAFKA__*` alone; a wrong password and a plaintext client are refused.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from cli.main import main
from infra.stack.kafka import KafkaBroker
from infra.stack.kafka_security import BrokerSecurity
from infra.stack.process import free_port
from infra.stack.topics import TopicSpec, apply_topics, load_topic_specs
from lakehouse.config import KafkaSettings
from lakehouse.kafka import admin_config, consumer_config, spark_options
from lakehouse.topics import feed_topic

pytestmark = pytest.mark.integration

USER = "lakehouse-jobs"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    home = tmp_path_factory.mktemp("kafka-sasl")
    security = BrokerSecurity(home=home / "tls", users={USER: secrets.token_urlsafe(12)})
    broker = KafkaBroker(home=home, port=free_port(), controller_port=free_port(), security=security)
    broker.start()
    yield broker
    broker.stop()


def _env(broker: KafkaBroker, password: str | None = None) -> dict[str, str]:
    """The one settings change: where the cluster is and how to log in to it."""
    assert broker.security is not None
    return {
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap,
        "LAKEHOUSE_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "LAKEHOUSE_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "LAKEHOUSE_KAFKA__SASL_USERNAME": USER,
        "LAKEHOUSE_KAFKA__SASL_PASSWORD": password or broker.security.users[USER],
        "LAKEHOUSE_KAFKA__SSL_CA_LOCATION": str(broker.security.ca_file),
    }


def _read_all(kafka: KafkaSettings, topic: str) -> list[bytes]:
    consumer = Consumer(consumer_config(kafka, group_id=f"t-{uuid.uuid4().hex}"))
    try:
        parts = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        values: list[bytes] = []
        while sum(ends.values()) > len(values):
            msg = consumer.poll(10)
            assert msg is not None, f"read {len(values)} of {sum(ends.values())}"
            assert msg.error() is None, msg.error()
            values.append(msg.value())
        return values
    finally:
        consumer.close()


def test_the_cli_publishes_through_scram_over_tls(
    secured: KafkaBroker,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fresh_settings: None,
) -> None:
    for key, value in _env(secured).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["topics", "apply", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["topics"]) == {spec.name for spec in load_topic_specs()}
    nfl = str(shared_data / "espn" / "nfl.json")
    result = runner.invoke(main, ["produce", "replay", "espn", "--file", nfl])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "16 records, sent 16 games, dead-lettered 0", result.output
    result = runner.invoke(main, ["produce", "replay", "espn", "--file", nfl, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["sent"], summary["undelivered"]) == ({"games": 16}, 0)  # one record per game

    from lakehouse.config import get_settings

    settings = get_settings()
    assert settings.kafka.security_protocol == "SASL_SSL"
    games = [json.loads(v) for v in _read_all(settings.kafka, feed_topic("games"))]
    assert len(games) == 2 * 16  # replayed twice
    assert len({g["game_id"] for g in games}) == 16


@pytest.mark.spark
def test_spark_reads_and_writes_through_scram_over_tls(secured: KafkaBroker, spark) -> None:
    kafka = KafkaSettings.model_validate(
        {k.removeprefix("LAKEHOUSE_KAFKA__").lower(): v for k, v in _env(secured).items()}
    )
    source = "sasl.spark.source"
    copy = "sasl.spark.copy"
    apply_topics(kafka, [TopicSpec(source, 3, 1), TopicSpec(copy, 3, 1)])
    from confluent_kafka import Producer

    from lakehouse.kafka import producer_config

    producer = Producer(producer_config(kafka, client_id="t"))
    sent = [json.dumps({"n": i}).encode() for i in range(500)]
    for i, value in enumerate(sent):
        producer.produce(source, value, key=str(i % 7))
    assert producer.flush(30) == 0

    options = spark_options(kafka)
    assert options["kafka.security.protocol"] == "SASL_SSL" and "kafka.sasl.jaas.config" in options
    frame = spark.read.format("kafka").options(**options).option("subscribe", source).load()
    read = sorted(row.value for row in frame.select("value").collect())
    assert read == sorted(sent)
    frame.select("key", "value").write.format("kafka").options(**options).option("topic", copy).save()
    assert sorted(_read_all(kafka, copy)) == sorted(sent)


def test_a_wrong_password_and_a_plaintext_client_are_refused(
    secured: KafkaBroker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_settings: None
) -> None:
    for key, value in _env(secured, password="not-the-password").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_KAFKA__DELIVERY_TIMEOUT_MS", "5000")
    result = CliRunner().invoke(main, ["produce", "simulate", "--seconds", "5"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "were not delivered to Kafka" in last, result.output
    assert "Traceback" not in result.output and "not-the-password" not in result.output

    from lakehouse.config import get_settings

    errors: list[KafkaError] = []
    admin = AdminClient({**admin_config(get_settings().kafka), "error_cb": errors.append})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # serves the error callbacks
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors

    plaintext = AdminClient(admin_config(KafkaSettings(bootstrap_servers=secured.bootstrap)))
    with pytest.raises(KafkaException):
        plaintext.list_topics(timeout=3)
