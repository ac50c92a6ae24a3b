"""Airflow as a stack service (`stack up --with airflow`): `airflow standalone` with the
project's DAGs, for the UI and the REST API; `airflow_environment` is the one definition of the
local Airflow's configuration (the demo's `airflow dags test` runs use it too)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.stack.process import port_open, wait_until
from infra.stack.python_service import PythonService
from lakehouse.config import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def airflow_environment(
    settings: Settings, host: str | None = None, port: int | None = None
) -> dict[str, str]:
    """Airflow's settings for this project: its home, SQLite metadata and logs under the state
    folder, the project's DAGs (paused until asked for), the venv's commands on PATH (tasks and
    `standalone` start `airflow` subprocesses), and the API server on ``host:port``."""
    home = settings.state_dir / "airflow"
    host = host or settings.airflow.host
    port = port or settings.airflow.port
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.project_root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Unpaused at creation, the hourly DAGs would start at once and take the DuckDB file.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # SQLite lets one writer in at a time; its default 5 s lock wait is too short when the
        # scheduler, DAG processor and API server share two busy cores.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}?timeout=120",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{host}:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{host}:{port}/execution/",
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(settings.project_root),
    }
    if host in LOOPBACK:  # only this machine can reach it: no login, as a local tool
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    return env


@dataclass(frozen=True)
class AirflowServer(PythonService):
    """`airflow standalone`: API server and UI, scheduler, DAG processor and triggerer."""

    settings: Settings | None = None
    port: int = 8090

    name = "airflow"
    health_path = "/api/v2/monitor/health"
    port_setting = "LAKEHOUSE_AIRFLOW__PORT"

    def argv(self) -> Sequence[str]:
        return [sys.executable, "-m", "airflow", "standalone"]

    def env(self) -> dict[str, str]:
        assert self.settings is not None, "AirflowServer needs the settings"
        return airflow_environment(self.settings, self.host, self.port)

    def start(self, timeout: float = 300.0) -> bool:
        """Its first start migrates the metadata database and parses the DAGs: minutes, not seconds."""
        return super().start(timeout)

    def stop(self) -> bool:
        pid = self.running_pid()
        stopped = self.process.stop(timeout=60)
        if pid is not None:  # `standalone` can exit while its scheduler still stops its workers
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            wait_until(lambda: not port_open(self.host, self.port), 10)
        return stopped
