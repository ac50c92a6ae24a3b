"""`dbt build` (models and their tests) on the project in ``dbt/``, in-process via dbtRunner.

The target follows the configured warehouse (``duckdb`` locally, ``snowflake`` in production)
unless one is named; the profile reads the same ``LAKEHOUSE_*`` variables as the settings, so
the DuckDB file dbt builds in is the one the backfill loaded. Artifacts and logs go under the
state folder, not into the project.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.config import Settings
from lakehouse.log import get_logger

log = get_logger(__name__)


class DbtProjectMissing(FileNotFoundError):
    """There is no dbt project to build yet."""


class DbtBuildFailed(RuntimeError):
    """dbt ran, and a model or a test failed (or dbt itself could not start)."""

    def __init__(self, message: str, result: DbtBuildResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def is_final(exc: BaseException) -> bool:
    """A missing project or a failing model/test: a retry would fail the same way (dbt crashing,
    e.g. the warehouse unreachable, is worth one)."""
    if isinstance(exc, DbtProjectMissing):
        return True
    return isinstance(exc, DbtBuildFailed) and exc.result is not None and bool(exc.result.failures)


@dataclass
class DbtBuildResult:
    target: str
    statuses: dict[str, int] = field(default_factory=dict)  # pass/success/error/fail/skipped/warn -> nodes
    failures: list[str] = field(default_factory=list)  # "unique_id: message"
    success: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_dir(settings: Settings) -> Path:
    return settings.project_root / "dbt"


def dbt_build(
    settings: Settings,
    *,
    target: str | None = None,
    select: Sequence[str] = (),
    project: Path | None = None,
) -> DbtBuildResult:
    """Run ``dbt build``; raise ``DbtBuildFailed`` naming what failed, or return the counts."""
    project = project or project_dir(settings)
    if not (project / "dbt_project.yml").is_file():
        raise DbtProjectMissing(
            f"no dbt project at {project}/dbt_project.yml: the dbt models are not there yet, so there is "
            "nothing to build (the warehouse's raw tables are loaded; run dbt_build again once they exist)"
        )
    target = target or settings.warehouse.kind
    # The trader's rules come from the settings, as for the live aggregates (lakehouse.trading).
    args = ["--vars", json.dumps({"arbitrage_suspect_edge": settings.trading.suspect_edge})]
    for selector in select:
        args += ["--select", selector]
    log.info("dbt build", dbt_target=target, select=list(select))
    outcome = _invoke("build", settings, target, project, args)
    result = DbtBuildResult(target)
    nodes = getattr(outcome.result, "results", None) or []
    result.statuses = dict(Counter(str(getattr(n.status, "value", n.status)) for n in nodes))
    result.failures = [
        f"{n.node.unique_id}: {(n.message or '').strip()}"
        for n in nodes
        if str(getattr(n.status, "value", n.status)) in ("error", "fail")
    ]
    result.success = bool(outcome.success)
    log.info("dbt build finished", success=result.success, statuses=result.statuses)
    if not result.success:
        why = "; ".join(result.failures[:5]) or repr(outcome.exception)
        raise DbtBuildFailed(f"dbt build on target {target} failed: {why}", result)
    return result


def compile_analyses(settings: Settings, *, target: str | None = None) -> dict[str, str]:
    """The SQL of every analysis in ``dbt/analyses/``, rendered by ``dbt compile`` for the target
    (refs resolved to the warehouse's relations): what an analyst runs in the warehouse or a
    notebook, with one definition of each query (the analysis file)."""
    project = project_dir(settings)
    target = target or settings.warehouse.kind
    outcome = _invoke("compile", settings, target, project, ["--quiet", "--select", "resource_type:analysis"])
    if not outcome.success:
        raise DbtBuildFailed(f"dbt compile of the analyses on target {target} failed: {outcome.exception!r}")
    nodes = getattr(outcome.result, "results", None) or []
    return {n.node.name: n.node.compiled_code for n in nodes if n.node.resource_type == "analysis"}


def _invoke(command: str, settings: Settings, target: str, project: Path, args: list[str]) -> Any:
    """``dbt <command>`` in this process on the project, artifacts and logs under the state folder."""
    from dbt.cli.main import dbtRunner

    work = settings.state_dir / "dbt"
    profiles = project if (project / "profiles.yml").is_file() else Path.home() / ".dbt"
    base = [
        command,
        "--project-dir", str(project),
        "--profiles-dir", str(profiles),
        "--target", target,
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
    ]  # fmt: skip
    with _environment(_profile_env(settings, target)):
        try:
            return dbtRunner().invoke([*base, *args])
        finally:
            _release_connections()


def _profile_env(settings: Settings, target: str) -> dict[str, str]:
    """The variables dbt/profiles.yml reads, from the settings this process runs with."""
    wh = settings.warehouse
    env = {
        "LAKEHOUSE_DBT_TARGET": target,
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(settings.duckdb_path),
        "LAKEHOUSE_WAREHOUSE__RAW_SCHEMA": wh.raw_schema,
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_DATABASE": wh.snowflake_database,
        # No usage telemetry unless asked for: there may be no internet, and nothing should wait on it.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": os.environ.get("DBT_SEND_ANONYMOUS_USAGE_STATS", "False"),
    }
    # Snowflake's login, which may come from an Airflow connection rather than the environment.
    snowflake = {
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_HOST": wh.snowflake_host,
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PORT": wh.snowflake_port and str(wh.snowflake_port),
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_ACCOUNT": wh.snowflake_account,
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_USER": wh.snowflake_user,
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_ROLE": wh.snowflake_role,
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_WAREHOUSE": wh.snowflake_warehouse,
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PRIVATE_KEY_PATH": wh.snowflake_private_key_path
        and str(wh.snowflake_private_key_path),
        "LAKEHOUSE_SNOWFLAKE_PASSWORD": settings.snowflake_password
        and settings.snowflake_password.get_secret_value(),
        "LAKEHOUSE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": settings.snowflake_private_key_passphrase
        and settings.snowflake_private_key_passphrase.get_secret_value(),
    }
    return env | {key: value for key, value in snowflake.items() if value}


def _release_connections() -> None:
    """Close what dbt keeps open after a run in this process.

    dbt-duckdb holds its DuckDB database in a class attribute for the life of the process, which
    locks the file against everything else here (the loader, readers, the next task that
    ``dag.test()`` or a long-lived worker runs in the same process).
    """
    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
