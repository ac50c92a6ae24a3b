"""A single-node Apache Kafka broker in KRaft mode, run from the official jars."""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

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
    """Combined broker+controller on loopback; data, logs and PID file under `home`."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

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
        props = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.voters": f"{NODE_ID}@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "3",
            "auto.create.topics.enable": "false",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
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
        cluster_id = new_cluster_id()
        result = subprocess.run(
            [
                *self._jvm_args(),
                STORAGE_TOOL,
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(config),
                "--ignore-formatted",
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
        admin = AdminClient(admin_config(KafkaSettings(bootstrap_servers=self.bootstrap)))
        try:
            meta = admin.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return NODE_ID in meta.brokers

    def start(self, timeout: float = 90.0) -> bool:
        """Start unless already running; True if a process was started."""
        if self.running_pid() is not None:
            if not self.healthy() and not wait_until(self.healthy, timeout):
                raise ServiceError(f"kafka is running but unhealthy; see {self.home / 'logs'}")
            return False
        for port in (self.port, self.controller_port):
            if port_open(self.host, port):
                raise ServiceError(
                    f"port {self.host}:{port} is taken by another program; set LAKEHOUSE_KAFKA__PORT"
                )
        config = self._write_config()
        self._format_storage(config)
        started = time.monotonic()
        self.process.start([*self._jvm_args(), MAIN_CLASS, str(config)], cwd=self.home)
        if not wait_until(self.healthy, timeout, interval=0.5):
            tail = (
                self.process.log_file.read_text(errors="replace")[-3000:]
                if self.process.log_file.exists()
                else ""
            )
            self.process.stop()
            raise ServiceError(f"kafka did not become healthy within {timeout:.0f}s:\n{tail}")
        log.info("kafka started", bootstrap=self.bootstrap, seconds=round(time.monotonic() - started, 1))
        return True

    def stop(self) -> bool:
        stopped = self.process.stop(timeout=30)
        if stopped:
            wait_until(lambda: not port_open(self.host, self.port), 10)
        return stopped

    def kill(self) -> None:
        self.process.kill()
