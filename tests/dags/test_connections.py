"""DAG tasks take their logins from Airflow Connections (in the installed providers' shapes)."""

from __future__ import annotations

import json

import pytest

from batch.connections import task_settings
from lakehouse.config import Settings
from lakehouse.kafka import client_config

KAFKA_CLIENT = {  # a Kafka connection's extra: the client settings, as the Kafka provider takes them
    "bootstrap.servers": "b-1.msk:9096,b-2.msk:9096",
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "jobs",
    "sasl.password": "kafka-secret-1",
    "ssl.ca.location": "/etc/ssl/ca.pem",
}


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    """A connection as Airflow's environment secrets backend holds it (AIRFLOW_CONN_<ID>, JSON)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_without_connections_the_environment_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    for conn_id in ("LAKEHOUSE_KAFKA", "LAKEHOUSE_SNOWFLAKE", "LAKEHOUSE_AWS"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id}", raising=False)
    assert task_settings() == Settings()
    assert task_settings().kafka.bootstrap == "env:9092"


def test_each_connection_overrides_its_engine(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE__SNOWFLAKE_ROLE", "FROM_ENV")
    monkeypatch.setenv("LAKEHOUSE_SNOWFLAKE_PASSWORD", "env-password")
    _conn(
        monkeypatch,
        "lakehouse_kafka",
        conn_type="kafka",
        extra=KAFKA_CLIENT,
    )
    key = tmp_path / "rsa_key.p8"
    _conn(
        monkeypatch,
        "lakehouse_snowflake",
        conn_type="snowflake",
        login="LAKEHOUSE_SVC",
        password="key-passphrase-1",
        extra={
            "account": "xy12345.eu-west-1",
            "database": "BETTING",
            "warehouse": "TRANSFORMING",
            "private_key_file": str(key),
        },
    )
    _conn(
        monkeypatch,
        "lakehouse_aws",
        conn_type="aws",
        extra={"region_name": "us-east-2", "endpoint_url": "http://localstack:4566"},
    )
    settings = task_settings()
    assert client_config(settings.kafka) == KAFKA_CLIENT  # librdkafka gets what the connection says
    wh = settings.warehouse
    assert (wh.snowflake_account, wh.snowflake_user, wh.snowflake_private_key_path) == (
        "xy12345.eu-west-1",
        "LAKEHOUSE_SVC",
        key,
    )
    assert wh.snowflake_role == "FROM_ENV"  # what the connection does not say stays the setting's
    assert wh.kind == "duckdb"  # which warehouse is used is a setting (or the DAG's param), not a login
    # With a key file the connection's password is the key's passphrase (the Snowflake provider's rule).
    assert settings.snowflake_private_key_passphrase is not None
    assert settings.snowflake_private_key_passphrase.get_secret_value() == "key-passphrase-1"
    assert (
        settings.snowflake_password is not None
        and settings.snowflake_password.get_secret_value() == "env-password"
    )
    assert (settings.catalog.aws_region, settings.catalog.glue_endpoint, settings.catalog.s3_endpoint) == (
        "us-east-2",
        "http://localstack:4566",
        "http://localstack:4566",
    )
    # dbt (run in the task's process) reads its profile from the same values.
    from batch.dbt_build import _profile_env

    profile = _profile_env(settings, "snowflake")
    assert profile["LAKEHOUSE_WAREHOUSE__SNOWFLAKE_ACCOUNT"] == "xy12345.eu-west-1"
    assert profile["LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PRIVATE_KEY_PATH"] == str(key)
    assert profile["LAKEHOUSE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"] == "key-passphrase-1"
    shown = repr(settings) + str(settings.model_dump())
    assert "kafka-secret-1" not in shown and "key-passphrase-1" not in shown


def test_a_bad_connection_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(
        monkeypatch, "lakehouse_kafka", conn_type="kafka", extra={"bootstrap.servers": "b:1", "acks": "all"}
    )
    with pytest.raises(
        ValueError, match=r"connection lakehouse_kafka: unsupported client settings \['acks'\]"
    ):
        task_settings()
    _conn(monkeypatch, "lakehouse_kafka", conn_type="kafka", extra={"security.protocol": "SASL_SSL"})
    with pytest.raises(
        ValueError, match=r"^connection lakehouse_kafka: Kafka security_protocol SASL_SSL needs"
    ):
        task_settings()
