"""Batch layer: the whole football-data history through every step, against a DuckDB baseline.

    .venv/bin/python -m bench.batch [--runs 3] [--no-dbt] [--source DIR --league all]

Steps, each timed on the full history (47 season files by default; ``--source ../shared/data
--league all`` takes every season file there, the extra leagues' country files included):
CSV -> Iceberg (land in the raw zone, parse and validate, replace the partitions of the three
history tables), Iceberg ->
warehouse (embedded DuckDB), and `dbt build` when `dbt/dbt_project.yml` exists. The baseline is
a plain DuckDB `read_csv` -> Parquet of the same files, no validation: the load step is
reported as a ratio to it. Targets on 2 cores: full pipeline within 60 s, load step within 5x
the baseline. Each run uses a fresh temporary state folder, so `.local/` is never touched; the
figures are medians over the runs. The team registry's load time (target 50 ms, the cost every
worker pays once) is printed first.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from batch.pipeline import discover, land, load_iceberg, load_to_warehouse
from batch.raw_zone import RawZone
from bench.report import bench_command
from lakehouse.config import BatchSettings, CatalogSettings, Settings
from lakehouse.football_data import LEAGUES
from lakehouse.log import configure_logging
from lakehouse.teams import TeamRegistry, get_registry

PIPELINE_TARGET_S = 60.0  # the default 47 files
LOAD_RATIO_TARGET = 5.0
REGISTRY_LOAD_TARGET_S = 0.05


@dataclass
class Step:
    name: str
    seconds: float
    rows: int  # CSV rows for the load and the baseline (comparable), rows copied after that

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def baseline(files: list[Path], out: Path) -> Step:
    """DuckDB's own CSV reader straight to Parquet: what reading these files costs at least."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = 0
    with duckdb.connect() as con:
        for path in files:
            target = out / f"{path.stem}.parquet"
            con.execute(
                f"COPY (SELECT * FROM read_csv('{path}', header = true)) TO '{target}' (FORMAT parquet)"
            )
            counted = con.execute(f"SELECT count(*) FROM '{target}'").fetchone()
            rows += counted[0] if counted else 0
    return Step("baseline: DuckDB read_csv -> Parquet", time.perf_counter() - started, rows)


def run_once(
    with_dbt: bool, source: Path | None, leagues: list[str] | None
) -> tuple[list[Step], Step, dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        settings = Settings(state_dir=Path(tmp), catalog=CatalogSettings(kind="local"))
        if source is not None:
            batch = BatchSettings(football_data_dir=source, leagues=tuple(leagues or LEAGUES))
            settings = settings.model_copy(update={"batch": batch})
        season_files = discover(settings, leagues=leagues)
        # An extra league's country file holds many seasons: the baseline reads it once.
        files = sorted({sf.path or settings.football_data_dir / sf.file_name for sf in season_files})
        base = baseline(files, Path(tmp) / "baseline")

        steps = []
        started = time.perf_counter()
        zone = RawZone.from_settings(settings)
        for sf in season_files:
            land(settings, sf, zone)
        load, counts = load_iceberg(settings, season_files)
        parsed_rows = sum(c.rows for c in counts.values())
        load_s = time.perf_counter() - started
        steps.append(Step("CSV -> Iceberg (land, parse, validate, write)", load_s, parsed_rows))

        started = time.perf_counter()
        warehouse = load_to_warehouse(settings)
        copied = sum(warehouse.loaded[name] for name in ("football_data_matches", "football_data_odds"))
        steps.append(Step("Iceberg -> warehouse (DuckDB raw.*)", time.perf_counter() - started, copied))

        project = settings.project_root / "dbt" / "dbt_project.yml"
        if with_dbt and project.exists():
            from batch.dbt_build import dbt_build

            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # dbt's own log lines are not figures
                result = dbt_build(settings)
            nodes = sum(result.statuses.values())
            steps.append(Step(f"dbt build ({nodes} models and tests)", time.perf_counter() - started, copied))
        rows = {"seasons": len(season_files), "files": len(files), "csv rows": parsed_rows}
        rows |= {"matches": load.matches, "odds": load.odds, "rejects": load.rejects}
        rows["iceberg rows/s"] = round((load.matches + load.odds + load.rejects) / load_s)
        return steps, base, rows


@bench_command("batch")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="full runs; figures are medians")
    parser.add_argument("--no-dbt", action="store_true", help="skip the dbt build step")
    parser.add_argument("--source", type=Path, default=None, help="season files folder (any layout)")
    parser.add_argument(
        "--league",
        action="append",
        default=None,
        help="league codes (repeatable), or 'all'; default: settings'",
    )
    args = parser.parse_args()
    leagues = list(LEAGUES) if args.league == ["all"] else args.league
    configure_logging("WARNING")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        registry = TeamRegistry.load()
        timings.append(time.perf_counter() - started)
    met = "met" if min(timings) <= REGISTRY_LOAD_TARGET_S else "MISSED"
    print(
        f"team registry: {len(registry.teams())} teams, load {min(timings) * 1000:.1f} ms best of 3 "
        f"(target {REGISTRY_LOAD_TARGET_S * 1000:.0f} ms: {met})"
    )
    get_registry()  # loaded once per process, as in any worker; not part of a step
    runs = [run_once(not args.no_dbt, args.source, leagues) for _ in range(args.runs)]
    names = [s.name for s in runs[0][0]]
    steps = [
        Step(name, statistics.median(r[0][i].seconds for r in runs), runs[0][0][i].rows)
        for i, name in enumerate(names)
    ]
    base = Step(runs[0][1].name, statistics.median(r[1].seconds for r in runs), runs[0][1].rows)
    rows = runs[0][2]
    print(f"whole history: {', '.join(f'{v:,} {k}' for k, v in rows.items())} ({args.runs} run(s), medians)")
    for step in steps:
        print(f"  {step.name:52} {step.seconds:7.2f} s {step.per_second:12,.0f} rows/s ({step.rows:,} rows)")
    total = sum(s.seconds for s in steps)
    met = "met" if total <= PIPELINE_TARGET_S else "MISSED"
    print(f"  {'full pipeline':52} {total:7.2f} s  (target {PIPELINE_TARGET_S:.0f} s: {met})")
    print(f"  {base.name:52} {base.seconds:7.2f} s {base.per_second:12,.0f} rows/s ({base.rows:,} rows)")
    ratio = steps[0].seconds / base.seconds
    met = "met" if ratio <= LOAD_RATIO_TARGET else "MISSED"
    print(f"  load step / baseline: {ratio:.2f}x (target <= {LOAD_RATIO_TARGET:.0f}x: {met})")


if __name__ == "__main__":
    main()
