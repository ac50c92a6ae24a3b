"""Apache Kafka in KRaft mode, run from the official jars: one combined broker+controller, or a
cluster of them (three by default) with a controller quorum and replicated topics."""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from infra.stack.kafka_security import BROKER_USER, BrokerSecurity
from infra.stack.process import ManagedProcess, ServiceError, port_open, wait_until
from lakehouse.config import KafkaSettings
from lakehouse.jvm import classpath, java_executable
from lakehouse.kafka import admin_config
from lakehouse.log import get_logger

log = get_logger(__name__)

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
NODE_ID = 1

_LOG4J2 = """\
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {logs}/server.log
appender.file.filePattern = {logs}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def new_cluster_id() -> str:
    """A KRaft cluster id (base64url of a random UUID), never starting with '-'.

    Kafka's own `Uuid.randomUuid` skips ids with a leading dash too: a command line would
    read one as an option.
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


@dataclass(frozen=True)
class KafkaBroker:
    """Combined broker+controller on loopback; data, logs and PID file under `home`.

    Alone by default; a node of a `KafkaCluster` when given its id, the quorum's voters, the
    cluster id they were all formatted with, and the replication of the internal topics.
    Plaintext by default; with ``security``, its client listener is SASL_SSL with SCRAM logins.
    """

    home: Path
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    node_id: int = NODE_ID
    voters: str = ""  # "1@host:port,2@host:port,..."; empty: this node alone
    cluster_id: str = ""  # empty: a new id when the storage is formatted
    internal_replication: int = 1
    security: BrokerSecurity | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def client_settings(self, user: str | None = None) -> KafkaSettings:
        """Settings for a client of this broker (as ``user``, by default the broker's own login)."""
        if self.security is None:
            return KafkaSettings(bootstrap_servers=self.bootstrap)
        name, password = (
            (user, self.security.users[user]) if user else (BROKER_USER, self.security.broker_password)
        )
        return KafkaSettings(
            bootstrap_servers=self.bootstrap,
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=name,
            sasl_password=password,  # type: ignore[arg-type]  # pydantic makes it a SecretStr
            ssl_ca_location=self.security.ca_file,
        )

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def process(self) -> ManagedProcess:
        # The properties path is unique per broker home, so it tells our JVM from others.
        return ManagedProcess("kafka", self.home, marker=str(self.home / "server.properties"))

    def _write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        rf = str(self.internal_replication)
        min_isr = str(min(2, self.internal_replication))
        client = "SASL_SSL" if self.security else "PLAINTEXT"
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters or f"{self.node_id}@{self.host}:{self.controller_port}",
            "listeners": f"{client}://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"{client}://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": client,
            "listener.security.protocol.map": f"{client}:{client},CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "3",
            "auto.create.topics.enable": "false",
            # Internal topics: one replica alone, three (two in sync) in a cluster.
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
        if self.security:
            self.security.ensure_tls()
            props |= self.security.broker_properties()
        path = self.home / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.home / "log4j2.properties").write_text(_LOG4J2.format(logs=self.home / "logs"))
        return path

    def _jvm_args(self) -> list[str]:
        return [
            java_executable(),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            classpath("kafka"),
        ]

    def _format_storage(self, config: Path) -> None:
        """Format the KRaft log dir once; a formatted dir keeps its cluster id and records."""
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = self.cluster_id or new_cluster_id()
        result = subprocess.run(
            [
                *self._jvm_args(),
                STORAGE_TOOL,
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(config),
                "--ignore-formatted",
                *(self.security.format_arguments() if self.security else ()),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"kafka storage format failed: {result.stdout[-2000:]} {result.stderr[-2000:]}"
            )
        log.info("formatted kafka storage", cluster_id=cluster_id, data_dir=str(self.data_dir))

    def running_pid(self) -> int | None:
        return self.process.pid()

    def healthy(self, timeout: float = 3.0) -> bool:
        """Alive, listening, and answering a metadata request as node 1."""
        if self.running_pid() is None or not port_open(self.host, self.port):
            return False
        admin = AdminClient(admin_config(self.client_settings()))
        try:
            meta = admin.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return self.node_id in meta.brokers

    def launch(self) -> bool:
        """Start the JVM unless it runs; True if a process was started (not yet healthy)."""
        if self.running_pid() is not None:
            return False
        for port in (self.port, self.controller_port):
            if port_open(self.host, port):
                raise ServiceError(
                    f"port {self.host}:{port} is taken by another program; set LAKEHOUSE_KAFKA__PORT"
                )
        config = self._write_config()
        self._format_storage(config)
        self.process.start([*self._jvm_args(), MAIN_CLASS, str(config)], cwd=self.home)
        return True

    def start(self, timeout: float = 90.0) -> bool:
        """Start unless already running; True if a process was started."""
        if self.running_pid() is not None:
            if not self.healthy() and not wait_until(self.healthy, timeout):
                raise ServiceError(f"kafka is running but unhealthy; see {self.home / 'logs'}")
            return False
        started = time.monotonic()
        self.launch()
        # Done when healthy, or as soon as the JVM is gone (a bad config ends it within seconds).
        wait_until(lambda: self.running_pid() is None or self.healthy(), timeout, interval=0.5)
        if not self.healthy():
            self.process.stop()
            raise ServiceError(f"kafka did not become healthy within {timeout:.0f}s:\n{self._errors()}")
        log.info("kafka started", bootstrap=self.bootstrap, seconds=round(time.monotonic() - started, 1))
        return True

    def _errors(self) -> str:
        """The last lines of the JVM's output and the ERROR lines of its log, to say why it failed."""
        out = (
            self.process.log_file.read_text(errors="replace")[-2000:]
            if self.process.log_file.exists()
            else ""
        )
        server_log = self.home / "logs" / "server.log"
        lines = server_log.read_text(errors="replace").splitlines() if server_log.exists() else []
        return out + "\n".join(line for line in lines if " ERROR " in line)[-3000:]

    def stop(self) -> bool:
        stopped = self.process.stop(timeout=30)
        if stopped:
            wait_until(lambda: not port_open(self.host, self.port), 10)
        return stopped

    def kill(self) -> None:
        self.process.kill()


@dataclass(frozen=True)
class KafkaCluster:
    """``nodes`` combined brokers+controllers on loopback, one quorum, formatted with one cluster id.

    Node ``i`` (0-based) listens on ``port + 2i`` and ``controller_port + 2i``; its files are
    under ``home/node<i+1>``.  Internal topics get three replicas (two in sync); the project's
    topics get the replication ``infra/topics.yaml`` declares (see `apply_topics`).
    """

    home: Path
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    size: int = 3
    brokers: tuple[KafkaBroker, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        id_file = self.home / "cluster_id"
        if not id_file.exists():
            id_file.write_text(new_cluster_id())
        cluster_id = id_file.read_text().strip()
        voters = ",".join(f"{i + 1}@{self.host}:{self.controller_port + 2 * i}" for i in range(self.size))
        nodes = tuple(
            KafkaBroker(
                home=self.home / f"node{i + 1}",
                host=self.host,
                port=self.port + 2 * i,
                controller_port=self.controller_port + 2 * i,
                heap=self.heap,
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
                internal_replication=min(3, self.size),
            )
            for i in range(self.size)
        )
        object.__setattr__(self, "brokers", nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers)

    def running_pid(self) -> int | None:
        return next((pid for b in self.brokers if (pid := b.running_pid()) is not None), None)

    def healthy(self, timeout: float = 3.0) -> bool:
        """Every node runs and the cluster's metadata lists all of them."""
        return all(b.healthy(timeout) for b in self.brokers)

    def start(self, timeout: float = 120.0) -> bool:
        """Launch every node that is not running (the quorum needs a majority up to elect)."""
        started = time.monotonic()
        launched = [b.launch() for b in self.brokers]
        if not wait_until(self.healthy, timeout, interval=0.5):
            self.stop()
            raise ServiceError(f"kafka cluster did not become healthy within {timeout:.0f}s; see {self.home}")
        if any(launched):
            log.info(
                "kafka cluster started",
                bootstrap=self.bootstrap,
                seconds=round(time.monotonic() - started, 1),
            )
        return any(launched)

    def stop(self) -> bool:
        """Stop every node at once (one by one, the last would wait for a quorum that is gone)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(self.brokers)) as pool:
            return any(list(pool.map(lambda b: b.stop(), self.brokers)))
