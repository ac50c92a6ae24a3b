"""The same quotes give the same aggregates, whatever the trigger size and the arrival order.

Each run has its own broker, lake and checkpoints; every run's gold tables and latest-per-key
topic contents must equal the rows recomputed from the input by an independent, plain
implementation of the same definitions (``tests/support/market_oracle.py``). The same capture
and simulated market all in one batch, held to the same oracle, is
``test_aggregates_capture.py``'s run (which goes on to the warehouse).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from producers.replay import odds_api_capture
from producers.simulator import Simulator
from streaming.aggregates import engine_settings
from streaming.runner import run_jobs
from tests.streaming.harness import isolated_run, ticks_by_game
from tests.support.market_oracle import expected_rows

pytestmark = [pytest.mark.integration, pytest.mark.spark]

CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"


def _in_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["event_time"], r["event_id"]))


def _shuffled(records: list[dict[str, Any]], seed: int, lateness_s: float) -> list[dict[str, Any]]:
    """An arrival order in which no quote comes more than 90% of the lateness behind the newest."""
    from lakehouse.market import to_micros

    rng = random.Random(seed)
    return sorted(records, key=lambda r: to_micros(r["event_time"]) / 1e6 + rng.uniform(0, 0.9 * lateness_s))


def _run(
    spark: Any, broker: Any, tmp_path: Path, records: list[dict[str, Any]], max_offsets: int
) -> tuple[dict, dict, dict]:
    with isolated_run(spark, broker, tmp_path, aggregates_max_offsets_per_trigger=max_offsets) as run:
        run.produce(records)
        run_jobs(run.settings, ["aggregates", "gold"], available_now=True)
        expected: dict = {}
        for game_id, (meta, ticks) in ticks_by_game(records).items():
            expected |= expected_rows(game_id, meta, ticks, engine_settings(run.settings))
        return run.gold_rows(), run.topic_rows(), expected


@pytest.mark.parametrize(
    ("name", "max_offsets", "shuffle"),
    [("one game, 1 per trigger", 1, False), ("one game, 7 per trigger, shuffled", 7, True)],
)
def test_a_game_quote_by_quote(
    spark, runs_broker, shared_data: Path, tmp_path: Path, name: str, max_offsets: int, shuffle: bool
) -> None:
    capture = odds_api_capture(shared_data / CAPTURE).events
    game = capture[0]["game_id"]
    records = [r for r in capture if r["game_id"] == game and r["market"] == "h2h"]
    if max_offsets == 1:  # a batch per quote: a slice of 16 quotes (5 books, a few moves)
        records = _in_order(records)[:16]
    ordered = _shuffled(records, 3, 120) if shuffle else _in_order(records)
    gold, topics, expected = _run(spark, runs_broker, tmp_path, ordered, max_offsets)
    assert gold == topics == expected, name


def test_the_whole_capture_in_batches_of_100_shuffled(
    spark, runs_broker, shared_data: Path, tmp_path: Path
) -> None:
    records = odds_api_capture(shared_data / CAPTURE).events
    gold, topics, expected = _run(spark, runs_broker, tmp_path, _shuffled(records, 11, 120), 100)
    assert len(gold) == len(expected) > 1281
    assert gold == topics == expected


def test_a_simulated_market_in_batches_of_1500(spark, runs_broker, tmp_path: Path) -> None:
    """A live market with moving prices, arbitrages and steam."""
    sim = Simulator(seed=7, games_per_sport=2, game_speed=30.0, first_kickoff_s=20.0)
    records = [r for feed, r in sim.run(150) if feed == "odds"]
    gold, topics, expected = _run(spark, runs_broker, tmp_path, records, 1500)
    kinds = {agg for agg, _ in expected}
    assert {"arbitrage_opportunities", "market_agg_1m", "market_prices_live"} <= kinds
    assert gold == topics == expected
