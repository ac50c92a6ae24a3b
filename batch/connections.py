"""Settings for a DAG's task: the environment's, overlaid with the Airflow Connections that exist.

Operators keep credentials in Airflow (its metadata database, or a secrets backend such as AWS
Secrets Manager) rather than in every worker's environment.  A task reads these connections
when they exist, in the shapes of the installed providers, so the Airflow UI's forms fill them:

- ``lakehouse_kafka`` (type ``kafka``): its extra is the client configuration, as the Kafka
  provider takes it (``bootstrap.servers``, ``security.protocol``, ``sasl.mechanism``,
  ``sasl.username``, ``sasl.password``, ``ssl.ca.location``).
- ``lakehouse_snowflake`` (type ``snowflake``): login and password; extra ``account``,
  ``database``, ``warehouse`` and ``role`` (those of dbt's transforms) and ``private_key_file``,
  whose passphrase is then the password, as the Snowflake provider reads it.  Host and port
  point at another endpoint (the tests' emulator).
- ``lakehouse_aws`` (type ``aws``): extra ``region_name`` and ``endpoint_url`` (for Glue and
  S3, e.g. LocalStack).  Credentials stay with the worker's role (MWAA's execution role).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lakehouse.config import CatalogSettings, KafkaSettings, Settings, WarehouseSettings
from lakehouse.log import get_logger

log = get_logger(__name__)

KAFKA_CONN_ID = "lakehouse_kafka"
SNOWFLAKE_CONN_ID = "lakehouse_snowflake"
AWS_CONN_ID = "lakehouse_aws"

_KAFKA_KEYS = {
    "bootstrap.servers": "bootstrap_servers",
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.username": "sasl_username",
    "sasl.password": "sasl_password",
    "ssl.ca.location": "ssl_ca_location",
}


def task_settings(base: Settings | None = None) -> Settings:
    """``base`` (default: from the environment) with every existing connection applied."""
    settings = base or Settings()
    update: dict[str, Any] = {}
    if (kafka := _connection(KAFKA_CONN_ID)) is not None:
        extra = kafka.extra_dejson
        unknown = sorted(set(extra) - set(_KAFKA_KEYS))
        if unknown:
            raise ValueError(f"connection {KAFKA_CONN_ID}: unsupported client settings {unknown}")
        update["kafka"] = _merged(
            KAFKA_CONN_ID, settings.kafka, {_KAFKA_KEYS[k]: v for k, v in extra.items()}
        )
    if (snowflake := _connection(SNOWFLAKE_CONN_ID)) is not None:
        extra = snowflake.extra_dejson
        fields = {  # which warehouse is used stays a setting (or the DAG's param): this is the login
            "snowflake_user": snowflake.login,
            "snowflake_account": extra.get("account"),
            "snowflake_database": extra.get("database"),
            "snowflake_warehouse": extra.get("warehouse"),
            "snowflake_role": extra.get("role"),
            "snowflake_private_key_path": extra.get("private_key_file"),
            "snowflake_host": snowflake.host,
            "snowflake_port": snowflake.port,
            "snowflake_protocol": extra.get("protocol"),
        }
        update["warehouse"] = _merged(SNOWFLAKE_CONN_ID, settings.warehouse, fields)
        secret = "snowflake_private_key_passphrase" if extra.get("private_key_file") else "snowflake_password"
        if snowflake.password:
            update[secret] = snowflake.password
    if (aws := _connection(AWS_CONN_ID)) is not None:
        extra = aws.extra_dejson
        endpoint = extra.get("endpoint_url")
        fields = {"aws_region": extra.get("region_name"), "glue_endpoint": endpoint, "s3_endpoint": endpoint}
        update["catalog"] = _merged(AWS_CONN_ID, settings.catalog, fields)
    if not update:
        return settings
    log.info("settings from Airflow connections", parts=sorted(update))
    return Settings.model_validate({**dict(settings), **update})


def _merged(
    conn_id: str, part: KafkaSettings | WarehouseSettings | CatalogSettings, fields: dict[str, Any]
) -> KafkaSettings | WarehouseSettings | CatalogSettings:
    """``part`` with the connection's non-empty fields, validated (a bad value fails here, named)."""
    given = {key: value for key, value in fields.items() if value not in (None, "")}
    try:
        return type(part).model_validate({**dict(part), **given})
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ValueError(f"connection {conn_id}: {problems}") from None


def _connection(conn_id: str) -> Any:
    """The Airflow connection ``conn_id``, or None when it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
