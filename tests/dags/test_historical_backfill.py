"""historical_backfill end to end with dag.test() and `airflow dags test`: every season provided,
row counts in Iceberg and DuckDB equal to the valid rows of the CSVs, and a second run identical.

The expected counts are computed here from the CSVs with the csv module and the rules written
out below, not by the loader.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakehouse.football_data import classify_columns
from lakehouse.teams import football_data_date, get_registry

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "football-data"
BAD_INPUT = ROOT / "tests" / "batch" / "fixtures" / "bad_input"
TABLES = ("football_data_matches", "football_data_odds", "football_data_rejects")


def conf(**given: Any) -> dict[str, Any]:
    """A run's conf with every param set: `dag.test()` on the session's one DAG object keeps the
    previous run's values for params a conf leaves out (a run without `seasons` got the last
    run's 2023-24), which the scheduler, giving each run its own conf, never does."""
    return {"leagues": [], "seasons": [], "start_date": None, "end_date": None, "source": None,
            "warehouse": None} | given  # fmt: skip


@dataclass
class Expected:
    matches: int = 0
    prices: int = 0
    rejects: int = 0
    unknown_teams: int = 0  # rows refused because a team did not resolve (counted in rejects)

    def rows(self) -> dict[str, int]:
        """Rows per history table, as the DAG's result counts them."""
        return {"football_data_matches": self.matches, "football_data_odds": self.prices,
                "football_data_rejects": self.rejects}  # fmt: skip


def _season_code(path: Path) -> str:
    """``E0_2324.csv`` -> ``2324``; ``2023-24/B1.csv`` or ``2025-26_partial/N1.csv`` -> ``2324``, ``2526``."""
    if "_" in path.stem:
        return path.stem.split("_")[1]
    folder = path.parent.name
    return folder[2:4] + folder[5:7]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def expected_counts(paths: list[Path]) -> Expected:
    """Valid matches, valid prices and rejects by the rules of the raw contract, from plain csv."""
    registry = get_registry()
    out = Expected()
    for path in paths:
        code = _season_code(path)
        start = 2000 + int(code[:2]) if int(code[:2]) < 90 else 1900 + int(code[:2])
        with path.open(encoding="latin-1", newline="") as fh:
            header, *rows = list(csv.reader(fh))
        odds_columns, _ = classify_columns(header)
        names = set(header)
        seen = set()
        for row in rows:
            cells = dict(zip(header, (c.strip() for c in row), strict=False))
            if not any(cells.values()):
                out.rejects += 1  # empty row
                continue
            try:
                day = football_data_date(cells["Date"], season=code)
            except ValueError:
                out.rejects += 1
                continue
            if not date(start, 7, 1) <= day <= date(start + 1, 8, 31):
                out.rejects += 1
                continue
            home, _ = registry.try_resolve(cells["HomeTeam"], source="football_data", sport="soccer")
            away, _ = registry.try_resolve(cells["AwayTeam"], source="football_data", sport="soccer")
            if home is None or away is None or (day, home.team_id, away.team_id) in seen:
                out.rejects += 1
                out.unknown_teams += home is None or away is None
                continue
            seen.add((day, home.team_id, away.team_id))
            out.matches += 1
            for column in odds_columns:
                text = cells.get(column.column, "")
                if not text:
                    continue
                price = _number(text)
                ok = price is not None and price > 1.0
                if ok and column.market == "spreads":
                    # The line: the bookmaker's own <code>AH, else AHh (AHCh for closing), else BbAHh.
                    own = f"{column.code}AH"
                    general = "AHCh" if column.phase == "closing" else "AHh"
                    lines = [cells[n] for n in (own, general, "BbAHh") if n in names and cells.get(n)]
                    ok = bool(lines) and _number(lines[0]) is not None
                out.prices += ok
                out.rejects += not ok
    return out


# Load times differ between runs by design; everything else must not.
_VALUES = {
    "football_data_matches": "* EXCLUDE (loaded_at) REPLACE (timezone('UTC', kickoff_at) AS kickoff_at)",
    "football_data_odds": "*",
    "football_data_rejects": "* EXCLUDE (rejected_at)",
}


def checksums(state: Path) -> dict[str, tuple[int, int]]:
    """(rows, order-independent hash of the values) per table, in Iceberg and in DuckDB."""
    from lakehouse.catalog import load_catalog
    from lakehouse.config import Settings

    settings = Settings(state_dir=state)
    catalog = load_catalog(settings)
    out = {}
    with duckdb.connect() as con:
        for table, values in _VALUES.items():
            arrow = catalog.load_table(f"history.{table}").scan().to_arrow()  # noqa: F841 - DuckDB reads it
            if table == "football_data_matches":
                con.execute("CREATE OR REPLACE TABLE m AS SELECT * FROM arrow")
                sql = f"SELECT count(*), sum(hash(t)) FROM (SELECT {values} FROM m) t"
            else:
                sql = f"SELECT count(*), sum(hash(t)) FROM (SELECT {values} FROM arrow) t"
            out[f"iceberg.{table}"] = con.execute(sql).fetchone()
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        for table, values in _VALUES.items():
            values = values.replace("timezone('UTC', kickoff_at)", "kickoff_at")
            sql = f"SELECT count(*), sum(hash(t)) FROM (SELECT {values} FROM raw.{table}) t"
            out[f"duckdb.{table}"] = con.execute(sql).fetchone()
    return out


def test_expected_counts_of_the_real_history() -> None:
    """The independent rules above, on all 47 files: the figures the DAG must reproduce."""
    expected = expected_counts(sorted(SHARED.glob("*.csv")))
    # 1 blank row; prices: two 0.0 (E0 2021-22), one 0.9 (SP1 2003-04),
    # nine GBAHH without a line (E0 2003-04).
    assert (expected.matches, expected.prices, expected.rejects) == (17562, 785736, 13)


@pytest.mark.integration
def test_backfill_every_season_then_reload_some(dag_bag: Any, results: Any, lakehouse_env: Path) -> None:
    files = sorted(SHARED.glob("*.csv"))
    assert len(files) == 47
    expected = expected_counts(files)
    dag = dag_bag.get_dag("historical_backfill")

    first = dag.test(run_conf=conf())
    assert first.state == "success", results.states(first)
    summary = results.xcom(first, "check_counts")
    assert summary["seasons"] == 47
    assert summary["parsed"]["matches"] == expected.matches
    assert summary["parsed"]["prices"] == expected.prices
    assert summary["rejects"] == expected.rejects
    want = expected.rows()
    assert summary["iceberg"] == summary["warehouse"] == want
    sums = checksums(lakehouse_env)
    for table, rows in want.items():
        assert sums[f"iceberg.{table}"][0] == sums[f"duckdb.{table}"][0] == rows
        assert sums[f"iceberg.{table}"][1] == sums[f"duckdb.{table}"][1]  # the same values in both

    # Again, four seasons of two leagues (a full second pass took 100 s more and proves no more):
    # each reloads to the same rows, and no table changes.
    again = [p for p in files if p.stem in {"E0_0001", "E0_2122", "SP1_0001", "SP1_2122"}]
    assert len(again) == 4
    second = dag.test(run_conf=conf(leagues=["E0", "SP1"], seasons=["2000-01", "2021-22"]))
    assert second.state == "success", results.states(second)
    assert results.states(second)["load_iceberg_season"] == ["success"] * 4
    reloaded = results.xcom(second, "check_counts")
    want_again = expected_counts(again).rows()
    assert reloaded["seasons"] == 4 and reloaded["iceberg"] == reloaded["warehouse"] == want_again
    assert checksums(lakehouse_env) == sums
    raw = sorted(p.name for p in (lakehouse_env / "raw" / "football_data").rglob("*.csv"))
    assert raw == [p.name for p in files]  # landed once each, under league=/season= folders


@pytest.mark.integration
def test_bad_input_rejects_are_counted_in_the_dag_result(
    dag_bag: Any, results: Any, lakehouse_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_BATCH__FOOTBALL_DATA_DIR", str(BAD_INPUT))
    run = dag_bag.get_dag("historical_backfill").test(run_conf=conf(leagues=["E0"], seasons=["2023-24"]))
    assert run.state == "success", results.states(run)
    summary = results.xcom(run, "check_counts")
    assert summary["rejects"] == 9
    assert summary["parsed"]["rejected_rows"] == 5 and summary["parsed"]["rejected_prices"] == 2
    assert (
        summary["iceberg"]
        == summary["warehouse"]
        == {
            "football_data_matches": 5,
            "football_data_odds": 73,
            "football_data_rejects": 9,
        }
    )


@pytest.mark.integration
def test_a_source_folder_as_the_sources_keep_it(dag_bag: Any, results: Any, lakehouse_env: Path) -> None:
    """The ``source`` param on six more leagues kept in season folders, with both file names.

    Every team resolves (the registry holds each league's own names, synced by `lakehouse teams
    sync football-data`), so no row is refused for a team, and the counts are the csv module's.
    """
    more = SHARED.parent / "football-data-more"
    files = sorted(more.rglob("*.csv"))
    assert len(files) == 14 and any(p.name == "B1.csv" for p in files) and any("_" in p.stem for p in files)
    expected = expected_counts(files)
    assert expected.unknown_teams == 0 and expected.matches > 4000
    leagues = ["B1", "E1", "N1", "P1", "SC0", "T1"]
    run = dag_bag.get_dag("historical_backfill").test(run_conf=conf(source=str(more), leagues=leagues))
    assert run.state == "success", results.states(run)
    summary = results.xcom(run, "check_counts")
    assert summary["seasons"] == 14
    assert (summary["parsed"]["matches"], summary["parsed"]["prices"], summary["rejects"]) == (
        expected.matches,
        expected.prices,
        expected.rejects,
    )
    assert summary["iceberg"]["football_data_matches"] == summary["warehouse"]["football_data_matches"]


@pytest.mark.integration
def test_an_extra_league_file_by_calendar_and_split_season(
    dag_bag: Any, results: Any, lakehouse_env: Path
) -> None:
    """ARG.csv holds both kinds of season: the run maps each one, labelled as the file names it."""
    extra = SHARED.parent / "football-data-extra"
    wanted = {"2016", "2016/2017"}
    with (extra / "ARG.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = [row for row in csv.DictReader(fh) if row["Season"] in wanted]
    run = dag_bag.get_dag("historical_backfill").test(
        run_conf=conf(source=str(extra), leagues=["ARG"], seasons=["2016", "2016-17"])
    )
    assert run.state == "success", results.states(run)
    summary = results.xcom(run, "check_counts")
    assert summary["seasons"] == 2 and summary["parsed"]["rows"] == len(rows) == 692
    assert summary["parsed"]["matches"] == summary["warehouse"]["football_data_matches"] == len(rows)
    labels = sorted(m["season"] for m in results.xcom(run, "plan_seasons"))
    assert labels == ["2016", "2016-17"]


@pytest.mark.integration
def test_an_unknown_league_fails_the_run_without_retries(
    dag_bag: Any, results: Any, lakehouse_env: Path
) -> None:
    run = dag_bag.get_dag("historical_backfill").test(run_conf=conf(leagues=["XX9"]))
    assert run.state == "failed"
    assert results.states(run)["plan_seasons"] == ["failed"]


@pytest.mark.integration
def test_airflow_cli_dags_test(airflow_db: Path, tmp_path: Path) -> None:
    """`airflow dags test historical_backfill` as a user runs it, on two La Liga seasons."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
    }
    conf = '{"leagues": ["SP1"], "seasons": ["2020-21", "2021-22"]}'
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "historical_backfill", "-c", conf],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "state=success" in output
    expected = expected_counts([SHARED / "SP1_2021.csv", SHARED / "SP1_2122.csv"])
    with duckdb.connect(str(tmp_path / "state" / "warehouse.duckdb"), read_only=True) as con:
        matches = con.execute("SELECT count(*) FROM raw.football_data_matches").fetchone()[0]
        prices = con.execute("SELECT count(*) FROM raw.football_data_odds").fetchone()[0]
    assert (matches, prices) == (expected.matches, expected.prices) == (760, expected.prices)


@pytest.mark.integration
def test_backfill_into_snowflake(
    dag_bag: Any, results: Any, lakehouse_env: Path, fakesnow_server: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `warehouse` param switches the load to Snowflake (the emulator), whose login is the
    Airflow connection `lakehouse_snowflake` (no Snowflake variable in the environment): same
    counts checked."""
    for key in list(os.environ):
        if "SNOWFLAKE" in key and key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    connection = {
        "conn_type": "snowflake",
        "login": "fake",
        "password": "snow",
        "host": fakesnow_server["host"],
        "port": fakesnow_server["port"],
        "extra": {"account": "fakesnow", "database": "BETTING", "protocol": "http"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_LAKEHOUSE_SNOWFLAKE", json.dumps(connection))
    run = dag_bag.get_dag("historical_backfill").test(
        run_conf=conf(leagues=["SP1"], seasons=["2021-22"], warehouse="snowflake")
    )
    assert run.state == "success", results.states(run)
    summary = results.xcom(run, "check_counts")
    expected = expected_counts([SHARED / "SP1_2122.csv"])
    assert summary["warehouse_kind"] == "snowflake"
    assert summary["warehouse"]["football_data_matches"] == expected.matches == 380
    assert summary["warehouse"]["football_data_odds"] == expected.prices
    assert not (lakehouse_env / "warehouse.duckdb").exists()
