"""Fixtures of the batch layer: isolated settings (own state folder, local catalog, DuckDB file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from batch.football_data import SeasonFile, parse_season
from batch.iceberg_load import load_seasons
from lakehouse.catalog import load_catalog
from lakehouse.config import BatchSettings, CatalogSettings, Settings, WarehouseSettings

FIXTURES = Path(__file__).parent / "fixtures"
BAD_INPUT = FIXTURES / "bad_input"


@pytest.fixture
def bad_input_file() -> Path:
    """A crafted E0 2023-24 file: one of each kind of bad input among valid rows."""
    return BAD_INPUT / "E0_2324.csv"


@pytest.fixture
def batch_settings(tmp_path: Path) -> Settings:
    """A private lake, raw zone and warehouse over the real season files."""
    return Settings(state_dir=tmp_path / "state", catalog=CatalogSettings(kind="local"))


@pytest.fixture
def bad_input_settings(tmp_path: Path) -> Settings:
    """The same, reading the crafted bad-input season file instead of the real ones."""
    return Settings(
        state_dir=tmp_path / "state",
        catalog=CatalogSettings(kind="local"),
        batch=BatchSettings(football_data_dir=BAD_INPUT),
    )


def on_snowflake(
    settings: Settings, server: dict, raw_schema: str = "raw", database: str = "BETTING"
) -> Settings:
    """``settings`` pointed at the Snowflake emulator (``fakesnow_server``), loading ``raw_schema``."""
    return settings.model_copy(
        update={
            "warehouse": WarehouseSettings(
                kind="snowflake",
                snowflake_account="fakesnow",
                snowflake_user="fake",
                snowflake_database=database,
                snowflake_host=server["host"],
                snowflake_port=server["port"],
                snowflake_protocol="http",
                raw_schema=raw_schema,
            ),
            "snowflake_password": SecretStr("snow"),
        }
    )


def snowflake_rows(server: dict, sql: str) -> list[tuple]:
    import snowflake.connector

    conn = snowflake.connector.connect(database="BETTING", **server)
    try:
        return conn.cursor().execute(sql).fetchall()
    finally:
        conn.close()


HISTORY = ("football_data_matches", "football_data_odds", "football_data_rejects")


@pytest.fixture
def loaded_lake(batch_settings: Settings, shared_data: Path, bad_input_file: Path) -> Settings:
    """A lake with a real season (SP1 2021-22) and the crafted bad-input one (E0 2023-24)."""
    parsed = [
        parse_season((shared_data / "football-data/SP1_2122.csv").read_bytes(), SeasonFile("SP1", "2122")),
        parse_season(bad_input_file.read_bytes(), SeasonFile("E0", "2324")),
    ]
    load_seasons(load_catalog(batch_settings), parsed)
    return batch_settings


def iceberg_rows(settings: Settings, table: str) -> int:
    return load_catalog(settings).load_table(f"history.{table}").scan().count()
