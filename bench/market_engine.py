"""The speed layer's market engine alone, in one Python process: quotes/s and arbitrage verdicts.

    .venv/bin/python -m bench.market_engine [--quotes 200000] [--batch 500] [--runs 3] [--capture FILE]

The aggregates job runs ``lakehouse.market.engine`` per game inside Spark's Python workers; this
times the same engine without Spark (simulator quotes, grouped per game into batches of
``--batch`` quotes as a micro-batch would hand them over, the state pickled between batches as the
state store does), so a change to the engine is measured apart from Spark's own costs.  Prints the
median of ``--runs``, the outputs per aggregate and the arbitrages by the trader's verdict.
The simulator's books rarely cross, so a real capture (by default the shared EPL odds body, where
21 of 30 games hold an arbitrage: each of their quotes is judged by the trader's rules) is timed
too, each game as one batch.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.report import bench_command
from lakehouse.config import Settings
from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.market.engine import Output
from producers.simulator import Simulator


def _ticks(n: int) -> tuple[dict[str, list[Tick]], dict[str, GameMeta]]:
    games: dict[str, list[Tick]] = defaultdict(list)
    metas: dict[str, GameMeta] = {}
    sent = 0
    for feed, r in Simulator.for_rate(5000, seed=1).run(10_000):
        if feed != "odds":
            continue
        games[r["game_id"]].append(Tick.from_record(r))
        metas[r["game_id"]] = GameMeta.from_record(r)
        sent += 1
        if sent >= n:
            break
    return games, metas


def _capture_ticks(path: Path) -> tuple[dict[str, list[Tick]], dict[str, GameMeta]]:
    from producers.replay import odds_api_capture

    games: dict[str, list[Tick]] = defaultdict(list)
    metas: dict[str, GameMeta] = {}
    for r in odds_api_capture(path).events:
        games[r["game_id"]].append(Tick.from_record(r))
        metas[r["game_id"]] = GameMeta.from_record(r)
    return games, metas


def _run(games: dict[str, list[Tick]], metas: dict[str, GameMeta], batch: int) -> tuple[float, list[Output]]:
    settings = EngineSettings()
    outputs: list[Output] = []
    started = time.perf_counter()
    for game_id, ticks in games.items():
        state = GameState(game_id)
        applied: list[Tick] = []
        for i in range(0, len(ticks), batch):
            state = GameState.loads(state.dumps())
            history = functools.partial(_since, applied)
            out, new = state.apply(ticks[i : i + batch], metas[game_id], settings, history)
            applied.extend(new)
            outputs += out
    return time.perf_counter() - started, outputs


def _since(applied: list[Tick], since: int) -> list[Tick]:
    return [t for t in applied if t.t >= since]


@bench_command("market_engine")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--capture",
        type=Path,
        default=Settings().shared_data_dir / "odds-api" / "soccer_epl_odds_2024-03-27.json",
        help="a The Odds API odds body",
    )
    args = parser.parse_args()
    games, metas = _ticks(args.quotes)
    n = sum(len(t) for t in games.values())
    seconds = []
    outputs: list[Output] = []
    for _ in range(args.runs):
        elapsed, outputs = _run(games, metas, args.batch)
        seconds.append(elapsed)
    median = statistics.median(seconds)
    by_aggregate = Counter(o.aggregate for o in outputs)
    latest = {o.key: o.record for o in outputs if o.aggregate == "arbitrage_opportunities"}
    verdicts = Counter(r.get("assessment", "-") for r in latest.values() if not r["retracted"])
    print(f"{n:,} simulator quotes in {len(games)} games, batches of {args.batch} per game")
    print(f"engine: {n / median:,.0f} quotes/s (median of {args.runs}: {median:.2f} s)")
    print("outputs: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_aggregate.items())))
    by_verdict = ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
    print(f"arbitrages: {len(latest)}, by verdict: {by_verdict}")
    games, metas = _capture_ticks(args.capture)
    n = sum(len(t) for t in games.values())
    elapsed = min(_run(games, metas, n)[0] for _ in range(15))
    print(
        f"{args.capture.name}: {n:,} quotes in {len(games)} games: {n / elapsed:,.0f} quotes/s (best of 15)"
    )


if __name__ == "__main__":
    main()
