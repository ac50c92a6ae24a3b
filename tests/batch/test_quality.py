"""Great Expectations suites on real data: the captures, a football-data season and the market
engine's windows pass; the same batches with one fault each fail, naming the expectation."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from batch.football_data import SeasonFile, parse_season
from batch.quality import (
    OVERROUND_BOUNDS,
    QualityError,
    check,
    data_docs_index,
    definition_expectations,
    enforce,
    quality_root,
    suites,
)
from iceberg.history import FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS
from iceberg.tables import GOLD_TABLES, SILVER_FEEDS, TableDef
from lakehouse.config import CatalogSettings, KafkaSettings, Settings
from lakehouse.health import RecordingHealth
from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.schemas import EVENT_TYPES, SchemaValidationError, validate
from producers.replay import odds_api_capture

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CAPTURES = sorted((DATA / "odds-api").rglob("*.json"))


def _frame(td: TableDef, records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as the lake table's rows (timestamps parsed, lineage filled) read back as pandas."""
    schema = td.schema.as_arrow()
    stamps = {f.name for f in schema if pa.types.is_timestamp(f.type)}
    rows = []
    for i, record in enumerate(records):
        row = {name: record.get(name) for name in schema.names}
        for name in stamps & set(row):
            if isinstance(row[name], str):
                row[name] = datetime.fromisoformat(row[name].replace("Z", "+00:00"))
        row.update(
            kafka_topic="odds.quotes", kafka_partition=0, kafka_offset=i
        ) if "kafka_topic" in row else None
        if "processed_at" in row and row["processed_at"] is None:
            row["processed_at"] = datetime(2024, 3, 27, tzinfo=UTC)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema).to_pandas()


def _valid_quotes() -> list[dict[str, Any]]:
    """Every capture's quotes that pass the schema, as the stream lets them into silver."""
    valid = []
    for path in CAPTURES:
        for event in odds_api_capture(path).events:
            with contextlib.suppress(SchemaValidationError):  # dead-lettered by the stream
                valid.append(validate("odds", event))
    return valid


@pytest.fixture(scope="module")
def quotes() -> pd.DataFrame:
    events = _valid_quotes()
    assert len(events) > 1000 and len({e["sport"] for e in events}) > 3
    return _frame(SILVER_FEEDS["odds"], events)


@pytest.fixture(scope="module")
def season() -> tuple[pd.DataFrame, pd.DataFrame]:
    path = DATA / "football-data" / "E0_2324.csv"
    parsed = parse_season(path.read_bytes(), SeasonFile.of("E0", "2023-24"))
    return parsed.matches.to_pandas(), parsed.odds.to_pandas()


@pytest.fixture(scope="module")
def windows() -> pd.DataFrame:
    events = _valid_quotes()
    games: dict[str, list[Tick]] = {}
    metas: dict[str, GameMeta] = {}
    for e in events:
        games.setdefault(e["game_id"], []).append(Tick.from_record(e))
        metas[e["game_id"]] = GameMeta.from_record(e)
    bars = []
    for game_id, ticks in games.items():
        outputs, _ = GameState(game_id).apply(ticks, metas[game_id], EngineSettings(), lambda since: [])
        bars += [o.record for o in outputs if o.aggregate == "market_agg_1m"]
    assert any(b.get("fair_prob_shin") is not None for b in bars)
    return _frame(GOLD_TABLES["market_agg_1m"], bars)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # no broker: health samples are dropped and logged, never raised (checked with a broker below)
    return Settings(state_dir=tmp_path, kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"))


def test_every_lake_and_history_table_has_a_suite_from_its_definition() -> None:
    known = suites()
    tables = [f"{td.namespace}_{td.name}" for td in (*SILVER_FEEDS.values(), *GOLD_TABLES.values())]
    assert set(tables) | {"football_data_odds", "football_data_matches"} <= set(known)
    odds = known["silver_odds_quotes"]
    labels = {e.label for e in odds.expectations}
    required = [f.name for f in EVENT_TYPES["odds"].fields if f.required]
    assert {f"expect_column_values_to_not_be_null({name})" for name in required} <= labels
    assert "expect_column_values_to_be_in_set(market)" in labels  # the schema's enum
    assert "expect_column_values_to_be_unique(event_id)" in labels
    history = definition_expectations(FOOTBALL_DATA_ODDS)
    assert history[0].args["column_set"] == [c.name for c in FOOTBALL_DATA_ODDS.schema.fields]


def test_real_batches_pass_and_reach_data_docs_and_health(
    settings: Settings, quotes: pd.DataFrame, season: tuple[pd.DataFrame, pd.DataFrame], windows: pd.DataFrame
) -> None:
    health = RecordingHealth("quality")
    matches, odds = season
    batches = {
        "silver_odds_quotes": quotes,
        FOOTBALL_DATA_MATCHES.name: matches,
        FOOTBALL_DATA_ODDS.name: odds,
        "gold_market_agg_1m": windows,
    }
    results = check(settings, batches, stage="test", health=health)
    assert [(r.table, r.rows) for r in results] == [(t, len(f)) for t, f in batches.items()]
    assert all(r.passed for r in results), [r.as_dict() for r in results]
    failures = {r.table: r.failures for r in results}
    assert (
        failures["silver_odds_quotes"]
        == failures["gold_market_agg_1m"]
        == failures["football_data_matches"]
        == []
    )
    # A real season may hold a market whose best prices across books sum far under 100% (a stale
    # or mistyped price in the file's Max columns): a warning, never a stop.
    assert {(f.severity, f.expectation.split(" where")[0]) for f in failures[FOOTBALL_DATA_ODDS.name]} <= {
        ("warning", "expect_column_values_to_be_between(overround)")
    }
    assert all(r.evaluated >= 10 for r in results)
    enforce(results)  # nothing raised
    index = data_docs_index(settings).read_text()
    assert all(table in index for table in batches)
    sent = {(m, s["table"]): v for m, v, s in health.samples}
    assert sent[("rows_checked", "silver_odds_quotes")] == len(quotes)
    assert sent[("expectations_failed", "football_data_odds")] == 0
    assert sent[("expectations_warned", "football_data_odds")] == len(failures[FOOTBALL_DATA_ODDS.name])


def test_a_bad_batch_is_caught_with_the_failing_expectations_named(
    settings: Settings, quotes: pd.DataFrame
) -> None:
    bad = quotes.copy()
    bad.loc[3, "price"] = 0.95
    bad.loc[5, "event_id"] = bad.loc[4, "event_id"]
    bad.loc[7, "commence_time"] = bad.loc[7, "event_time"] + timedelta(days=3 * 365)  # years ahead
    bad.loc[9, "commence_time"] = pd.Timestamp("1980-05-01", tz="UTC")  # and before any football-data
    bad.loc[8, "market"] = "corners"
    [result] = check(settings, {"silver_odds_quotes": bad}, stage="test", health=RecordingHealth("quality"))
    failed = {f.expectation: f for f in result.failures}
    assert set(failed) == {
        "expect_column_values_to_be_between(price)",
        "expect_column_values_to_be_unique(event_id)",
        "expect_column_values_to_be_between(commence_time)",
        "expect_column_values_to_be_between(kickoff_lead_days)",
        "expect_column_values_to_be_in_set(market)",
    }
    assert failed["expect_column_values_to_be_between(price)"].unexpected == 1
    assert failed["expect_column_values_to_be_unique(event_id)"].unexpected == 2
    assert not result.passed
    with pytest.raises(
        QualityError, match=r"silver_odds_quotes: critical: expect_column_values_to_be_between\(price\)"
    ):
        enforce([result])


def test_a_broken_consensus_and_a_wild_margin(
    settings: Settings, season: tuple[pd.DataFrame, pd.DataFrame], windows: pd.DataFrame
) -> None:
    bars = windows.copy()
    priced = bars.index[bars["fair_prob_shin"].notna()]
    first = bars.loc[priced[0]]
    same = (
        (bars["window_start"] == first["window_start"])
        & (bars["game_id"] == first["game_id"])
        & (bars["market"] == first["market"])
        & (bars["selection"] == first["selection"])
    )
    bars.loc[same, "fair_prob_shin"] += 0.02  # one selection's consensus, on each of its rows
    _, odds = season
    wild = odds.copy()
    market = (wild["match_id"] == wild.loc[0, "match_id"]) & (
        wild["bookmaker_code"] == wild.loc[0, "bookmaker_code"]
    )
    market &= (wild["market"] == wild.loc[0, "market"]) & (wild["phase"] == wild.loc[0, "phase"])
    assert wild.loc[0, "bookmaker_kind"] == "bookmaker"
    wild.loc[market, "price"] = 1.5  # 1/1.5 * 3 = an overround of 2
    gold, history = check(
        settings,
        {"gold_market_agg_1m": bars, FOOTBALL_DATA_ODDS.name: wild},
        stage="test",
        health=RecordingHealth("quality"),
    )
    assert [f.expectation for f in gold.failures] == [
        "expect_column_values_to_be_between(fair_prob_shin_sum) on lines"
    ]
    assert gold.failures[0].unexpected == 1 and not gold.passed
    low, high = OVERROUND_BOUNDS["bookmaker"]
    wild_books = [f for f in history.failures if 'bookmaker_kind=="bookmaker"' in f.expectation]
    assert [(f.expectation, f.severity, f.unexpected, f.examples) for f in wild_books] == [
        (
            'expect_column_values_to_be_between(overround) where bookmaker_kind=="bookmaker" on markets',
            "warning",
            1,
            (2.0,),
        )
    ]
    assert history.passed and (low, high) == (1.0, 1.30)  # a warning: the load would go on


def test_a_missing_column_fails_the_suite_without_a_traceback(
    settings: Settings, quotes: pd.DataFrame
) -> None:
    [result] = check(
        settings,
        {"silver_odds_quotes": quotes.drop(columns=["price"])},
        stage="test",
        health=RecordingHealth("quality"),
    )
    names = {f.expectation for f in result.failures}
    assert "expect_table_columns_to_match_set()" in names and not result.passed
    with pytest.raises(ValueError, match="no data-quality suite for silver_nope"):
        check(settings, {"silver_nope": quotes}, stage="test")


def test_health_samples_reach_the_topic(kafka_broker: Any, tmp_path: Path, quotes: pd.DataFrame) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    settings = Settings(state_dir=tmp_path, kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    check(settings, {"silver_odds_quotes": quotes.head(50)}, stage="schedule")
    consumer = Consumer({"bootstrap.servers": kafka_broker.bootstrap, "group.id": "quality-test"})
    consumer.assign([TopicPartition("pipeline.health", 0, OFFSET_BEGINNING)])  # no group join to wait for
    seen: dict[str, float] = {}
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while len(seen) < 3 and datetime.now(UTC) < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        sample = json.loads(message.value())
        labels = json.loads(sample["labels"] or "{}")
        if sample["component"] == "quality" and labels.get("stage") == "schedule":
            seen[sample["metric"]] = sample["value"]
    consumer.close()
    assert seen == {"rows_checked": 50.0, "expectations_failed": 0.0, "expectations_warned": 0.0}


def test_live_load_stops_a_bad_table_before_the_warehouse_and_the_schedule_checks_the_lake(
    settings: Settings, quotes: pd.DataFrame
) -> None:
    from batch.live_load import load_live
    from batch.quality import check_lake, gate
    from batch.warehouse import DuckDBTarget
    from iceberg import ensure_tables
    from lakehouse.catalog import load_catalog

    settings = settings.model_copy(update={"catalog": CatalogSettings(kind="local")})
    catalog = load_catalog(settings)
    ensure_tables(catalog)
    odds = catalog.load_table("silver.odds_quotes")
    good = quotes.head(200)
    odds.append(pa.Table.from_pandas(good, schema=odds.schema().as_arrow(), preserve_index=False))
    target = DuckDBTarget(settings.duckdb_path)
    try:
        first = load_live(settings, catalog, target=target, check=gate(settings, "test"))
        assert first.tables["silver_odds_quotes"].rows == 200
        bad = quotes.iloc[200:210].copy()
        bad.iloc[0, bad.columns.get_loc("price")] = 0.95
        odds.append(pa.Table.from_pandas(bad, schema=odds.schema().as_arrow(), preserve_index=False))
        with pytest.raises(
            QualityError, match=r"silver_odds_quotes: critical: expect_column_values_to_be_between\(price\)"
        ):
            load_live(settings, catalog, target=target, check=gate(settings, "test"))
        assert target.count("silver_odds_quotes") == 200  # the bad rows never reached the warehouse
        [(mark,)] = target.query(
            "SELECT snapshot_id FROM {schema}.lake_loads WHERE table_name = 'silver_odds_quotes'"
        )
        assert mark != odds.refresh().current_snapshot().snapshot_id  # the next run tries them again
    finally:
        target.close()
    results = {r.table: r for r in check_lake(settings, catalog, days=100 * 366)}
    assert results["silver_odds_quotes"].rows == 210 and not results["silver_odds_quotes"].passed
    assert results["gold_market_agg_1m"].rows == 0 and results["gold_market_agg_1m"].passed


def test_the_project_keeps_the_newest_results_and_renders_each_run_once(
    settings: Settings, quotes: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import batch.quality as quality

    monkeypatch.setattr(quality, "KEPT_RESULTS", 3)
    for stage in ("first", "second", "third", "fourth", "fifth"):
        check(
            settings, {"silver_odds_quotes": quotes.head(50)}, stage=stage, health=RecordingHealth("quality")
        )
    results = quality_root(settings) / "gx" / "uncommitted" / "validations"
    stored = sorted(p.relative_to(results).parts[1] for p in results.rglob("*.json"))
    assert [name.split("-")[0] for name in stored] == ["fifth", "fourth", "third"]  # newest three
    index = data_docs_index(settings).read_text()
    assert "fifth-" in index and "first-" not in index
