"""Fixtures that start real services (Kafka, moto, Spark) on free loopback ports and stop them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# moto accepts any credentials; set them before any JVM (Spark) or boto3 client starts so
# nothing in a test can reach real AWS with a developer's own keys.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ[_key] = _value

from infra.stack.kafka import KafkaBroker  # noqa: E402
from infra.stack.moto import MotoServer  # noqa: E402
from infra.stack.process import free_port  # noqa: E402
from infra.stack.topics import apply_topics  # noqa: E402
from lakehouse.config import CatalogSettings, KafkaSettings, Settings  # noqa: E402


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A real KRaft broker with the project's topics, shared by the session."""
    broker = KafkaBroker(home=tmp_path_factory.mktemp("kafka"), port=free_port(), controller_port=free_port())
    broker.start()
    apply_topics(broker.bootstrap)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(home=tmp_path_factory.mktemp("moto"), port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lake_settings(tmp_path_factory: pytest.TempPathFactory, kafka_broker: KafkaBroker) -> Settings:
    """Settings for an isolated local lake (its own catalog and warehouse) on the test broker."""
    state = tmp_path_factory.mktemp("state")
    return Settings(
        state_dir=state,
        kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap),
        catalog=CatalogSettings(kind="local"),
    )


@pytest.fixture(scope="session")
def spark(lake_settings: Settings):
    """One local[2] SparkSession per test session (Spark allows one per process)."""
    from lakehouse.spark import build_spark_session

    session = build_spark_session(lake_settings, app_name="lakehouse-tests")
    yield session
    session.stop()


@pytest.fixture
def shared_data() -> Path:
    path = Settings().shared_data_dir
    if not path.is_dir():
        pytest.fail(f"real data folder {path} is missing (expected ../shared/data beside the project)")
    return path
