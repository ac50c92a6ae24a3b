"""The Done-when check of the hybrid warehouse: after a streaming run, ``lake_to_warehouse``'s load
(every table through its expectation suite) and ``dbt build`` give live marts holding exactly the
silver quotes, on DuckDB and on the Snowflake emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakehouse.config import Settings

LIVE_SELECTION = ["+mart_line_movement", "+fct_odds"]
EMULATOR_DATABASE = "STREAMED"


def assert_live_marts_hold_silver(
    settings: Settings, catalog: Any, silver: pa.Table, work: Path, emulator: dict | None = None
) -> None:
    """Counts and value checksums of the staged quotes and of mart_line_movement equal silver's,
    computed here from silver's rows (first and last price of each quoted line)."""
    rows = silver.to_pylist()
    lines: dict[tuple[Any, ...], list[tuple[Any, str, float]]] = {}
    for r in rows:
        key = (r["game_id"], r["bookmaker"], r["market"], r["selection"], r["point"])
        lines.setdefault(key, []).append((r["event_time"], r["event_id"], r["price"]))
    expected_marts = (
        len(lines),
        len(rows),
        sum(min(q)[2] for q in lines.values()),
        sum(max(q)[2] for q in lines.values()),
    )
    targets: list[Callable[[], Callable[[str], tuple[Any, ...]]]] = [lambda: _duckdb(settings, catalog, work)]
    if emulator is not None:
        targets.append(lambda: _emulator(settings, catalog, work, emulator))
    for build in targets:
        query = build()
        staged = query(
            "SELECT count(*), count(DISTINCT quote_id), sum(price) FROM staging.stg_live__odds_quotes"
        )
        marts = query(
            "SELECT count(*), sum(quotes), sum(opening_price), sum(latest_price) "
            "FROM marts.mart_line_movement"
        )
        assert staged[:2] == (len(rows), len(rows))
        assert staged[2] == pytest.approx(sum(r["price"] for r in rows), abs=1e-6)
        assert marts[:2] == expected_marts[:2]
        assert marts[2:] == pytest.approx(expected_marts[2:], abs=1e-6)


def _dbt(target: str, work: Path, env: dict[str, str], timeout_s: float) -> None:
    from tests.dbt.conftest import run_dbt

    build = run_dbt(
        ["build", "--target", target, "--indirect-selection", "cautious", "--select", *LIVE_SELECTION],
        work / f"dbt-{target}",
        env,
        timeout_s,
    )
    assert build.returncode == 0 and not build.failed(), build.output[-3000:]


def _duckdb(settings: Settings, catalog: Any, work: Path) -> Callable[[str], tuple[Any, ...]]:
    import duckdb

    from batch.live_load import load_live
    from batch.quality import gate
    from tests.dbt.conftest import DUCKDB_BUILD_TIMEOUT_S

    load_live(settings, catalog, check=gate(settings, "test"))
    _dbt(
        "duckdb",
        work,
        {"LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(settings.duckdb_path)},
        DUCKDB_BUILD_TIMEOUT_S,
    )

    def query(sql: str) -> tuple[Any, ...]:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return tuple(con.execute(sql).fetchone() or ())

    return query


def _emulator(settings: Settings, catalog: Any, work: Path, server: dict) -> Callable[[str], tuple[Any, ...]]:
    import snowflake.connector

    from batch.live_load import load_live
    from batch.quality import gate
    from batch.warehouse import SnowflakeTarget, call_with_timeout
    from tests.batch.conftest import on_snowflake
    from tests.dbt.conftest import EMULATOR_BUILD_TIMEOUT_S, EMULATOR_QUERY_TIMEOUT_S

    admin = call_with_timeout(lambda: snowflake.connector.connect(**server), 30, "emulator login")
    admin.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {EMULATOR_DATABASE}")
    admin.close()
    on_emulator = on_snowflake(settings, server, database=EMULATOR_DATABASE)
    target = SnowflakeTarget(on_emulator, timeout_s=EMULATOR_QUERY_TIMEOUT_S * 5)
    try:
        load_live(on_emulator, catalog, target=target, check=gate(settings, "test"))
    finally:
        target.close()
    env = {
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_HOST": server["host"],
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PORT": str(server["port"]),
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_DATABASE": EMULATOR_DATABASE,
    }
    _dbt("fakesnow", work, env, EMULATOR_BUILD_TIMEOUT_S)

    def query(sql: str) -> tuple[Any, ...]:
        conn = snowflake.connector.connect(database=EMULATOR_DATABASE, **server)
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            return tuple(cursor.fetchone() or ())
        finally:
            conn.close()

    return query
