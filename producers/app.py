"""Entry points the CLI calls: run the schedule, one source, a replay, or the simulator."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.log import get_logger
from lakehouse.teams import TeamRegistry
from producers.base import Connector
from producers.changes import ChangeDetector
from producers.connectors import build_connector
from producers.http import start_health_server
from producers.publisher import Publisher
from producers.replay import (
    TimedRecord,
    espn_capture,
    espn_capture_league,
    football_data_timeline,
    is_espn_scoreboard,
    odds_api_capture,
    paced,
)
from producers.scheduler import ConnectorFactory, Schedule, Scheduler, load_schedule

log = get_logger(__name__)
PROGRESS = Console(stderr=True)
"""Progress bars go to stderr: stdout holds the command's answer (its text or ``--json``)."""

# Which secret setting each paid source reads its API key from.
API_KEYS = {
    "the_odds_api": "odds_api_key",
    "newsapi": "newsapi_key",
    "gnews": "gnews_key",
    "openweather": "openweather_key",
}


def connector_factory(settings: Settings) -> ConnectorFactory:
    """Build connectors from schedule options, adding API keys from the environment."""

    def make(name: str, options: Mapping[str, Any]) -> Connector:
        opts = dict(options)
        secret = getattr(settings, API_KEYS.get(name, ""), None)
        if secret is not None:
            opts["api_key"] = secret.get_secret_value()
        return build_connector(name, opts)

    return make


def make_publisher(
    settings: Settings, change_detection: bool = True, client_id: str = "lakehouse-producer"
) -> Publisher:
    changes = (
        ChangeDetector(settings.state_dir / "producers" / "last_quotes.sqlite") if change_detection else None
    )
    return Publisher(settings.kafka, client_id=client_id, changes=changes)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set `stop` so work ends cleanly and Kafka is flushed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_schedule(
    settings: Settings,
    schedule: Schedule | None = None,
    sources: Iterable[str] = (),
    duration_s: float | None = None,
    health_port: int | None = None,
) -> Scheduler:
    """Poll every scheduled source until SIGTERM/SIGINT (or `duration_s`)."""
    schedule = schedule or load_schedule()
    if sources:
        schedule = schedule.only(set(sources))
    publisher = make_publisher(settings)
    scheduler = Scheduler(
        schedule,
        publisher,
        connector_factory(settings),
        reporter=lambda component: HealthReporter(settings, component),
    )
    port = schedule.health_port if health_port is None else health_port
    server, bound = start_health_server(scheduler.health, port=port)
    log.info("health endpoint", url=f"http://127.0.0.1:{bound}/health")
    try:
        with stop_on_signals(scheduler.stop_event):
            scheduler.run(duration_s)
    finally:
        server.shutdown()
        scheduler.undelivered = publisher.close()
    return scheduler


def publish_timeline(
    publisher: Publisher, items: list[TimedRecord], speed: float | None, label: str, stop: threading.Event
) -> dict[str, int]:
    """Publish a replay timeline with a progress bar; returns per-feed counts sent."""
    sent: dict[str, int] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=PROGRESS) as progress, stop_on_signals(stop):
        task = progress.add_task(label, total=len(items))
        for item in paced(items, speed):
            if stop.is_set():
                break
            result = publisher.publish(item.feed, [item.record])
            sent[item.feed] = sent.get(item.feed, 0) + result.sent
            progress.advance(task)
    publisher.flush(60)
    return sent


def _espn_scoreboards(folder: Path, league: str | None) -> list[Path]:
    """The scoreboards in a captures folder; one whose league cannot be told is named and skipped."""
    out = []
    for path in sorted(folder.glob("*.json")):
        if not is_espn_scoreboard(path):
            continue
        if league is None and espn_capture_league(path) is None:
            log.warning("espn capture skipped: its body names no league", file=str(path),
                        hint="replay it with --file and --league <sport>/<league>")  # fmt: skip
            continue
        out.append(path)
    return out


def replay(
    settings: Settings,
    what: str,
    files: list[Path] | None = None,
    speed: float | None = None,
    change_detection: bool = True,
    league: str | None = None,
    registry: TeamRegistry | None = None,
) -> dict[str, Any]:
    """Replay real captures: `odds-api`, `espn` or `football-data`.

    `league` names the ESPN scoreboard (``hockey/nhl``) for captures whose body does not say.
    """
    data = settings.shared_data_dir
    publisher = make_publisher(settings, change_detection, client_id=f"replay-{what}")
    stop = threading.Event()
    items: list[TimedRecord] = []
    rejects = []
    try:
        if what == "odds-api":
            for path in files or sorted((data / "odds-api").glob("*.json")):
                parsed = odds_api_capture(path, registry)
                rejects += parsed.rejects
                items += [TimedRecord("odds", r, _at(r)) for r in parsed.events]
        elif what == "espn":
            for path in files or _espn_scoreboards(data / "espn", league):
                parsed = espn_capture(path, league, registry)
                rejects += parsed.rejects
                items += [TimedRecord("games", r, _at(r)) for r in parsed.events]
        elif what == "football-data":
            for path in files or sorted((data / "football-data").glob("*.csv")):
                timeline, bad = football_data_timeline(path)
                items += timeline
                rejects += bad
        else:
            raise ValueError(f"unknown replay {what!r}: odds-api, espn or football-data")
        items.sort(key=lambda t: t.at)
        default_feed = {"odds-api": "odds", "espn": "games"}.get(what, "games")
        for reject in rejects:
            # A bad price is an odds record; a bad row (date, team) is the match itself.
            publisher.dead_letter(reject.feed or default_feed, reject)
        sent = publish_timeline(publisher, items, speed, f"replay {what}", stop)
    finally:
        undelivered = publisher.close()
    return {
        "records": len(items),
        "sent": sent,
        "dead_lettered": len(rejects),
        "undelivered": undelivered,
        "stats": publisher.stats.as_dict(),
    }


def _at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["event_time"].replace("Z", "+00:00"))


def simulate(
    settings: Settings,
    seconds: float = 300.0,
    rate: float | None = None,
    seed: int = 42,
    realtime: bool = False,
    start: datetime | None = None,
) -> dict[str, Any]:
    """Run the live-market simulator into Kafka; returns counts and arbitrage windows seen.

    ``start`` is the simulated market's first instant (default: the simulator's fixed date);
    ``realtime`` restamps every record with the wall clock as it is sent."""
    import time as _time

    from producers.simulator import DEFAULT_START, Simulator, arbitrage_windows, paced, restamped

    first = start or DEFAULT_START
    sim = Simulator.for_rate(rate, seed=seed, start=first) if rate else Simulator(seed=seed, start=first)
    stream: Iterable[tuple[str, dict[str, Any]]] = sim.run(seconds)
    if realtime:
        stream = restamped(paced(stream, rate_per_s=rate or 200.0))
    # The simulator only emits a quote when its price moved: no change detection needed.
    publisher = make_publisher(settings, change_detection=False, client_id="simulator")
    health = HealthReporter(settings, "producer:simulator")
    stop = threading.Event()
    sent = 0
    last_report = (_time.monotonic(), 0)
    columns = (TextColumn("{task.description}"), TextColumn("{task.completed} records"), TimeElapsedColumn())

    def tap(records: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
        nonlocal sent, last_report
        for feed, record in records:
            if stop.is_set():
                return
            sent += publisher.publish(feed, [record]).sent
            progress.advance(task)
            now = _time.monotonic()
            if now - last_report[0] >= 5.0:  # a health sample every 5 s, like a polled source's
                since, before = last_report
                rate = (sent - before) / (now - since)
                health.emit({"records_sent": sent - before, "records_per_s": rate, "source_up": 1.0})
                last_report = (now, sent)
            yield feed, record

    started = _time.monotonic()
    try:
        with Progress(*columns, console=PROGRESS) as progress, stop_on_signals(stop):
            task = progress.add_task(f"simulate {seconds:.0f}s", total=None)
            windows, _ = arbitrage_windows(tap(stream))
        publisher.flush(60)
        health.flush()
    finally:
        undelivered = publisher.close()
    elapsed = _time.monotonic() - started
    return {
        "sent": sent,
        "undelivered": undelivered,
        "per_second": sent / elapsed if elapsed else 0.0,
        "arbitrages": len(windows),
    }
