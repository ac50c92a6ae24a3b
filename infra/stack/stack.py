"""`lakehouse stack up|down|status`: the local services as one unit."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from infra.stack.airflow import AirflowServer
from infra.stack.api import ApiServer
from infra.stack.druid import DruidCluster
from infra.stack.kafka import KafkaBroker, KafkaCluster
from infra.stack.moto import MotoServer
from infra.stack.process import ServiceError
from infra.stack.spark_cluster import SparkCluster
from infra.stack.topics import apply_topics
from lakehouse.config import Settings
from lakehouse.jvm import ensure_jars
from lakehouse.kafka import JAAS_CONFIG_ENV, jaas_config
from lakehouse.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    healthy: bool
    endpoint: str
    crashed: bool = False

    @property
    def state(self) -> str:
        if self.crashed:
            return "unhealthy (process gone; `stack up` restarts it)"
        if self.pid is None:
            return "stopped"
        return "healthy" if self.healthy else "unhealthy"


@dataclass(frozen=True)
class StackStatus:
    services: tuple[ServiceStatus, ...]

    @property
    def ok(self) -> bool:
        """Nothing crashed or unhealthy, and at least one service is up."""
        return any(s.pid is not None for s in self.services) and all(
            s.healthy or (s.pid is None and not s.crashed) for s in self.services
        )

    def by_name(self, name: str) -> ServiceStatus:
        return next(s for s in self.services if s.name == name)


class Stack:
    """Kafka always; moto (S3 + Glue) and Druid on request.  State under `settings.stack_dir`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        kafka = settings.kafka
        self.kafka: KafkaBroker | KafkaCluster = (
            KafkaCluster(
                home=settings.stack_dir / "kafka-cluster",
                host=kafka.host,
                port=kafka.port,
                controller_port=kafka.controller_port,
                heap=kafka.heap,
                size=kafka.brokers,
            )
            if kafka.brokers > 1
            else KafkaBroker(
                home=settings.stack_dir / "kafka",
                host=kafka.host,
                port=kafka.port,
                controller_port=kafka.controller_port,
                heap=kafka.heap,
            )
        )
        self.moto = MotoServer(
            home=settings.stack_dir / "moto", host=settings.moto.host, port=settings.moto.port
        )
        druid = settings.druid
        self.druid = DruidCluster(
            home=settings.stack_dir / "druid",
            host=druid.host,
            zookeeper_port=druid.zookeeper_port,
            coordinator_port=druid.coordinator_port,
            broker_port=druid.broker_port,
            historical_port=druid.historical_port,
            indexer_port=druid.indexer_port,
            router_port=druid.router_port,
            derby_port=druid.derby_port,
            heap=druid.heap,
            indexer_heap=druid.indexer_heap,
            zookeeper_heap=druid.zookeeper_heap,
            processing_buffer_mib=druid.processing_buffer_mib,
            worker_capacity=druid.worker_capacity,
            jars=settings.jars_dir / "druid",  # resolved by ensure_jars in `up`
        )
        self.api = ApiServer(home=settings.stack_dir / "api", host=settings.api.host, port=settings.api.port)
        self.airflow = AirflowServer(
            home=settings.stack_dir / "airflow",
            host=settings.airflow.host,
            port=settings.airflow.port,
            settings=settings,
        )
        sc = settings.spark_cluster
        self.spark_cluster = SparkCluster(
            home=settings.stack_dir / "spark",
            host=sc.host,
            port=sc.port,
            webui_port=sc.webui_port,
            workers=sc.workers,
            cores=sc.cores,
            memory=sc.memory,
        )

    def up(
        self,
        with_moto: bool = False,
        with_druid: bool = False,
        with_spark_cluster: bool = False,
        with_api: bool = False,
        with_airflow: bool = False,
    ) -> dict[str, str]:
        """Start what is not running, then apply topics; a second call changes nothing."""
        if with_api and not (self.settings.api.keys or self.settings.api.keys_file):
            raise ServiceError("the API needs keys: run `lakehouse api key`, then set LAKEHOUSE_API__KEYS")
        ensure_jars(self.settings)
        started = time.monotonic()
        actions = {"kafka": "started" if self.kafka.start() else "already running"}
        topics = apply_topics(self.kafka.bootstrap)
        changed = sum(1 for v in topics.values() if v != "unchanged")
        actions["topics"] = f"{changed} changed of {len(topics)}"
        if with_moto:
            actions["moto"] = "started" if self.moto.start() else "already running"
        if with_druid:
            actions["druid"] = self._start_druid()
        if with_spark_cluster:
            state = "started" if self.spark_cluster.start() else "already running"
            actions["spark"] = f"{state} at {self.spark_cluster.url}"
        if with_airflow:
            state = "started" if self.airflow.start() else "already running"
            actions["airflow"] = f"{state} at {self.airflow.endpoint} (UI and REST API /api/v2)"
        if with_api:
            state = "started" if self.api.start() else "already running"
            actions["api"] = f"{state} at {self.api.endpoint} (board: {self.api.endpoint}/board/)"
        log.info("stack up", seconds=round(time.monotonic() - started, 1), **actions)
        return actions

    def _start_druid(self) -> str:
        if self.settings.kafka.sasl:  # the supervisors' Kafka login, read from the environment
            os.environ.setdefault(JAAS_CONFIG_ENV, jaas_config(self.settings.kafka))
        if not self.druid.start():
            return "already running"
        rss = sum(s.rss_mib or 0 for s in self.druid.status())
        return f"started in {self.druid.timings['ready']:.0f}s, {rss / 1024:.1f} GiB resident"

    def down(self) -> dict[str, str]:
        actions = {}
        services = (
            ("api", self.api),
            ("airflow", self.airflow),
            ("spark", self.spark_cluster),
            ("druid", self.druid),
            ("moto", self.moto),
            ("kafka", self.kafka),
        )
        for name, service in services:
            actions[name] = "stopped" if service.stop() else "not running"
        return actions

    def _kafka_nodes(self) -> tuple[KafkaBroker, ...]:
        return self.kafka.brokers if isinstance(self.kafka, KafkaCluster) else (self.kafka,)

    def status(self) -> StackStatus:
        return StackStatus(
            (
                *(
                    ServiceStatus(
                        "kafka" if len(nodes) == 1 else f"kafka-{node.node_id}",
                        node.running_pid(),
                        node.healthy(),
                        node.bootstrap,
                        node.process.crashed(),
                    )
                    for nodes in [self._kafka_nodes()]
                    for node in nodes
                ),
                ServiceStatus(
                    "api",
                    self.api.running_pid(),
                    self.api.healthy(),
                    self.api.endpoint,
                    self.api.process.crashed(),
                ),
                ServiceStatus(
                    "airflow",
                    self.airflow.running_pid(),
                    self.airflow.healthy(),
                    self.airflow.endpoint,
                    self.airflow.process.crashed(),
                ),
                ServiceStatus(
                    "moto",
                    self.moto.running_pid(),
                    self.moto.healthy(),
                    self.moto.endpoint,
                    self.moto.process.crashed(),
                ),
                *(
                    ServiceStatus(
                        f"spark-{name}",
                        pid,
                        pid is not None and self.spark_cluster.healthy(),
                        self.spark_cluster.url,
                        False,
                    )
                    for name, pid in self.spark_cluster.pids().items()
                ),
                *(
                    ServiceStatus(f"druid-{s.name}", s.pid, s.healthy, s.endpoint, s.crashed)
                    for s in self.druid.status()
                ),
            )
        )
