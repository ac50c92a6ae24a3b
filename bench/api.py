"""The API under load: REST p95 at 100 connections, WebSocket push latency to 1,000 clients, ingestion.

    .venv/bin/python -m bench.api [--sim-seconds 120] [--requests 20000] [--clients 1000] [--records 20000]

Own Kafka and Druid on free ports (`Stack.up`), loaded as `bench.serving` loads them (simulated
quotes through the aggregates job, supervisors ingesting the topics), then `lakehouse api serve`
in its own process, as a user runs it:

- REST: `hey` (Go, installed into .cache/tools/bin on first use) sends `--requests` GETs over 100
  connections to the live board of the busiest game and to the arbitrage list; its p50/p95.  The
  API keeps an answer `live_cache_ms` (1 s), so this is many clients polling a hot game; what a
  miss costs (Druid query and the board's math, one at a time) is measured beside it.
- WebSocket: `--clients` connections subscribe to one game; one record a quarter-second is
  produced to `agg.market_prices_live` for that game; latency is from Kafka's acknowledgement of
  the record to each client's receipt of it (p50/p95 over every client and record).
- Ingestion: `--records` real quotes (The Odds API capture, event ids made unique) in POSTs of
  500 to `/v1/ingest/odds`, each answered after Kafka acknowledged it: records/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.druid import _pct
from bench.report import bench_command
from bench.serving import _load, _settings, _topic_rows, up_with_supervisors
from infra.stack import Stack
from infra.stack.api import ApiServer
from infra.stack.process import free_port
from lakehouse.config import PROJECT_ROOT, Settings
from lakehouse.log import configure_logging
from producers.replay import odds_api_capture
from serving.api.keys import new_key
from serving.api.live import LiveStore
from serving.query import DruidQuery

HEY = PROJECT_ROOT / ".cache" / "tools" / "bin" / "hey"
CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"
TARGET_REST_P95_S = 0.100
TARGET_PUSH_P95_S = 0.500


def _hey() -> Path:
    if not HEY.exists():
        if not shutil.which("go"):
            raise SystemExit(
                "bench.api needs Go to build `hey` (the load tool): install Go, or put hey at " + str(HEY)
            )
        env = {
            **os.environ,
            "GOBIN": str(HEY.parent),
            "GOPATH": str(PROJECT_ROOT / ".cache" / "tools" / "go"),
        }
        subprocess.run(["go", "install", "github.com/rakyll/hey@v0.1.4"], env=env, check=True)
    return HEY


def _rest(url: str, key: str, requests: int) -> dict[str, float]:
    out = subprocess.run(
        [str(_hey()), "-n", str(requests), "-c", "100", "-H", f"X-API-Key: {key}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for q in ("50", "95", "99"):
        figures[f"p{q}"] = float(re.search(rf"{q}% in ([\d.]+) secs", out).group(1))  # type: ignore[union-attr]
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    figures["ok"] = float(codes.get("200", 0))
    return figures


async def _push(ws_url: str, key: str, game: str, clients: int, records: int, bootstrap: str) -> list[float]:
    import websockets
    from confluent_kafka import Producer

    arrivals: dict[float, list[float]] = {}
    connected = 0
    ready = asyncio.Event()

    async def client() -> None:
        nonlocal connected
        async with websockets.connect(ws_url, max_queue=None, open_timeout=60) as ws:
            await ws.send(json.dumps({"key": key, "subscribe": [f"game:{game}"]}))
            await ws.recv()  # the snapshot
            connected += 1
            if connected == clients:
                ready.set()
            while True:
                message = json.loads(await ws.recv())
                now = time.monotonic()
                for u in message["updates"]:
                    arrivals.setdefault(u["record"]["price"], []).append(now)

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.wait_for(ready.wait(), 300)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    template = {
        "game_id": game,
        "sport": "soccer_epl",
        "market": "h2h",
        "bookmaker": "bench",
        "selection": "home",
    }
    acked: dict[float, float] = {}
    for i in range(records):
        price = round(2.0 + i / 100, 2)
        record = {
            **template,
            "price": price,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        }

        def done(err: object, _msg: object, price: float = price) -> None:
            acked[price] = time.monotonic()

        producer.produce(
            "agg.market_prices_live", key=game, value=json.dumps(record).encode(), on_delivery=done
        )
        producer.flush(10)
        await asyncio.sleep(0.25)
    await asyncio.sleep(3)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [at - acked[p] for p, ats in arrivals.items() if p in acked for at in ats]


def _miss(live: LiveStore, game: str, times: int = 30) -> dict[str, float]:
    """What the API pays when no answer is kept: the board and arbitrage reads, one at a time."""
    out = {}
    for name, read in (
        ("board", lambda: live.board(game)),
        ("arbitrage", lambda: live.arbitrage(datetime.now(UTC) - timedelta(days=1))),
    ):
        seconds = []
        for _ in range(times):
            started = time.perf_counter()
            read()
            seconds.append(time.perf_counter() - started)
        out[name] = _pct(seconds, 0.95)
    return out


def _ingest(base: str, key: str, shared: Path, records: int) -> tuple[int, float]:
    quotes = odds_api_capture(shared / CAPTURE).events
    sent, started = 0, time.perf_counter()
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as http:
        while sent < records:
            batch = [{**q, "event_id": f"{q['event_id']}-b{sent + i}"} for i, q in enumerate(quotes[:500])]
            response = http.post("/v1/ingest/odds", json=batch)
            response.raise_for_status()
            sent += response.json()["accepted"]
    return sent, time.perf_counter() - started


@bench_command("api")
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sim-seconds", type=float, default=120, help="simulated market seconds loaded into Druid"
    )
    parser.add_argument("--requests", type=int, default=20000, help="GETs per REST endpoint (100 at a time)")
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients")
    parser.add_argument("--records", type=int, default=20000, help="quotes ingested through the API")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        settings = _settings(Path(tmp), 4000)
        key, entry = new_key("bench", ("read", "ingest"))
        port = free_port()
        stack = Stack(settings)
        api = ApiServer(home=Path(tmp) / "api", port=port)
        env_before = dict(os.environ)
        try:
            up_with_supervisors(stack, settings)
            quotes, _start, game = _load(settings, args.sim_seconds)
            with DruidQuery(settings.druid.broker_url) as druid:
                rows = _topic_rows(druid, settings)
            os.environ.update(
                {
                    "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
                    "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap,
                    "LAKEHOUSE_DRUID__URL": settings.druid.broker_url,
                    "LAKEHOUSE_API__KEYS": entry,
                    "LAKEHOUSE_API__RATE_PER_MINUTE": "1000000",
                    "LAKEHOUSE_API__INGEST_RATE_PER_MINUTE": "1000000",
                    "LAKEHOUSE_LOG_LEVEL": "WARNING",
                }
            )
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a socket per client, both ends
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.clients + 1024)), hard))
            with DruidQuery(settings.druid.broker_url) as druid:
                miss = _miss(LiveStore(druid), game)
            api.start()
            base = api.endpoint
            rest = {
                "board": _rest(f"{base}/v1/games/{game}/board", key, args.requests),
                "arbitrage": _rest(f"{base}/v1/arbitrage?limit=100", key, args.requests),
            }
            push = asyncio.run(
                _push(
                    f"ws://127.0.0.1:{port}/v1/stream", key, game, args.clients, 20, settings.kafka.bootstrap
                )
            )
            ingested, ingest_s = _ingest(base, key, Settings().shared_data_dir, args.records)
        finally:
            api.stop()
            os.environ.clear()
            os.environ.update(env_before)
            stack.down()

    print(
        f"Druid loaded with {quotes:,} simulator quotes: " + ", ".join(f"{n} {c:,}" for n, c in rows.items())
    )
    print("\nREST, 100 concurrent connections (hey), after the load:")
    print(
        "  (an answer is kept 1 s; a miss, read alone from Druid: "
        + ", ".join(f"{n} p95 {v * 1000:.0f} ms" for n, v in miss.items())
        + ")"
    )
    for name, f in rest.items():
        verdict = "met" if f["p95"] <= TARGET_REST_P95_S else "MISSED"
        print(
            f"  {name:10} {int(f['ok']):5} x 200   {f['rps']:7.0f} req/s   p50 {f['p50'] * 1000:6.1f} ms   "
            f"p95 {f['p95'] * 1000:6.1f} ms (target {TARGET_REST_P95_S * 1000:.0f} ms: {verdict})   "
            f"p99 {f['p99'] * 1000:6.1f} ms"
        )
    verdict = "met" if push and _pct(push, 0.95) <= TARGET_PUSH_P95_S else "MISSED"
    expected = args.clients * 20
    print(
        f"\nWebSocket: {args.clients} clients, 20 records: {len(push):,} deliveries of {expected:,}; "
        f"Kafka ack -> client p50 {statistics.median(push) * 1000:.0f} ms, "
        f"p95 {_pct(push, 0.95) * 1000:.0f} ms (target {TARGET_PUSH_P95_S * 1000:.0f} ms: {verdict})"
    )
    print(
        f"\ningestion: {ingested:,} quotes in POSTs of 500, acknowledged by Kafka, in {ingest_s:.1f} s: "
        f"{ingested / ingest_s:,.0f} records/s (the producer alone: `python -m bench.producer_throughput`)"
    )


if __name__ == "__main__":
    main()
