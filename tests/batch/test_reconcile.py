"""The Lambda check on the captures: gold written by the engine in small batches (as the stream
runs it) equals the batch recomputation from silver; a corrupted or lost gold row is found."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from batch.reconcile import COMPARED, TOLERANCE, mismatch_summary, reconcile
from iceberg import ensure_tables
from iceberg.tables import GOLD_TABLES, SILVER_FEEDS
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, KafkaSettings, Settings
from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.schemas import SchemaValidationError, validate
from producers.replay import odds_api_capture
from tests.support.health import RecordingHealth

pytestmark = pytest.mark.integration

CAPTURES = sorted(
    (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "odds-api").rglob("*.json")
)


def _stamp(value: Any) -> Any:
    return (
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, str) and value[-1:] == "Z"
        else value
    )


def _rows(td: Any, records: list[dict[str, Any]], **lineage: Any) -> pa.Table:
    schema = td.schema.as_arrow()
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
    now = datetime(2024, 3, 27)
    silver = _rows(
        SILVER_FEEDS["odds"],
        quotes,
        kafka_topic="odds.quotes",
        kafka_partition=0,
        kafka_offset=0,
        processed_at=now,
    )
    catalog.load_table(SILVER_FEEDS["odds"].identifier).append(silver)
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
        catalog.load_table(GOLD_TABLES[name].identifier).append(_rows(GOLD_TABLES[name], rows))
    return settings, catalog, quotes


def test_gold_equals_the_batch_recomputation_then_a_corrupted_row_is_found(lake: Any) -> None:
    settings, catalog, quotes = lake
    health = RecordingHealth("reconciliation")
    result = reconcile(settings, catalog, days=3650, health=health)
    assert result.quotes == len(quotes) and result.games == len({q["game_id"] for q in quotes})
    assert result.compared["market_agg_1m"] > 1000, result.compared
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
