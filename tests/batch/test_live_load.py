"""Live lake tables into the warehouse: by event date, idempotent, whole when the mark is lost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from batch.live_load import LIVE_TABLES, LOADS, load_live
from batch.warehouse import DuckDBTarget
from iceberg import ensure_tables
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from lakehouse.football_data import LEAGUES
from tests.batch.conftest import on_snowflake, snowflake_rows
from tests.support.rows import append_rows, silver_quote

D1 = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)
D2 = D1 + timedelta(days=1)
D3 = D1 + timedelta(days=2)


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Settings, Any]:
    settings = Settings(state_dir=tmp_path)
    catalog = load_catalog(settings)
    ensure_tables(catalog)
    return settings, catalog


def _warehouse(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _quotes(settings: Settings) -> list[tuple[Any, ...]]:
    sql = "SELECT event_id, price, event_date FROM raw.silver_odds_quotes ORDER BY event_id"
    return _warehouse(settings, sql)


def _lake_quotes(catalog: Any) -> list[tuple[Any, ...]]:
    rows = catalog.load_table("silver.odds_quotes").scan().to_arrow().to_pylist()
    return sorted((r["event_id"], r["price"], r["event_time"].astimezone(UTC).date()) for r in rows)


def test_appends_land_by_event_date_and_a_rerun_changes_nothing(lake: tuple[Settings, Any]) -> None:
    settings, catalog = lake
    append_rows(
        catalog,
        "silver.odds_quotes",
        [silver_quote("a", D1, 2.0), silver_quote("b", D1, 2.1), silver_quote("c", D2, 1.9)],
    )
    first = load_live(settings, catalog)
    assert first.tables["silver_odds_quotes"].rows == 3
    assert first.tables["silver_odds_quotes"].dates is None  # first load: the whole table
    assert _quotes(settings) == _lake_quotes(catalog)
    assert "gold_market_prices_live" not in first.tables  # no snapshot yet: nothing to load

    again = load_live(settings, catalog)
    assert again.tables == {}
    assert _quotes(settings) == _lake_quotes(catalog)

    # A late quote for the first day and a new day: exactly those two dates are replaced.
    append_rows(
        catalog,
        "silver.odds_quotes",
        [silver_quote("d", D1 + timedelta(hours=1), 2.2), silver_quote("e", D3, 3.0)],
    )
    third = load_live(settings, catalog)
    load = third.tables["silver_odds_quotes"]
    assert load.dates == (D1.date().isoformat(), D3.date().isoformat())
    assert load.rows == 4  # the three rows of those dates (a, b, d) and e
    assert _quotes(settings) == _lake_quotes(catalog)
    assert third.totals["silver_odds_quotes"] == 5
    snapshot = catalog.load_table("silver.odds_quotes").current_snapshot().snapshot_id
    marks = _warehouse(settings, f"SELECT table_name, snapshot_id FROM raw.{LOADS}")
    assert ("silver_odds_quotes", snapshot) in marks


def test_a_mark_the_table_no_longer_has_reloads_it_whole(lake: tuple[Settings, Any]) -> None:
    settings, catalog = lake
    append_rows(catalog, "silver.odds_quotes", [silver_quote("a", D1, 2.0), silver_quote("b", D2, 2.1)])
    load_live(settings, catalog)
    target = DuckDBTarget(settings.duckdb_path)
    try:
        target.con.execute(f"UPDATE raw.{LOADS} SET snapshot_id = 42 WHERE table_name = 'silver_odds_quotes'")
    finally:
        target.close()
    append_rows(catalog, "silver.odds_quotes", [silver_quote("c", D3, 1.5)])
    load = load_live(settings, catalog).tables["silver_odds_quotes"]
    assert load.dates is None and load.rows == 3
    assert _quotes(settings) == _lake_quotes(catalog)


def _live_price(bookmaker: str, price: float) -> dict[str, Any]:
    return {
        "game_id": "g1", "sport": "soccer_epl", "market": "h2h", "bookmaker": bookmaker,
        "selection": "home", "point": None, "price": price, "previous_price": None,
        "is_exchange": False, "last_update": D1, "event_id": f"q-{bookmaker}-{price}",
        "updated_at": D1, "home_team": "Arsenal", "away_team": "Chelsea", "commence_time": D2,
    }  # fmt: skip


def test_gold_is_replaced_whole_with_the_lake_latest_rows(lake: tuple[Settings, Any]) -> None:
    settings, catalog = lake
    append_rows(
        catalog, "gold.market_prices_live", [_live_price("pinnacle", 2.0), _live_price("bet365", 2.1)]
    )
    first = load_live(settings, catalog).tables["gold_market_prices_live"]
    assert first.rows == 2 and first.dates is None
    # The stream's upsert: one book's price replaced (an overwrite snapshot, not an append).
    table = catalog.load_table("gold.market_prices_live")
    rows = [r for r in table.scan().to_arrow().to_pylist() if r["bookmaker"] != "pinnacle"]
    rows.append(_live_price("pinnacle", 2.05))
    table.overwrite(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))
    second = load_live(settings, catalog)
    assert second.tables["gold_market_prices_live"].rows == 2
    held = _warehouse(settings, "SELECT bookmaker, price FROM raw.gold_market_prices_live ORDER BY bookmaker")
    assert held == [("bet365", 2.1), ("pinnacle", 2.05)]
    assert load_live(settings, catalog).tables == {}


@pytest.mark.integration
def test_the_same_on_the_snowflake_emulator(lake: tuple[Settings, Any], fakesnow_server: dict) -> None:
    settings, catalog = lake
    schema = f"live_{uuid.uuid4().hex[:8]}"  # the emulator is shared by the session's tests
    snowflake = on_snowflake(settings, fakesnow_server, raw_schema=schema)

    def held() -> list[tuple[Any, ...]]:
        sql = f"SELECT EVENT_ID, PRICE, EVENT_DATE FROM {schema.upper()}.SILVER_ODDS_QUOTES ORDER BY EVENT_ID"
        return [tuple(r) for r in snowflake_rows(fakesnow_server, sql)]

    append_rows(catalog, "silver.odds_quotes", [silver_quote("a", D1, 2.0), silver_quote("c", D2, 1.9)])
    first = load_live(snowflake, catalog)
    assert first.kind == "snowflake" and first.tables["silver_odds_quotes"].rows == 2
    assert held() == _lake_quotes(catalog)
    assert load_live(snowflake, catalog).tables == {}
    append_rows(catalog, "silver.odds_quotes", [silver_quote("b", D1 + timedelta(hours=2), 2.4)])
    third = load_live(snowflake, catalog).tables["silver_odds_quotes"]
    assert third.dates == (D1.date().isoformat(),) and third.rows == 2
    assert held() == _lake_quotes(catalog)


def test_every_live_table_exists_from_the_first_load_and_lists_read_as_text(
    lake: tuple[Settings, Any],
) -> None:
    settings, catalog = lake
    article = {
        "event_id": "n1", "source": "newsapi", "sport": "soccer_epl", "event_time": D1, "ingested_at": D1,
        "schema_version": 1, "article_id": "a1", "url": "https://example.org/a1", "title": "Derby day",
        "description": None, "published_at": D1, "outlet": "BBC Sport",
        "team_ids": ["arsenal", "chelsea"], "teams": ["Arsenal", "Chelsea"], "game_id": None,
        "kafka_topic": "news.articles", "kafka_partition": 0, "kafka_offset": 7, "processed_at": D1,
    }  # fmt: skip
    append_rows(catalog, "silver.news", [article])
    load = load_live(settings, catalog)
    assert set(load.tables) == {"silver_news"}
    tables = {name for (name,) in _warehouse(settings, "SELECT table_name FROM duckdb_tables()")}
    # empty ones included, and the history and reference tables: dbt builds on live data alone
    history = {"football_data_matches", "football_data_odds", "football_data_rejects"}
    assert tables == {
        LOADS,
        *(live.warehouse_name for live in LIVE_TABLES),
        *history,
        "teams",
        "bookmakers",
        "leagues",
    }
    assert _warehouse(settings, "SELECT count(*) FROM raw.football_data_odds") == [(0,)]
    assert _warehouse(settings, "SELECT count(*) FROM raw.leagues") == [(len(LEAGUES),)]
    assert _warehouse(settings, "SELECT team_ids, teams FROM raw.silver_news") == [
        ("arsenal,chelsea", "Arsenal,Chelsea")
    ]
    assert _warehouse(settings, "SELECT count(*) FROM raw.silver_weather") == [(0,)]
