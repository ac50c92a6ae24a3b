"""Topics as code: declarations load, and applying them is idempotent and converges."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from infra.stack.kafka import KafkaBroker
from infra.stack.topics import TopicSpec, apply_topics, load_topic_specs


def test_declared_topics_cover_every_feed_with_a_dead_letter_topic() -> None:
    specs = {s.name: s for s in load_topic_specs()}
    for feed in ("odds.quotes", "games.events", "weather.observations", "news.articles"):
        assert feed in specs
        assert f"{feed}.dlq" in specs
        assert int(specs[f"{feed}.dlq"].config["retention.ms"]) > int(specs[feed].config["retention.ms"])
    assert specs["agg.market_prices_live"].config["cleanup.policy"] == "compact"
    assert specs["odds.quotes"].partitions == 6


@pytest.mark.integration
def test_apply_is_idempotent_and_converges_on_changes(kafka_broker: KafkaBroker) -> None:
    name = f"t.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(name, partitions=2, replication_factor=1, config={"retention.ms": "3600000"})
    assert apply_topics(kafka_broker.bootstrap, [spec]) == {name: "created"}
    assert apply_topics(kafka_broker.bootstrap, [spec]) == {name: "unchanged"}

    grown = TopicSpec(name, partitions=4, replication_factor=1, config={"retention.ms": "7200000"})
    assert apply_topics(kafka_broker.bootstrap, [grown]) == {name: "updated"}
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    assert len(admin.list_topics(name, timeout=10).topics[name].partitions) == 4
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    config = admin.describe_configs([resource])[resource].result()
    assert config["retention.ms"].value == "7200000"
    assert apply_topics(kafka_broker.bootstrap, [grown]) == {name: "unchanged"}


def test_cluster_ids_never_look_like_options() -> None:
    from infra.stack.kafka import new_cluster_id

    ids = [new_cluster_id() for _ in range(5000)]  # ~1 in 64 raw ids starts with '-'
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
