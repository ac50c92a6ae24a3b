"""The Lambda check on the captures: gold written by the engine in small batches (as the stream
runs it) equals the batch recomputation from silver; a corrupted or lost gold row is found.

A minute of the simulated market joins the captures: a capture is one snapshot per book, so its
arbitrage windows open and stay open, while the simulator's also close (only closed windows are
final, and compared)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from batch.reconcile import COMPARED, TOLERANCE, mismatch_summary, reconcile
from iceberg import ensure_tables
from iceberg.tables import GOLD_TABLES, SILVER_FEEDS
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, KafkaSettings, Settings
from lakehouse.health import RecordingHealth
from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.schemas import SchemaValidationError, validate
from producers.replay import odds_api_capture
from producers.simulator import Simulator

pytestmark = pytest.mark.integration

SIM = {"games_per_sport": 1, "game_speed": 60.0, "first_kickoff_s": 10.0, "kickoff_interval_s": 10.0}
CAPTURES = sorted(
    (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "odds-api").rglob("*.json")
)


def _stamp(value: Any) -> Any:
    return (
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, str) and value[-1:] == "Z"
        else value
    )


def _rows(table: Any, records: list[dict[str, Any]], **lineage: Any) -> pa.Table:
    schema = table.schema().as_arrow()  # the created table's field ids (nested lists included)
    rows = [{n: _stamp(r.get(n, lineage.get(n))) for n in schema.names} for r in records]
    return pa.Table.from_pylist(rows, schema=schema)


def _since(applied: list[Tick]) -> Any:
    return lambda since: [t for t in applied if t.t >= since]


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Settings, Any, list[dict[str, Any]]]:
    settings = Settings(
        state_dir=tmp_path,
        catalog=CatalogSettings(kind="local"),
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
    )
    catalog = load_catalog(settings)
    ensure_tables(catalog)
    quotes = []
    for path in CAPTURES:
        for event in odds_api_capture(path).events:
            with contextlib.suppress(SchemaValidationError):  # dead-lettered by the stream
                quotes.append(validate("odds", event))
    sim = Simulator(seed=7, start=datetime(2024, 3, 27, 12, tzinfo=UTC), **SIM)
    quotes += [validate("odds", record) for feed, record in sim.run(60) if feed == "odds"]
    now = datetime(2024, 3, 27)
    silver_table = catalog.load_table(SILVER_FEEDS["odds"].identifier)
    silver = _rows(
        silver_table,
        quotes,
        kafka_topic="odds.quotes",
        kafka_partition=0,
        kafka_offset=0,
        processed_at=now,
    )
    silver_table.append(silver)
    # The speed layer's gold: the engine fed seven quotes at a time with the history it asks for,
    # the latest row per key kept, as the stream's MERGE keeps it. In event-time order: silver holds
    # the quotes that arrived within the allowed lateness (the rest go to silver.late_events).
    engine = EngineSettings.of(settings)
    held: dict[tuple[str, str], dict[str, Any]] = {}
    by_game: dict[str, list[dict[str, Any]]] = {}
    for q in sorted(quotes, key=lambda q: (q["event_time"], q["event_id"])):
        by_game.setdefault(q["game_id"], []).append(q)
    for game_id, records in by_game.items():
        state, applied = GameState(game_id), []
        for i in range(0, len(records), 7):
            chunk = records[i : i + 7]
            meta = GameMeta.from_record(max(records[: i + 7], key=lambda r: (r["event_time"], r["event_id"])))
            out, new = state.apply([Tick.from_record(r) for r in chunk], meta, engine, _since(applied))
            applied += new
            for o in out:
                held[(o.aggregate, o.key)] = o.record
    for name in COMPARED:
        rows = [r for (agg, _), r in held.items() if agg == name and not r.get("retracted")]
        table = catalog.load_table(GOLD_TABLES[name].identifier)
        table.append(_rows(table, rows))
    return settings, catalog, quotes


def test_gold_equals_the_batch_recomputation_then_a_corrupted_row_is_found(lake: Any) -> None:
    settings, catalog, quotes = lake
    health = RecordingHealth("reconciliation")
    result = reconcile(settings, catalog, days=3650, health=health)
    assert result.quotes == len(quotes) and result.games == len({q["game_id"] for q in quotes})
    assert result.compared["market_agg_1m"] > 1000, result.compared
    # Every live price is final here (the cutoff is the newest quote less the lateness, and a
    # capture's quotes are hours older than that), and the simulated minute closes arbitrages.
    live = catalog.load_table(GOLD_TABLES["market_prices_live"].identifier).scan().to_arrow()
    arbs = catalog.load_table(GOLD_TABLES["arbitrage_opportunities"].identifier).scan().to_arrow()
    closed = arbs.filter(pa.compute.equal(arbs["status"], "closed"))
    assert result.compared["market_prices_live"] >= live.num_rows * 0.9, result.compared
    assert result.compared["arbitrage_opportunities"] == closed.num_rows > 0, result.compared
    assert result.mismatches == [], mismatch_summary(result)
    sent = {(m, s["aggregate"]): v for m, v, s in health.samples}
    assert sent[("mismatches", "market_agg_1m")] == 0
    assert sent[("rows_compared", "market_agg_1m")] == result.compared["market_agg_1m"]

    bars = catalog.load_table(GOLD_TABLES["market_agg_1m"].identifier)
    data = bars.scan().to_arrow()
    priced = [i for i, v in enumerate(data["fair_prob_shin"].to_pylist()) if v is not None]
    victim, lost = priced[0], priced[1]
    corrupt = data["fair_prob_shin"].to_pylist()
    corrupt[victim] += 1e-6  # far below what a dashboard shows, far above float error
    keep = [i for i in range(data.num_rows) if i != lost]
    bars.overwrite(
        data.set_column(
            data.schema.get_field_index("fair_prob_shin"), "fair_prob_shin", pa.array(corrupt)
        ).take(keep)
    )
    found = reconcile(settings, catalog, days=3650, health=RecordingHealth("reconciliation"))
    reasons = sorted(m.reason.split(":")[0] for m in found.mismatches)
    assert reasons == ["fair_prob_shin", "missing in gold"], mismatch_summary(found)
    assert found.worst_difference == pytest.approx(1e-6, rel=1e-3) and found.worst_difference > TOLERANCE
    [wrong] = [m for m in found.mismatches if m.reason.startswith("fair_prob_shin")]
    window = data.slice(victim, 1).to_pylist()[0]["window_start"]
    assert wrong.key.startswith(window.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_wrong_arbitrage_window_and_a_wrong_live_price_are_found(lake: Any) -> None:
    settings, catalog, _ = lake
    arbs = catalog.load_table(GOLD_TABLES["arbitrage_opportunities"].identifier)
    data = arbs.scan().to_arrow()
    victim = data["status"].to_pylist().index("closed")
    returns = data["guaranteed_return"].to_pylist()
    returns[victim] += 1e-7
    index = data.schema.get_field_index("guaranteed_return")
    field = data.schema.field(index)
    arbs.overwrite(data.set_column(index, field, pa.array(returns, field.type)))
    live = catalog.load_table(GOLD_TABLES["market_prices_live"].identifier)
    prices = live.scan().to_arrow()
    held = prices["price"].to_pylist()
    held[0] = round(held[0] + 0.01, 2)  # a price the book never quoted at that time
    index = prices.schema.get_field_index("price")
    field = prices.schema.field(index)
    live.overwrite(prices.set_column(index, field, pa.array(held, field.type)))

    found = reconcile(settings, catalog, days=3650, health=RecordingHealth("reconciliation"))
    by_aggregate = {m.aggregate: m for m in found.mismatches}
    assert sorted(by_aggregate) == ["arbitrage_opportunities", "market_prices_live"], mismatch_summary(found)
    assert by_aggregate["arbitrage_opportunities"].key == data["arb_id"][victim].as_py()
    assert by_aggregate["arbitrage_opportunities"].difference == pytest.approx(1e-7, rel=1e-3)
    assert by_aggregate["market_prices_live"].reason.startswith("price: gold")
