"""Topics as code: `infra/topics.yaml` applied to a broker idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from lakehouse.config import KafkaSettings
from lakehouse.kafka import admin_config
from lakehouse.log import get_logger

log = get_logger(__name__)

TOPICS_FILE = Path(__file__).resolve().parents[1] / "topics.yaml"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""


def load_topic_specs(path: Path = TOPICS_FILE) -> list[TopicSpec]:
    """Read the topic declarations, filling each topic from `defaults`."""
    doc = yaml.safe_load(path.read_text())
    defaults = doc.get("defaults", {})
    specs = []
    for entry in doc["topics"]:
        config = {**defaults.get("config", {}), **entry.get("config", {})}
        specs.append(
            TopicSpec(
                name=entry["name"],
                partitions=int(entry.get("partitions", defaults.get("partitions", 1))),
                replication_factor=int(
                    entry.get("replication_factor", defaults.get("replication_factor", 1))
                ),
                config={k: str(v) for k, v in config.items()},
                description=entry.get("description", ""),
            )
        )
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate topic names in {path}")
    return specs


def fit_to_cluster(spec: TopicSpec, brokers: int) -> TopicSpec:
    """The spec with its replication (and ``min.insync.replicas``) capped to the cluster's size."""
    rf = max(1, min(spec.replication_factor, brokers))
    config = dict(spec.config)
    if "min.insync.replicas" in config:
        config["min.insync.replicas"] = str(min(int(config["min.insync.replicas"]), rf))
    return replace(spec, replication_factor=rf, config=config)


def apply_topics(
    kafka: KafkaSettings | str, specs: list[TopicSpec] | None = None, timeout: float = 30.0
) -> dict[str, str]:
    """Create missing topics, grow partitions, and set declared configs on the cluster ``kafka``
    (its settings, or the bootstrap servers of a plaintext cluster).

    Returns what happened per topic ("created", "updated", "unchanged").  Partitions are
    never shrunk (Kafka cannot), and configs not declared are left alone.
    """
    if isinstance(kafka, str):
        kafka = KafkaSettings(bootstrap_servers=kafka)
    specs = specs if specs is not None else load_topic_specs()
    admin = AdminClient(admin_config(kafka))
    metadata = admin.list_topics(timeout=timeout)
    specs = [fit_to_cluster(s, len(metadata.brokers)) for s in specs]
    existing = metadata.topics
    outcome: dict[str, str] = {}

    missing = [s for s in specs if s.name not in existing]
    if missing:
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication_factor, config=s.config) for s in missing],
            operation_timeout=timeout,
        )
        for name, fut in futures.items():
            fut.result()
            outcome[name] = "created"

    present = [s for s in specs if s.name in existing]
    grow = [s for s in present if len(existing[s.name].partitions) < s.partitions]
    if grow:
        for name, fut in admin.create_partitions([NewPartitions(s.name, s.partitions) for s in grow]).items():
            fut.result()
            outcome[name] = "updated"

    if present:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, s.name) for s in present]
        described = {r.name: fut.result() for r, fut in admin.describe_configs(resources).items()}
        to_alter = []
        for spec in present:
            current = described[spec.name]
            changes = [
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in spec.config.items()
                if k not in current or current[k].value != v
            ]
            if changes:
                to_alter.append(
                    ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=changes)
                )
        if to_alter:
            for res, fut in admin.incremental_alter_configs(to_alter).items():
                fut.result()
                outcome[res.name] = "updated"
        for spec in present:
            outcome.setdefault(spec.name, "unchanged")

    _wait_for_leaders(admin, kafka, [s.name for s in specs], timeout)
    changed = {k: v for k, v in outcome.items() if v != "unchanged"}
    if changed:
        log.info("topics applied", **changed)
    return outcome


def _wait_for_leaders(admin: AdminClient, kafka: KafkaSettings, names: list[str], timeout: float) -> None:
    """Return once every broker knows every partition of `names` and its leader.

    A new topic reaches a cluster's brokers one by one, and a client's next request may go to
    any of them: one broker's view is not enough (a describe on another failed with "unknown
    topic").  A client cannot pick the broker that answers, so new clients ask until each
    broker has answered (``orig_broker_id``) with every topic led.
    """
    deadline = time.monotonic() + timeout
    brokers = admin.list_topics(timeout=timeout).brokers
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers.values())
    ready: set[int] = set()
    while True:
        client = AdminClient(admin_config(kafka.model_copy(update={"bootstrap_servers": bootstrap})))
        metadata = client.list_topics(timeout=max(1.0, deadline - time.monotonic()))
        topics = metadata.topics
        pending = [
            n for n in names if n not in topics or any(p.leader < 0 for p in topics[n].partitions.values())
        ]
        if not pending:
            ready.add(metadata.orig_broker_id)
        if ready >= set(brokers):
            return
        if time.monotonic() > deadline:
            unseen = sorted(set(brokers) - ready)
            raise TimeoutError(f"topics not led on brokers {unseen} after {timeout:.0f}s: {pending or names}")
        if pending:
            time.sleep(0.1)
