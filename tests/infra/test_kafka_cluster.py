"""A three-broker KRaft cluster: replicated topics, and one broker SIGKILLed while records are
produced and streamed into bronze and silver: nothing lost, nothing duplicated, the stream goes on."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from infra.stack.kafka import KafkaCluster
from infra.stack.process import free_port_block
from infra.stack.topics import apply_topics
from lakehouse.catalog import load_catalog, spark_catalog_conf
from lakehouse.config import CatalogSettings, KafkaSettings, Settings, StreamingSettings
from lakehouse.kafka import admin_config, producer_config
from lakehouse.schemas import validate
from producers.simulator import Simulator
from streaming.bronze import bronze_query
from streaming.runner import stop_between_batches
from streaming.silver import silver_query

pytestmark = [pytest.mark.integration, pytest.mark.spark]
RECORDS = 30_000


def test_a_broker_killed_during_produce_and_streaming_loses_and_duplicates_nothing(
    spark, tmp_path: Path
) -> None:
    base = free_port_block(6)
    cluster = KafkaCluster(home=tmp_path / "kafka", port=base, controller_port=base + 1, heap="384m", size=3)
    cluster.start()
    try:
        apply_topics(cluster.bootstrap)
        admin = AdminClient(admin_config(KafkaSettings(bootstrap_servers=cluster.bootstrap)))
        odds = admin.list_topics(timeout=10).topics["odds.quotes"]
        assert len(odds.partitions) == 6
        assert {len(p.replicas) for p in odds.partitions.values()} == {3}
        (described,) = admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, "odds.quotes")]
        ).values()
        assert described.result()["min.insync.replicas"].value == "2"

        settings = Settings(
            state_dir=tmp_path / "state",
            kafka=KafkaSettings(bootstrap_servers=cluster.bootstrap),
            catalog=CatalogSettings(kind="local", name=f"cluster_{uuid.uuid4().hex[:8]}"),
            streaming=StreamingSettings(max_offsets_per_trigger=4000),
        )
        for key, value in spark_catalog_conf(settings).items():
            spark.conf.set(key, value)
        from iceberg import ensure_tables

        ensure_tables(load_catalog(settings))
        queries = [bronze_query(spark, settings), silver_query(spark, settings)]

        records = []
        for feed, record in Simulator(seed=21).run(100_000):
            if feed == "odds":
                records.append(validate("odds", record))
                if len(records) == RECORDS:
                    break
        failures: list[str] = []
        victim = cluster.brokers[1]

        def produce() -> None:
            producer = Producer(producer_config(settings.kafka, client_id="cluster-test"))

            def delivered(err, _msg) -> None:
                if err is not None:
                    failures.append(str(err))

            for i, record in enumerate(records):
                producer.produce(
                    "odds.quotes",
                    key=record["game_id"],
                    value=json.dumps(record).encode(),
                    on_delivery=delivered,
                )
                if i % 1000 == 999:
                    producer.poll(0)
                    time.sleep(0.2)
                if i == RECORDS // 3:
                    victim.kill()  # SIGKILL: no controlled shutdown, leaders move under load
            assert producer.flush(120) == 0

        thread = threading.Thread(target=produce)
        thread.start()
        thread.join(300)
        assert not thread.is_alive() and failures == []
        assert victim.running_pid() is None
        for query in queries:
            query.processAllAvailable()
            assert query.exception() is None
        for query in queries:
            stop_between_batches(query)

        catalog = load_catalog(settings)
        bronze = catalog.load_table("bronze.kafka_records").scan().to_arrow()
        coordinates = set(zip(bronze["partition"].to_pylist(), bronze["offset"].to_pylist(), strict=True))
        ids = [json.loads(v)["event_id"] for v in bronze["value"].to_pylist()]
        assert bronze.num_rows == len(coordinates) == len(set(ids)) == RECORDS  # once each, in Kafka too
        silver = catalog.load_table("silver.odds_quotes").scan().to_arrow()
        assert silver.num_rows == len(set(silver["event_id"].to_pylist())) == RECORDS
        assert set(silver["event_id"].to_pylist()) == {r["event_id"] for r in records}
    finally:
        cluster.stop()
