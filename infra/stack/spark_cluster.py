"""A Spark standalone cluster on loopback: one master and workers, from the pyspark distribution.

pyspark's wheel carries Spark itself (``pyspark/jars``, ``bin/spark-class``), so the master and the
workers run the very Spark the jobs link against: ``spark-class ...deploy.master.Master`` and
``...deploy.worker.Worker spark://host:port``.  Jobs point at it with ``LAKEHOUSE_SPARK__MASTER``;
their connector jars are shipped to the executors by ``spark.jars`` (``lakehouse.spark``), and the
executors run Python from the same interpreter as the driver (``PYSPARK_PYTHON``), where the
project is installed.  A real cluster differs only in where the workers run (see the README).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.stack.process import ManagedProcess, ServiceError, port_open, wait_until
from lakehouse.log import get_logger

log = get_logger(__name__)


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class SparkCluster:
    """Master plus ``workers`` workers of ``cores`` cores and ``memory`` each; state under ``home``."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 7077
    webui_port: int = 8080
    worker_ports: tuple[int, ...] = ()  # one per worker; 0 lets the worker pick
    workers: int = 2
    cores: int = 1
    memory: str = "2g"
    _started: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    def _process(self, name: str) -> ManagedProcess:
        marker = "deploy.master.Master" if name == "master" else f"spark-worker-dir-{name}"
        return ManagedProcess(name, self.home, marker=marker)

    def _env(self) -> dict[str, str]:
        return {
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": self.host,
            "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
            "SPARK_NO_DAEMONIZE": "1",
        }

    def _spark_class(self, *args: str) -> list[str]:
        return [str(spark_home() / "bin" / "spark-class"), *args]

    def start(self, timeout: float = 90.0) -> bool:
        """Start what is not running (idempotent); wait until every worker registered.

        Returns whether anything was started."""
        self.home.mkdir(parents=True, exist_ok=True)
        master = self._process("master")
        started = False
        if master.pid() is None:
            started = True
            master.start(
                self._spark_class(
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--webui-port",
                    str(self.webui_port),
                ),
                env=self._env(),
            )
        if not wait_until(lambda: port_open(self.host, self.port), timeout):
            raise ServiceError(f"Spark master did not listen on {self.url}; see {master.log_file}")
        for i in range(self.workers):
            name = f"worker-{i}"
            worker = self._process(name)
            if worker.pid() is not None:
                continue
            work_dir = self.home / f"spark-worker-dir-{name}"
            work_dir.mkdir(parents=True, exist_ok=True)
            port = self.worker_ports[i] if i < len(self.worker_ports) else 0
            started = True
            worker.start(
                self._spark_class(
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    self.host,
                    "--port",
                    str(port),
                    "--webui-port",
                    "0",
                    "--cores",
                    str(self.cores),
                    "--memory",
                    self.memory,
                    "--work-dir",
                    str(work_dir),
                    self.url,
                ),
                env=self._env(),
            )
        if not wait_until(lambda: self.alive_workers() >= self.workers, timeout, interval=0.5):
            raise ServiceError(
                f"{self.alive_workers()} of {self.workers} Spark workers registered with {self.url}"
            )
        log.info("spark cluster up", master=self.url, workers=self.workers, cores=self.cores)
        return started

    def _master_state(self) -> dict[str, Any]:
        """The master's own view of the cluster (its web UI's JSON); empty when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.webui_port}/json/", timeout=2) as answer:
                state: dict[str, Any] = json.loads(answer.read())
                return state
        except OSError:
            return {}

    def alive_workers(self) -> int:
        """Workers the master lists as ALIVE."""
        return sum(1 for w in self._master_state().get("workers", []) if w.get("state") == "ALIVE")

    def applications(self) -> list[dict[str, Any]]:
        """Applications the master ran or runs (name, cores, state...)."""
        state = self._master_state()
        return [*state.get("completedapps", []), *state.get("activeapps", [])]

    def healthy(self) -> bool:
        return self._process("master").pid() is not None and self.alive_workers() >= self.workers

    def stop(self) -> bool:
        """Stop the workers, then the master; whether anything was running."""
        stopped = [self._process(f"worker-{i}").stop(timeout=20) for i in reversed(range(self.workers))]
        return self._process("master").stop(timeout=20) or any(stopped)

    def pids(self) -> dict[str, int | None]:
        names = ["master", *(f"worker-{i}" for i in range(self.workers))]
        return {name: self._process(name).pid() for name in names}
