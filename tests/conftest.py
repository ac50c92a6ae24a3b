"""Fixtures that start real services (Kafka, moto, Spark) on free loopback ports and stop them."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

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

# Every JVM the tests start (Kafka, Druid, Spark, Maven) compiles with C1 only, but the session's
# Spark driver (below); production and `bench/` keep the JVM's defaults.
from infra.stack.process import free_port, quick_start_jvms  # noqa: E402

_jvm_options = quick_start_jvms()

from infra.stack.druid import DruidCluster  # noqa: E402
from infra.stack.kafka import KafkaBroker  # noqa: E402
from infra.stack.moto import MotoServer  # noqa: E402
from infra.stack.spark_cluster import SparkCluster  # noqa: E402
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
def druid_cluster(
    tmp_path_factory: pytest.TempPathFactory, kafka_broker: KafkaBroker
) -> Iterator[DruidCluster]:
    """A real Druid cluster (ZooKeeper, coordinator-overlord, broker, historical, Indexer, router).

    Started once. Its home is `<state>/stack/druid`, where `lakehouse stack` looks for it with
    `LAKEHOUSE_STATE_DIR=<state>`, so CLI tests can drive the same cluster.
    """
    cluster = DruidCluster(
        home=tmp_path_factory.mktemp("druid-state") / "stack" / "druid",
        zookeeper_port=free_port(),
        coordinator_port=free_port(),
        broker_port=free_port(),
        historical_port=free_port(),
        indexer_port=free_port(),
        router_port=free_port(),
        derby_port=free_port(),
    )
    try:
        cluster.start()
        _released_after_last_use["druid_cluster"] = cluster.stop
        yield cluster
    finally:
        cluster.stop()  # a no-op when it was released after its last test


_released_after_last_use: dict[str, Callable[[], object]] = {}
"""Session services stopped after the last collected test that uses them, not at the session's
end: an idle Druid with its supervisors used about 14% of a core, taken from the stream tests
that run after tests/serving."""
_last_user: dict[str, str] = {}


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _last_user.clear()
    for item in items:
        if "druid_cluster" in getattr(item, "fixturenames", ()):
            _last_user["druid_cluster"] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    for name, nodeid in _last_user.items():
        if item.nodeid == nodeid and name in _released_after_last_use:
            _released_after_last_use.pop(name)()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(home=tmp_path_factory.mktemp("moto"), port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A Spark standalone master and two 1-core workers from the pyspark distribution."""
    cluster = SparkCluster(
        home=tmp_path_factory.mktemp("spark-cluster"),
        port=free_port(),
        webui_port=free_port(),
        workers=2,
        cores=1,
        memory="2g",
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


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

    # This driver lives for the whole session and runs most Spark tests: C2's faster code pays for
    # its compile threads here (the determinism tests took 35% longer under C1, then with its
    # 48 MiB code cache; with C2 here and C1's cache sized for the rest, 310 s in CI against 353 s
    # for C2 everywhere).
    c1_only = os.environ["JDK_JAVA_OPTIONS"]
    os.environ["JDK_JAVA_OPTIONS"] = _jvm_options
    try:
        session = build_spark_session(lake_settings, app_name="lakehouse-tests")
    finally:
        os.environ["JDK_JAVA_OPTIONS"] = c1_only
    yield session
    session.stop()


@pytest.fixture
def shared_data() -> Path:
    path = Settings().shared_data_dir
    if not path.is_dir():
        pytest.fail(f"real data folder {path} is missing (expected ../shared/data beside the project)")
    return path


@pytest.fixture
def topic_reader(kafka_broker: KafkaBroker):
    """Read a topic back from given offsets: `end_offsets(topic)` before, `read(topic, start)` after."""
    import json as _json
    import time

    from confluent_kafka import Consumer, KafkaException, TopicPartition

    def _consumer() -> Consumer:
        import uuid

        return Consumer({"bootstrap.servers": kafka_broker.bootstrap, "group.id": f"t-{uuid.uuid4().hex}"})

    class Reader:
        @staticmethod
        def end_offsets(topic: str) -> dict[int, int]:
            c = _consumer()
            try:
                parts = c.list_topics(topic, timeout=10).topics[topic].partitions
                for attempt in range(50):  # a just-created partition may not serve offsets yet
                    try:
                        return {
                            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts
                        }
                    except KafkaException:
                        if attempt == 49:
                            raise
                        time.sleep(0.2)
                raise AssertionError("unreachable")
            finally:
                c.close()

        @staticmethod
        def read(topic: str, start: dict[int, int], idle_s: float = 3.0) -> list[dict]:
            """Every record after `start`: key, headers, partition and the JSON value."""
            end = Reader.end_offsets(topic)
            wanted = sum(end[p] - start.get(p, 0) for p in end)
            c = _consumer()
            c.assign([TopicPartition(topic, p, start.get(p, 0)) for p in end])
            out: list[dict] = []
            idle = 0.0
            while len(out) < wanted and idle < idle_s:
                batch = c.consume(num_messages=1000, timeout=0.5)
                idle = idle + 0.5 if not batch else 0.0
                for m in batch:
                    assert m.error() is None, m.error()
                    out.append(
                        {
                            "key": m.key().decode() if m.key() else None,
                            "headers": {k: v.decode() for k, v in (m.headers() or [])},
                            "partition": m.partition(),
                            "value": _json.loads(m.value()),
                        }
                    )
            c.close()
            return out

    return Reader


class Api:
    """Scripted responses per path (the last one repeats) and a log of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.log: list[tuple[str, dict[str, list[str]]]] = []
        self.lock = threading.Lock()

    def respond(self, path: str, *responses: tuple[int, dict[str, str], bytes]) -> None:
        self.routes[path] = list(responses)

    def next(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            queue = self.routes.get(path) or [(404, {}, b'{"message": "not found"}')]
            return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    """A local HTTP server standing in for a public API: scripted responses, logged requests."""
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            with state.lock:
                state.log.append((url.path, parse_qs(url.query)))
            status, headers, body = state.next(url.path)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def glue_settings(moto_server: MotoServer, tmp_path: Path) -> Settings:
    """Settings for a Glue + S3 catalog named `glue` on the moto server, with a fresh bucket."""
    import uuid

    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="eu-west-1").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return Settings(
        state_dir=tmp_path,
        catalog=CatalogSettings(
            kind="glue",
            name="glue",
            s3_warehouse=f"s3://{bucket}/warehouse",
            aws_region="eu-west-1",
            glue_endpoint=moto_server.endpoint,
            s3_endpoint=moto_server.endpoint,
        ),
    )


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict]:
    """The Snowflake emulator (fakesnow in server mode) on a free loopback port, with database BETTING.

    Yields `snowflake.connector.connect` keyword arguments. One per session, started here rather
    than with `fakesnow.server()`: that works once per process (its `import fakesnow.server`
    rebinds the package attribute to the submodule), so every test shares this one.
    """
    import importlib

    import snowflake.connector

    from tests.support.http import served

    with served(importlib.import_module("fakesnow.server").app) as base:
        kwargs = {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": int(base.rsplit(":", 1)[1]),
            "protocol": "http",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            "network_timeout": 10,  # the connector retries a failing request until this runs out
        }
        conn = snowflake.connector.connect(**kwargs)
        conn.cursor().execute("CREATE DATABASE IF NOT EXISTS BETTING")
        conn.close()
        yield kwargs


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """The CLI reads the environment once per process (`get_settings`): for an in-process CLI
    test that sets variables, read them again, and forget them after the test."""
    from lakehouse.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
