"""dbt builds for the mart tests: the real football-data history loaded into a warehouse by
batch/'s own parser and warehouse targets, then `dbt build` on the embedded DuckDB target and on
the Snowflake emulator (fakesnow in server mode, via the dbt-snowflake adapter).

dbt runs as a subprocess with a timeout: a failing emulator request can leave the Snowflake
connector retrying forever, and a separate process is also the only clean way to release
dbt-duckdb's process-wide database handle.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from batch.football_data import ParsedSeason, SeasonFile, parse_season
from batch.warehouse import (
    DuckDBTarget,
    SnowflakeTarget,
    Target,
    call_with_timeout,
    reference_tables,
    to_warehouse_types,
)
from lakehouse.config import Settings, WarehouseSettings

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt"
DBT = Path(sys.executable).with_name("dbt")
EMULATOR_DATABASE = "DBT_EMULATOR"  # not BETTING: tests/batch loads the emulator's BETTING.RAW
DUCKDB_BUILD_TIMEOUT_S = 600
EMULATOR_BUILD_TIMEOUT_S = 900
EMULATOR_QUERY_TIMEOUT_S = 60

Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass
class DbtRun:
    """One dbt invocation: its exit code, output and the statuses of run_results.json."""

    returncode: int
    output: str
    seconds: float
    results: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def statuses(self) -> dict[str, str]:
        return {r["unique_id"]: r["status"] for r in self.results}

    def failed(self) -> dict[str, str]:
        return {
            r["unique_id"]: (r.get("message") or "")
            for r in self.results
            if r["status"] in ("error", "fail", "runtime error")
        }


@dataclass
class MartBuild:
    """A warehouse built by dbt, and a way to query its marts."""

    target: str
    run: DbtRun
    query: Query
    warehouse: Path | None = None  # the DuckDB file (embedded target only)


def run_dbt(args: list[str], work: Path, env: dict[str, str], timeout_s: float) -> DbtRun:
    """`dbt <args>` on the project, artifacts in `work`; killed (whole group) on timeout."""
    command = [
        str(DBT), *args,
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
    ]  # fmt: skip
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", **env}
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"dbt {' '.join(args)} did not finish within {timeout_s} s:\n{output[-3000:]}")
    seconds = time.perf_counter() - started
    run = DbtRun(process.returncode, output, seconds)
    results = work / "target" / "run_results.json"
    if results.is_file():
        run.results = json.loads(results.read_text())["results"]
    manifest = work / "target" / "manifest.json"
    if manifest.is_file():
        run.manifest = json.loads(manifest.read_text())
    return run


@pytest.fixture(scope="session")
def parsed_history(shared_data_dir: Path) -> list[ParsedSeason]:
    """Every season file (25 EPL + 22 La Liga) through batch/'s parser."""
    folder = shared_data_dir / "football-data"
    files = sorted(folder.glob("*_*.csv"))
    return [parse_season(path.read_bytes(), SeasonFile.from_name(path.name)) for path in files]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    path = Settings().shared_data_dir
    if not (path / "football-data").is_dir():
        pytest.fail(f"real data folder {path}/football-data is missing (expected ../shared/data)")
    return path


def load_raw(target: Target, parsed: list[ParsedSeason]) -> None:
    """The warehouse contract's raw tables, as batch/'s warehouse load writes them."""
    for table, part in (
        ("football_data_matches", "matches"),
        ("football_data_odds", "odds"),
        ("football_data_rejects", "rejects"),
    ):
        target.replace(table, to_warehouse_types(pa.concat_tables([getattr(p, part) for p in parsed])), None)
    for name, data in reference_tables():
        target.replace(name, data, None)


@pytest.fixture(scope="session")
def duckdb_marts(tmp_path_factory: pytest.TempPathFactory, parsed_history: list[ParsedSeason]) -> MartBuild:
    """`dbt build` of every model and test on the embedded DuckDB target, full history."""
    import duckdb

    work = tmp_path_factory.mktemp("dbt-duckdb")
    path = work / "warehouse.duckdb"
    target = DuckDBTarget(path)
    try:
        load_raw(target, parsed_history)
    finally:
        target.close()
    run = run_dbt(
        ["build", "--target", "duckdb"],
        work,
        {"LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(path)},
        DUCKDB_BUILD_TIMEOUT_S,
    )

    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return MartBuild("duckdb", run, query, path)


@pytest.fixture(scope="session")
def emulator_marts(
    tmp_path_factory: pytest.TempPathFactory, parsed_history: list[ParsedSeason], fakesnow_server: dict
) -> MartBuild:
    """The same build with dbt-snowflake against the Snowflake emulator, full history."""
    import snowflake.connector

    server = fakesnow_server

    def connect() -> Any:
        return call_with_timeout(
            lambda: snowflake.connector.connect(database=EMULATOR_DATABASE, **server),
            EMULATOR_QUERY_TIMEOUT_S,
            "emulator login",
        )

    admin = call_with_timeout(lambda: snowflake.connector.connect(**server), 30, "emulator login")
    admin.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {EMULATOR_DATABASE}")
    admin.close()
    settings = Settings(
        warehouse=WarehouseSettings(
            kind="snowflake",
            snowflake_account=server["account"],
            snowflake_user=server["user"],
            snowflake_database=EMULATOR_DATABASE,
            snowflake_host=server["host"],
            snowflake_port=server["port"],
            snowflake_protocol=server["protocol"],
        ),
        snowflake_password=server["password"],
    )
    target = SnowflakeTarget(settings, timeout_s=EMULATOR_QUERY_TIMEOUT_S * 5)
    try:
        load_raw(target, parsed_history)
    finally:
        target.close()
    work = tmp_path_factory.mktemp("dbt-fakesnow")
    run = run_dbt(
        ["build", "--target", "fakesnow"],
        work,
        {
            "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_HOST": server["host"],
            "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PORT": str(server["port"]),
            "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_DATABASE": EMULATOR_DATABASE,
        },
        EMULATOR_BUILD_TIMEOUT_S,
    )

    def query(sql: str) -> list[tuple[Any, ...]]:
        conn = connect()
        try:
            cursor = conn.cursor()
            call_with_timeout(lambda: cursor.execute(sql), EMULATOR_QUERY_TIMEOUT_S, sql[:60])
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    return MartBuild("fakesnow", run, query)


@pytest.fixture(scope="session")
def dbt_runner() -> Callable[[list[str], Path, dict[str, str], float], DbtRun]:
    """`run_dbt` for tests that invoke dbt themselves."""
    return run_dbt


@pytest.fixture(params=["duckdb", "fakesnow"])
def marts(request: pytest.FixtureRequest) -> MartBuild:
    """Each value test runs on both builds: same models, two engines, one expected answer."""
    return request.getfixturevalue("duckdb_marts" if request.param == "duckdb" else "emulator_marts")
