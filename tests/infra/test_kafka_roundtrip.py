"""Produce and consume real records through the real broker."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
from confluent_kafka import Consumer, Producer

from infra.stack.kafka import KafkaBroker

pytestmark = pytest.mark.integration


def idempotent_producer(bootstrap: str) -> tuple[Producer, list[str]]:
    errors: list[str] = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "zstd",
            "linger.ms": 5,
        }
    )
    return producer, errors


def test_10k_keyed_records_round_trip_in_order_per_key(kafka_broker: KafkaBroker) -> None:
    topic = "odds.quotes"  # a declared topic: 6 partitions
    run = uuid.uuid4().hex[:8]
    producer, errors = idempotent_producer(kafka_broker.bootstrap)
    delivered = 0

    def on_delivery(err, msg) -> None:
        nonlocal delivered
        if err is not None:
            errors.append(str(err))
        else:
            delivered += 1

    keys = [f"{run}-game-{i}" for i in range(37)]
    sent: dict[str, list[int]] = defaultdict(list)
    for n in range(10_000):
        key = keys[n % len(keys)]
        seq = len(sent[key])
        sent[key].append(seq)
        producer.produce(topic, key=key, value=f"{key}|{seq}".encode(), on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert errors == []
    assert delivered == 10_000

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": f"roundtrip-{run}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: dict[str, list[int]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    total = 0
    idle = 0
    while total < 10_000 and idle < 20:
        batch = consumer.consume(num_messages=1000, timeout=1.0)
        idle = idle + 1 if not batch else 0
        for msg in batch:
            assert msg.error() is None, msg.error()
            key = msg.key().decode()
            if not key.startswith(run):
                continue  # records of other tests on the shared topic
            value_key, seq = msg.value().decode().split("|")
            assert value_key == key
            received[key].append(int(seq))
            partitions_of_key[key].add(msg.partition())
            total += 1
    consumer.close()

    assert total == 10_000
    assert set(received) == set(keys)
    for key in keys:
        assert received[key] == sent[key], f"order broken for {key}"
        assert len(partitions_of_key[key]) == 1, "a key must stay in one partition"
    assert len({p for ps in partitions_of_key.values() for p in ps}) > 1, "keys should spread over partitions"
