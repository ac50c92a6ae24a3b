"""Gold aggregates from the replayed real Odds API capture equal the shared odds math, computed directly."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from lakehouse import odds
from lakehouse.catalog import load_catalog
from lakehouse.config import CatalogSettings, Settings
from producers.app import replay
from streaming.runner import run_jobs

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_gold_tables_match_the_odds_math(
    spark, lake_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    # The session's lake (Spark has one session per process), fresh checkpoints and producer state,
    # and the query positioned at the end of the shared topic before the capture is replayed.
    settings = lake_settings.model_copy(
        update={
            "state_dir": tmp_path,
            "catalog": CatalogSettings(
                local_warehouse=lake_settings.warehouse_path, local_catalog_db=lake_settings.catalog_db_path
            ),
            "streaming": lake_settings.streaming.model_copy(update={"starting_offsets": "latest"}),
        }
    )
    capture = json.loads((shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").read_text())
    runner = threading.Thread(target=run_jobs, args=(settings, ["aggregates"]), daemon=True)
    runner.start()
    time.sleep(15)
    assert replay(settings, "odds-api")["sent"] == {"odds": 1281}
    catalog = load_catalog(settings)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if catalog.table_exists("gold.market_prices_live"):
            # The session lake is shared: other tests' simulated games (kick-offs now) are not ours.
            everything = catalog.load_table("gold.market_prices_live").scan().to_arrow().to_pylist()
            live = [r for r in everything if r["commence_time"].year == 2024]
            if len(live) >= 1281:
                break
        time.sleep(2)
    for query in spark.streams.active:
        query.stop()
    runner.join(60)

    # Direct computation from the capture (h2h, non-lay): books per game.
    books: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    names = {}
    for event in capture:
        names[(event["home_team"], event["away_team"])] = event["id"]
        for book in event["bookmakers"]:
            for market in book["markets"]:
                if market["key"] != "h2h":
                    continue
                for o in market["outcomes"]:
                    sel = (
                        "home"
                        if o["name"] == event["home_team"]
                        else "away"
                        if o["name"] == event["away_team"]
                        else "draw"
                    )
                    books[(event["home_team"], event["away_team"])][book["key"]][sel] = o["price"]

    assert len(live) == 1281
    by_game = defaultdict(list)
    for row in live:
        by_game[(row["home_team"], row["away_team"])].append(row)
    windows = (
        catalog.load_table("gold.market_agg_1m").scan(row_filter="market == 'h2h'").to_arrow().to_pylist()
    )
    latest_window = {}
    for w in windows:
        key = (w["game_id"], w["bookmaker"], w["selection"])
        if key not in latest_window or w["window_start"] > latest_window[key]["window_start"]:
            latest_window[key] = w
    arbs = catalog.load_table("gold.arbitrage_opportunities").scan().to_arrow().to_pylist()
    arb_games = {a["game_id"] for a in arbs if a["market"] == "h2h"}

    checked = 0
    for teams, per_book in books.items():
        game_id = next(r["game_id"] for r in by_game[teams])
        selections = ["home", "draw", "away"]
        complete = {b: p for b, p in per_book.items() if all(s in p for s in selections)}
        best = {s: max(p[s] for p in per_book.values() if s in p) for s in selections}
        shin = [odds.devig_shin([p[s] for s in selections]) for p in complete.values()]
        mult = [odds.devig_multiplicative([p[s] for s in selections]) for p in complete.values()]
        expected_arb = odds.arbitrage([best[s] for s in selections]).is_arbitrage
        assert (game_id in arb_games) == expected_arb, teams
        for i, s in enumerate(selections):
            rows = [w for (g, b, sel), w in latest_window.items() if g == game_id and sel == s]
            assert rows, (teams, s)
            for w in rows:
                assert w["best_price"] == pytest.approx(best[s])
                assert w["fair_prob_shin"] == pytest.approx(sum(f[i] for f in shin) / len(shin), abs=1e-9)
                assert w["fair_prob_multiplicative"] == pytest.approx(
                    sum(f[i] for f in mult) / len(mult), abs=1e-9
                )
                if w["bookmaker"] in complete:
                    own = [complete[w["bookmaker"]][x] for x in selections]
                    assert w["bookmaker_margin"] == pytest.approx(odds.margin(own))
        checked += 1
    assert checked == 30
