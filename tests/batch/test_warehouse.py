"""Iceberg -> warehouse: DuckDB (embedded) and Snowflake (the fakesnow emulator in server mode)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from batch.football_data import SeasonFile, parse_season
from batch.iceberg_load import load_seasons
from batch.warehouse import SnowflakeTarget, WarehouseTimeout, call_with_timeout, load_warehouse
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings, WarehouseSettings
from lakehouse.football_data import BOOKMAKERS
from lakehouse.teams import get_registry
from tests.batch.conftest import HISTORY, iceberg_rows, on_snowflake, snowflake_rows

UNKNOWN_BOOK = (
    "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A,XYZH,XYZD,XYZA\r\n"
    "E0,11/08/2023,Burnley,Man City,0,3,A,8.0,5.5,1.33,7.5,5.0,1.4\r\n"
)


def test_duckdb_holds_what_iceberg_holds(loaded_lake: Settings) -> None:
    first = load_warehouse(loaded_lake, load_catalog(loaded_lake))
    with duckdb.connect(str(loaded_lake.duckdb_path), read_only=True) as con:
        for table in HISTORY:
            rows = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
            assert rows == iceberg_rows(loaded_lake, table) == first.totals[table] > 0
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = "
                "'football_data_matches'"
            ).fetchall()
        )
        assert (types["kickoff_at"], types["match_date"], types["home_goals"]) == (
            "TIMESTAMP",
            "DATE",
            "INTEGER",
        )
        assert (
            con.execute(
                "SELECT min(kickoff_at)::VARCHAR FROM raw.football_data_matches WHERE league = 'SP1'"
            ).fetchone()[0]
            == "2021-08-13 19:00:00"  # 20:00 UK time (BST), as football-data writes every league
        )  # UTC, naive
        reasons = {r[0] for r in con.execute("SELECT reason FROM raw.football_data_rejects").fetchall()}
        assert "price 'abc' is not a number" in reasons and "empty row" in reasons
        teams = con.execute("SELECT count(*), count(country) FROM raw.teams").fetchone()
        assert teams[0] == len(get_registry().teams()) and teams[1] > 0
        books = con.execute("SELECT count(*) FROM raw.bookmakers").fetchone()[0]
        assert books == len(BOOKMAKERS)
        checksum = con.execute("SELECT sum(hash(o)) FROM raw.football_data_odds o").fetchone()[0]
    second = load_warehouse(loaded_lake, load_catalog(loaded_lake))
    assert second.totals == first.totals
    with duckdb.connect(str(loaded_lake.duckdb_path), read_only=True) as con:
        assert con.execute("SELECT sum(hash(o)) FROM raw.football_data_odds o").fetchone()[0] == checksum


def test_duckdb_partition_load_replaces_only_those_partitions(loaded_lake: Settings, tmp_path: Path) -> None:
    catalog = load_catalog(loaded_lake)
    load_warehouse(loaded_lake, catalog)
    # The E0 2023-24 file is fixed upstream: a new version with an unknown bookmaker code.
    load_seasons(catalog, [parse_season(UNKNOWN_BOOK.encode(), SeasonFile("E0", "2324"))])
    result = load_warehouse(loaded_lake, catalog, [("E0", "2023-24")])
    assert result.counted == {"football_data_matches": 1, "football_data_odds": 6, "football_data_rejects": 0}
    with duckdb.connect(str(loaded_lake.duckdb_path), read_only=True) as con:
        sp1 = con.execute("SELECT count(*) FROM raw.football_data_matches WHERE league = 'SP1'").fetchone()[0]
        assert sp1 == 380  # untouched
        assert con.execute("SELECT count(*) FROM raw.football_data_rejects").fetchone()[0] == 0
        xyz = con.execute(
            "SELECT bookmaker, title, kind FROM raw.bookmakers WHERE bookmaker_code = 'XYZ'"
        ).fetchall()
        assert xyz == [("xyz", "XYZ", "unknown")]


# --- Snowflake through the emulator ---------------------------------------------------------


@pytest.fixture
def snowflake_settings(loaded_lake: Settings, fakesnow_server: dict) -> Settings:
    return on_snowflake(loaded_lake, fakesnow_server)


@pytest.mark.integration
def test_snowflake_copy_into_from_parquet(snowflake_settings: Settings, fakesnow_server: dict) -> None:
    catalog = load_catalog(snowflake_settings)
    first = load_warehouse(
        snowflake_settings, catalog, target=SnowflakeTarget(snowflake_settings, timeout_s=60)
    )
    assert first.kind == "snowflake"
    for table in HISTORY:
        (rows,) = snowflake_rows(fakesnow_server, f"SELECT COUNT(*) FROM RAW.{table.upper()}")[0]
        assert rows == iceberg_rows(snowflake_settings, table) == first.totals[table]
    odds_sum = snowflake_rows(fakesnow_server, "SELECT ROUND(SUM(PRICE), 4) FROM RAW.FOOTBALL_DATA_ODDS")
    iceberg_sum = catalog.load_table("history.football_data_odds").scan().to_arrow()["price"]
    assert float(odds_sum[0][0]) == pytest.approx(round(sum(iceberg_sum.to_pylist()), 4))
    kickoff = snowflake_rows(
        fakesnow_server, "SELECT MIN(KICKOFF_AT) FROM RAW.FOOTBALL_DATA_MATCHES WHERE LEAGUE = 'SP1'"
    )[0][0]
    assert str(kickoff) == "2021-08-13 19:00:00"
    # A second load of the same partitions leaves the same rows (DELETE + COPY in one transaction).
    second = load_warehouse(
        snowflake_settings,
        catalog,
        [("E0", "2023-24")],
        target=SnowflakeTarget(snowflake_settings, timeout_s=60),
    )
    assert second.totals == first.totals
    (teams,) = snowflake_rows(fakesnow_server, "SELECT COUNT(*) FROM RAW.TEAMS")[0]
    assert teams == len(get_registry().teams())


@pytest.mark.integration
def test_snowflake_errors_surface_instead_of_hanging(snowflake_settings: Settings) -> None:
    target = SnowflakeTarget(snowflake_settings, timeout_s=30)
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)does not exist|not found|error"):
        target.query("SELECT * FROM {schema}.NO_SUCH_TABLE")
    target.close()
    assert time.monotonic() - started < 30


def test_a_call_that_never_answers_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(WarehouseTimeout, match="within 1 s"):
        call_with_timeout(lambda: time.sleep(30), 1.0, "a stuck statement")
    assert time.monotonic() - started < 5
    with pytest.raises(ZeroDivisionError):
        call_with_timeout(lambda: 1 / 0, 1.0, "a failing statement")


def test_snowflake_needs_a_password(tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path, warehouse=WarehouseSettings(kind="snowflake"), snowflake_password=None
    )
    with pytest.raises(ValueError, match="LAKEHOUSE_SNOWFLAKE_PASSWORD"):
        SnowflakeTarget(settings)
