"""The replayed real Odds API capture and a simulator run, through the whole stream: gold equals the
odds math on the input and its batch recomputation, and the warehouse's live marts hold silver."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from batch.reconcile import mismatch_summary, reconcile
from lakehouse import odds
from lakehouse.catalog import load_catalog
from producers.replay import odds_api_capture
from producers.simulator import Simulator
from streaming.aggregates import engine_settings
from streaming.runner import run_jobs
from tests.streaming.harness import isolated_run, ticks_by_game
from tests.support.live_marts import assert_live_marts_hold_silver
from tests.support.market_oracle import expected_rows

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_gold_and_the_topics_equal_the_odds_math(
    spark, runs_broker, shared_data: Path, tmp_path: Path, fakesnow_server: dict
) -> None:
    capture_path = shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json"
    capture = odds_api_capture(capture_path).events
    # A simulated market after it (three sports, moving prices, arbitrages and steam, kick-off
    # passed), all in one batch: the all-at-once case of the differential test in
    # test_aggregates_determinism.py, and with the capture the two inputs of the warehouse check.
    simulator = Simulator(seed=7, games_per_sport=2, game_speed=30.0, first_kickoff_s=20.0)
    simulated = [r for feed, r in simulator.run(150) if feed == "odds"]
    records = sorted(capture + simulated, key=lambda r: (r["event_time"], r["event_id"]))
    with isolated_run(spark, runs_broker, tmp_path) as run:
        assert run.produce(records) == 1281 + len(simulated)
        run_jobs(run.settings, ["bronze", "silver", "aggregates", "gold"], available_now=True)
        topics, gold = run.topic_rows(), run.gold_rows()
        catalog = load_catalog(run.settings)
        silver = catalog.load_table("silver.odds_quotes").scan().to_arrow()
        # The Lambda check on both inputs: gold equals the batch recomputation from
        # silver (the run drained its input: every window is final), then the warehouse's live
        # marts hold exactly silver's quotes, on DuckDB and on the emulator.
        checked = reconcile(run.settings, catalog, days=3650, closed_before=datetime.now(UTC))
        assert silver.num_rows == checked.quotes == len(records) and checked.compared["market_agg_1m"] > 100
        assert checked.mismatches == [], mismatch_summary(checked)
        assert_live_marts_hold_silver(run.settings, catalog, silver, tmp_path, emulator=fakesnow_server)

    expected = {}
    for game_id, (meta, ticks) in ticks_by_game(records).items():
        expected |= expected_rows(game_id, meta, ticks, engine_settings(run.settings))
    assert {"arbitrage_opportunities", "market_agg_1m", "market_prices_live"} <= {a for a, _ in expected}
    assert gold == topics == expected
    captured_games = {r["game_id"] for r in capture}
    live = {k: r for k, r in gold.items() if k[0] == "market_prices_live" and r["game_id"] in captured_games}
    assert len(live) == 1281  # one row per (game, market, bookmaker, selection) of the capture

    # Independently of the engine's code: each game's h2h board straight from the file.
    books: dict[tuple[str, str], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for event in json.loads(capture_path.read_text()):
        for book in event["bookmakers"]:
            for market in book["markets"]:
                if market["key"] != "h2h":
                    continue
                for o in market["outcomes"]:
                    sel = {event["home_team"]: "home", event["away_team"]: "away"}.get(o["name"], "draw")
                    books[(event["home_team"], event["away_team"])][book["key"]][sel] = o["price"]
    latest_window: dict[str, dict[str, dict]] = defaultdict(dict)
    for (agg, _), row in gold.items():
        if agg == "market_agg_1m" and row["market"] == "h2h":
            held = latest_window[row["game_id"]].get(row["selection"])
            if held is None or row["window_start"] > held["window_start"]:
                latest_window[row["game_id"]][row["selection"]] = row
    games = {(r["home_team"], r["away_team"]): r["game_id"] for r in capture}
    for teams, by_book in books.items():
        complete = [p for p in by_book.values() if set(p) == {"home", "draw", "away"}]
        order = ("home", "draw", "away")
        shin = [
            sum(col) / len(complete)
            for col in zip(*(odds.devig_shin([p[s] for s in order]) for p in complete), strict=True)
        ]
        last = latest_window[games[teams]]
        for i, selection in enumerate(order):
            # The last window's board is the whole capture: every book's final h2h price.
            assert last[selection]["best_price"] == max(
                p[selection] for p in by_book.values() if selection in p
            )
            assert last[selection]["fair_prob_shin"] == pytest.approx(shin[i], abs=1e-12)
