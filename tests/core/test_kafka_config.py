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


SASL_ENV = {
    "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": "b-1.msk.example:9096,b-2.msk.example:9096",
    "LAKEHOUSE_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
    "LAKEHOUSE_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
    "LAKEHOUSE_KAFKA__SASL_USERNAME": "jobs",
    "LAKEHOUSE_KAFKA__SASL_PASSWORD": 'p"a\\ss-7Zq',
    "LAKEHOUSE_KAFKA__SSL_CA_LOCATION": "/etc/ssl/msk-ca.pem",
}


def test_sasl_settings_reach_every_client_and_no_log_or_spec(monkeypatch) -> None:
    from lakehouse.kafka import druid_consumer_properties, jaas_config

    for key, value in SASL_ENV.items():
        monkeypatch.setenv(key, value)
    kafka = Settings().kafka
    for config in (
        producer_config(kafka, client_id="p"),
        consumer_config(kafka, group_id="g"),
        admin_config(kafka),
    ):
        assert {
            k: config[k] for k in ("security.protocol", "sasl.mechanism", "sasl.username", "sasl.password")
        } == {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "jobs",
            "sasl.password": 'p"a\\ss-7Zq',
        }
        assert config["ssl.ca.location"] == "/etc/ssl/msk-ca.pem"
    # The Java login line escapes quotes and backslashes, as the JAAS parser reads them.
    assert jaas_config(kafka) == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="jobs" password="p\\"a\\\\ss-7Zq";'
    )
    spark = spark_options(kafka)
    assert spark["kafka.sasl.jaas.config"] == jaas_config(kafka)
    assert (spark["kafka.ssl.truststore.type"], spark["kafka.ssl.truststore.location"]) == (
        "PEM",
        "/etc/ssl/msk-ca.pem",
    )
    # Druid keeps specs in its metadata store and shows them: the login comes from its environment.
    druid = druid_consumer_properties(kafka)
    assert "sasl.jaas.config" not in druid and "7Zq" not in str(druid)
    assert druid["druid.dynamic.config.provider"]["variables"] == {
        "sasl.jaas.config": "LAKEHOUSE_KAFKA_JAAS_CONFIG"
    }
    assert "7Zq" not in repr(kafka) and "7Zq" not in str(Settings())


def test_plaintext_adds_no_security_options() -> None:
    from lakehouse.kafka import druid_consumer_properties

    kafka = KafkaSettings()
    assert set(admin_config(kafka)) == {"bootstrap.servers", "log_level"}
    assert druid_consumer_properties(kafka) == {"bootstrap.servers": "127.0.0.1:9092"}


def test_sasl_without_a_password_is_a_one_line_error(monkeypatch, fresh_settings) -> None:
    from click.testing import CliRunner

    from cli.main import main

    monkeypatch.setenv("LAKEHOUSE_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("LAKEHOUSE_KAFKA__SASL_USERNAME", "jobs")
    result = CliRunner().invoke(main, ["topics", "apply"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: invalid settings: kafka: Kafka security_protocol SASL_SSL needs "
        "LAKEHOUSE_KAFKA__SASL_USERNAME and LAKEHOUSE_KAFKA__SASL_PASSWORD"
    )
