"""The query API (`lakehouse api serve`) as a stack service: a background process with a PID file."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from infra.stack.python_service import PythonService


@dataclass(frozen=True)
class ApiServer(PythonService):
    """Reads its settings (keys, Druid, warehouse) from the environment, as the command does;
    ``Stack.up`` checks that keys are configured before starting it."""

    port: int = 8000

    name = "api"
    health_path = "/healthz"
    port_setting = "LAKEHOUSE_API__PORT"

    def argv(self) -> Sequence[str]:
        return [
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
