"""A Python process of the stack that answers HTTP on one port (moto, the API): start, check, stop."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.stack.process import ManagedProcess, ServiceError, port_open, wait_until
from lakehouse.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class PythonService:
    """Subclasses name the service, its command, its health path and the setting of its port."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 0

    name = "service"
    health_path = "/"
    port_setting = "LAKEHOUSE_<SERVICE>__PORT"

    def argv(self) -> Sequence[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """Variables the process gets on top of this one's environment."""
        return {}

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess(self.name, self.home, marker=" ".join(self.argv()[1:]))

    def running_pid(self) -> int | None:
        return self.process.pid()

    def healthy(self) -> bool:
        if self.running_pid() is None:
            return False
        try:
            return httpx.get(f"{self.endpoint}{self.health_path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 60.0) -> bool:
        if self.running_pid() is not None:
            return False
        if port_open(self.host, self.port):
            raise ServiceError(f"port {self.host}:{self.port} is taken; set {self.port_setting}")
        self.home.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.process.start(list(self.argv()), env=self.env())
        if not wait_until(self.healthy, timeout):
            self.process.stop()
            raise ServiceError(
                f"{self.name} did not become healthy within {timeout:.0f}s; see {self.process.log_file}"
            )
        log.info(f"{self.name} started", endpoint=self.endpoint, seconds=round(time.monotonic() - started, 1))
        return True

    def stop(self) -> bool:
        stopped = self.process.stop(timeout=10)
        if stopped:
            wait_until(lambda: not port_open(self.host, self.port), 10)
        return stopped
