"""moto in server mode: local S3 and Glue endpoints for the Glue/S3 Iceberg catalog."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from infra.stack.python_service import PythonService


@dataclass(frozen=True)
class MotoServer(PythonService):
    """State is in memory: a restart starts from empty buckets and databases."""

    port: int = 5001

    name = "moto"
    health_path = "/moto-api/data.json"
    port_setting = "LAKEHOUSE_MOTO__PORT"

    def argv(self) -> Sequence[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def start(self, timeout: float = 30.0) -> bool:
        return super().start(timeout)
