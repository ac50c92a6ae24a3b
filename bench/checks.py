"""The warehouse gates and the Lambda check, timed: Great Expectations suites and the reconciliation.

    .venv/bin/python -m bench.checks [--games 4] [--seconds 600]

1. The history suites over every football-data season file in the shared data folder, as the
   backfill's ``check_quality`` task runs them before the warehouse load.
2. A lake in a temporary folder: silver holds every Odds API capture's valid quotes and a market
   simulator's run (``--games`` per sport, ``--seconds`` of simulated market); gold holds what the
   shared engine makes of them. The ``data_quality`` DAG's suites over every silver and gold table
   (``check_lake``), then the ``lambda_reconciliation`` DAG's comparison (``reconcile``).

Prints the rows and wall time of each step. Health samples are recorded in memory, not sent.
The Great Expectations import (once per process, about 8 s here) is reported on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from batch.football_data import SeasonFile, parse_season
from batch.reconcile import recompute, reconcile
from bench.report import bench_command
from iceberg import ensure_tables
from iceberg.tables import GOLD_TABLES, SILVER_FEEDS
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, KafkaSettings, Settings
from lakehouse.health import RecordingHealth
from lakehouse.log import configure_logging
from lakehouse.market import EngineSettings
from lakehouse.schemas import SchemaValidationError, validate
from producers.replay import odds_api_capture
from producers.simulator import Simulator


def _arrow(table: Any, rows: Sequence[Mapping[str, Any]], **lineage: Any) -> pa.Table:
    """Records (timestamps as ISO text) in the created table's own Arrow schema."""
    schema = table.schema().as_arrow()

    def cell(name: str, value: Any) -> Any:
        if pa.types.is_timestamp(schema.field(name).type) and isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value

    return pa.Table.from_pylist(
        [{n: cell(n, r.get(n, lineage.get(n))) for n in schema.names} for r in rows], schema=schema
    )


def _quotes(shared: Path, games: int, seconds: int) -> list[dict[str, Any]]:
    quotes = []
    for path in sorted((shared / "odds-api").rglob("*.json")):
        for event in odds_api_capture(path).events:
            with contextlib.suppress(SchemaValidationError):  # the stream dead-letters these
                quotes.append(validate("odds", event))
    simulator = Simulator(seed=5, games_per_sport=games, game_speed=30.0, first_kickoff_s=60.0)
    quotes += [r for feed, r in simulator.run(seconds) if feed == "odds"]
    return quotes


def _timed(label: str, rows: int, work: Any) -> Any:
    started = time.perf_counter()
    result = work()
    print(f"  {label:58} {time.perf_counter() - started:7.2f} s  {rows:>10,} rows")
    return result


@bench_command("checks")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=4, help="simulated games per sport")
    parser.add_argument("--seconds", type=int, default=600, help="simulated seconds of market")
    args = parser.parse_args()
    configure_logging("WARNING")
    warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

    started = time.perf_counter()
    import great_expectations  # noqa: F401

    from batch import quality

    print(f"Great Expectations import: {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            state_dir=Path(tmp),
            catalog=CatalogSettings(kind="local"),
            kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
        )
        shared = settings.shared_data_dir
        files = sorted((shared / "football-data").glob("*_*.csv"))
        parsed = [parse_season(p.read_bytes(), SeasonFile.from_name(p.name)) for p in files]
        matches = pa.concat_tables([p.matches for p in parsed]).to_pandas()
        odds = pa.concat_tables([p.odds for p in parsed]).to_pandas()
        print(f"history: {len(files)} season files")
        _timed(
            "history suites (football_data_matches, football_data_odds)",
            len(matches) + len(odds),
            lambda: quality.enforce(
                quality.check(
                    settings,
                    {"football_data_matches": matches, "football_data_odds": odds},
                    stage="bench",
                    health=RecordingHealth("quality"),
                )
            ),
        )

        catalog = load_catalog(settings)
        ensure_tables(catalog)
        quotes = _quotes(shared, args.games, args.seconds)
        silver = catalog.load_table(SILVER_FEEDS["odds"].identifier)
        silver.append(
            _arrow(
                silver,
                quotes,
                kafka_topic="odds.quotes",
                kafka_partition=0,
                kafka_offset=0,
                processed_at=datetime.now(UTC),
            )
        )
        gold = recompute(quotes, EngineSettings.of(settings))
        written = 0
        for name, td in GOLD_TABLES.items():
            rows = [r for (aggregate, _), r in gold.items() if aggregate == name]
            if rows:
                table = catalog.load_table(td.identifier)
                table.append(_arrow(table, rows))
                written += len(rows)
        print(f"lake: {len(quotes):,} silver quotes, {len({q['game_id'] for q in quotes})} games, "
              f"{written:,} gold rows")  # fmt: skip
        results = _timed(
            "silver and gold suites (check_lake, every day)",
            len(quotes) + written,
            lambda: quality.check_lake(settings, catalog, days=36500, health=RecordingHealth("quality")),
        )
        for r in results:
            print(f"    {r.table:32} {r.rows:>9,} rows {r.evaluated:>3} expectations {r.seconds:6.2f} s")
        checked = _timed(
            "reconciliation (recompute from silver, compare with gold)",
            len(quotes),
            lambda: reconcile(settings, catalog, days=36500, health=RecordingHealth("reconciliation")),
        )
        compared = ", ".join(f"{v:,} {k}" for k, v in checked.compared.items())
        print(f"    compared {compared}; mismatches {len(checked.mismatches)}")


if __name__ == "__main__":
    main()
