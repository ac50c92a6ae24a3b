"""The query API (`lakehouse api serve`) as a stack service: a background process with a PID file."""

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
class ApiServer:
    """Reads its settings (keys, Druid, warehouse) from the environment, as the command does;
    ``Stack.up`` checks that keys are configured before starting it."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("api", self.home, marker=f"api serve --host {self.host} --port {self.port}")

    def running_pid(self) -> int | None:
        return self.process.pid()

    def healthy(self) -> bool:
        if self.running_pid() is None:
            return False
        try:
            return httpx.get(f"{self.endpoint}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 60.0) -> bool:
        if self.running_pid() is not None:
            return False
        if port_open(self.host, self.port):
            raise ServiceError(f"port {self.host}:{self.port} is taken; set LAKEHOUSE_API__PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        argv = [
            sys.executable,
            "-m",
            "cli.main",
            "api",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        self.process.start(argv)
        if not wait_until(self.healthy, timeout):
            self.process.stop()
            raise ServiceError(f"the API did not answer within {timeout:.0f}s; see {self.process.log_file}")
        log.info("api started", endpoint=self.endpoint, seconds=round(time.monotonic() - started, 1))
        return True

    def stop(self) -> bool:
        stopped = self.process.stop(timeout=10)
        if stopped:
            wait_until(lambda: not port_open(self.host, self.port), 10)
        return stopped
