"""moto in server mode: local S3 and Glue endpoints for the Glue/S3 Iceberg catalog."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.stack.process import ManagedProcess, ServiceError, port_open, wait_until
from lakehouse.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class MotoServer:
    """State is in memory: a restart starts from empty buckets and databases."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 5001

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("moto", self.home, marker=f"moto.server -H {self.host} -p {self.port}")

    def running_pid(self) -> int | None:
        return self.process.pid()

    def healthy(self) -> bool:
        if self.running_pid() is None:
            return False
        try:
            return httpx.get(f"{self.endpoint}/moto-api/data.json", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 30.0) -> bool:
        if self.running_pid() is not None:
            return False
        if port_open(self.host, self.port):
            raise ServiceError(f"port {self.host}:{self.port} is taken; set LAKEHOUSE_MOTO__PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.process.start([sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)])
        if not wait_until(self.healthy, timeout):
            self.process.stop()
            raise ServiceError(
                f"moto did not become healthy within {timeout:.0f}s; see {self.process.log_file}"
            )
        log.info("moto started", endpoint=self.endpoint, seconds=round(time.monotonic() - started, 1))
        return True

    def stop(self) -> bool:
        stopped = self.process.stop(timeout=10)
        if stopped:
            wait_until(lambda: not port_open(self.host, self.port), 10)
        return stopped
