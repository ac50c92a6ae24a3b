"""The gold journal: folded upserts in batch order, idempotent re-application, failures kept for retry."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from lakehouse.schemas import iceberg_schema
from lakehouse.schemas.aggregates import MARKET_PRICES_LIVE, STEAM_MOVES
from streaming.gold import GoldJournal

pytestmark = [pytest.mark.spark]


def _live(book: str, price: float, at: str) -> dict:
    return {
        "game_id": "2024-03-30:arsenal:chelsea",
        "sport": "soccer_epl",
        "market": "h2h",
        "bookmaker": book,
        "selection": "home",
        "point": None,
        "price": price,
        "previous_price": None,
        "is_exchange": False,
        "last_update": at,
        "event_id": f"e-{book}-{price}",
        "updated_at": at,
        "home_team": "Arsenal",
        "away_team": "Chelsea",
        "commence_time": "2024-03-30T17:30:00.000000Z",
    }


@pytest.fixture
def journal(spark, lake_settings: Settings, tmp_path: Path) -> GoldJournal:
    """A journal over two tables of its own, so the shared gold tables stay untouched."""
    catalog = load_catalog(lake_settings)
    namespace = f"gold_journal_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    tables = {}
    for agg in (STEAM_MOVES, MARKET_PRICES_LIVE):
        catalog.create_table(f"{namespace}.{agg.name}", iceberg_schema(agg))
        tables[agg] = f"{namespace}.{agg.name}"
    return GoldJournal(tmp_path / "journal", lake_settings.catalog.name, tables)


def _prices(spark, journal: GoldJournal) -> dict[str, float]:
    table = journal.tables[MARKET_PRICES_LIVE]
    rows = spark.sql(f"SELECT bookmaker, price FROM {journal.catalog}.{table}").collect()
    return {r["bookmaker"]: r["price"] for r in rows}


def test_batches_fold_in_order_and_reapplying_changes_nothing(spark, journal: GoldJournal) -> None:
    journal.append(1, {"market_prices_live": [_live("bet365", 2.0, "2024-03-30T10:00:00Z")]})
    journal.append(
        2,
        {
            "market_prices_live": [
                _live("bet365", 2.1, "2024-03-30T10:00:05Z"),
                _live("pinnacle", 2.05, "2024-03-30T10:00:05Z"),
            ]
        },
    )
    # A replayed batch replaces its own journal file rather than adding a second one.
    journal.append(2, {"market_prices_live": [_live("bet365", 2.1, "2024-03-30T10:00:05Z")]})
    assert len(journal.pending()) == 2

    assert journal.drain(spark) == 2
    assert journal.pending() == []
    assert _prices(spark, journal) == {"bet365": 2.1}

    # A crash after the MERGE but before the files were deleted: the same batches again.
    journal.append(1, {"market_prices_live": [_live("bet365", 2.0, "2024-03-30T10:00:00Z")]})
    journal.append(2, {"market_prices_live": [_live("bet365", 2.1, "2024-03-30T10:00:05Z")]})
    journal.drain(spark)
    assert _prices(spark, journal) == {"bet365": 2.1}
    table = journal.tables[MARKET_PRICES_LIVE]
    assert spark.sql(f"SELECT count(*) AS n FROM {journal.catalog}.{table}").first()["n"] == 1


def test_a_failed_upsert_keeps_the_batch_for_retry(spark, journal: GoldJournal) -> None:
    broken = dict(journal.tables)
    journal.tables = {agg: f"{name}_missing" for agg, name in broken.items()}
    journal.append(7, {"market_prices_live": [_live("williamhill", 3.0, "2024-03-30T11:00:00Z")]})
    with pytest.raises(Exception, match=r"(?i)cannot be found|not found|no such table"):
        journal.drain(spark)
    assert len(journal.pending()) == 1

    journal.tables = broken
    assert journal.drain(spark) == 1
    assert _prices(spark, journal) == {"williamhill": 3.0}


def test_background_applier_writes_batches_without_blocking(spark, journal: GoldJournal) -> None:
    journal.start(spark, interval_s=0.2)
    try:
        journal.append(1, {"market_prices_live": [_live("unibet", 1.9, "2024-03-30T12:00:00Z")]})
        journal.append(2, {"market_prices_live": [_live("unibet", 1.95, "2024-03-30T12:00:01Z")]})
    finally:
        journal.stop(spark)
    assert journal.pending() == []
    assert _prices(spark, journal) == {"unibet": 1.95}
    assert journal.applied_batches == 2
