"""`dbt build` of the marts over the whole football-data history, on the embedded DuckDB target.

    .venv/bin/python -m bench.dbt_build [--runs 3]

Loads the raw tables once (batch/'s parser and DuckDB warehouse target, into a temporary
folder), then times `dbt build` (20 models, ~190 tests) as a subprocess, as Airflow or an analyst
runs it: the first run parses the project from scratch, later runs reuse dbt's partial parse.
Prints each run's wall time and dbt's own run time, and the slowest nodes of the last run.
Target on 2 cores: the dbt build within 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from batch.football_data import SeasonFile, parse_season
from batch.warehouse import DuckDBTarget, reference_tables, to_warehouse_types
from bench.report import bench_command
from lakehouse.config import Settings
from lakehouse.log import configure_logging

TARGET_S = 20.0
PROJECT = Path(__file__).resolve().parents[1] / "dbt"


def load_raw(path: Path) -> int:
    folder = Settings().football_data_dir
    files = sorted(folder.glob("*_*.csv"))
    parsed = [parse_season(path.read_bytes(), SeasonFile.from_name(path.name)) for path in files]
    target = DuckDBTarget(path)
    try:
        for table, part in (
            ("football_data_matches", "matches"),
            ("football_data_odds", "odds"),
            ("football_data_rejects", "rejects"),
        ):
            data = pa.concat_tables([getattr(p, part) for p in parsed])
            target.replace(table, to_warehouse_types(data), None)
        for name, data in reference_tables():
            target.replace(name, data, None)
        return target.count("football_data_odds")
    finally:
        target.close()


def build(warehouse: Path, work: Path) -> tuple[float, dict]:
    command = [
        str(Path(sys.executable).with_name("dbt")), "build", "--target", "duckdb",
        "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    env = {
        **os.environ,
        "LAKEHOUSE_WAREHOUSE__DUCKDB_PATH": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}")
    return seconds, json.loads((work / "target" / "run_results.json").read_text())


@bench_command("dbt_build")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="dbt builds on the same warehouse")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        warehouse = Path(tmp) / "warehouse.duckdb"
        started = time.perf_counter()
        odds = load_raw(warehouse)
        print(f"raw tables loaded: {odds:,} prices in {time.perf_counter() - started:.1f} s")
        results: dict = {}
        for run in range(1, args.runs + 1):
            seconds, results = build(warehouse, Path(tmp))
            nodes = results["results"]
            parse = "full parse" if run == 1 else "partial parse"
            met = "met" if seconds <= TARGET_S else "MISSED"
            print(
                f"run {run} ({parse}): {len(nodes)} nodes, wall {seconds:.1f} s, dbt run "
                f"{results['elapsed_time']:.1f} s (target {TARGET_S:.0f} s: {met})"
            )
        slowest = sorted(results["results"], key=lambda r: r["execution_time"], reverse=True)[:6]
        print("slowest nodes of the last run:")
        for node in slowest:
            print(f"  {node['execution_time']:6.2f} s  {node['unique_id']}")


if __name__ == "__main__":
    main()
