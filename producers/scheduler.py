"""Poll every source on its schedule, concurrently, until asked to stop.

Each job (a source + options + interval) runs in its own thread; jobs of one source share
its HTTP client, so they share its rate limit, circuit breaker and quota.  A job whose last
poll saw a live game polls at its `live_interval_s`.  Games seen on the games feed become
the context (venues, kick-offs) for weather and news.  Stopping is cooperative: the stop
event interrupts every wait, running polls finish, and the publisher flushes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lakehouse.health import HealthReporter
from lakehouse.log import get_logger
from producers.base import Connector, PollContext
from producers.http import CircuitBreaker, SourceClient, SourceHealth, TokenBucket
from producers.publisher import Publisher
from producers.runner import PollOutcome, poll_once

log = get_logger(__name__)

SCHEDULE_FILE = Path(__file__).with_name("schedule.yaml")
MAX_CRASH_BACKOFF_S = 300.0  # a crashing poll is retried after 2, 4, 8 ... s, at most this


@dataclass(frozen=True)
class Job:
    source: str
    name: str
    interval_s: float
    live_interval_s: float | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class SourceSpec:
    name: str
    rate_per_s: float
    burst: int
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class Schedule:
    sources: tuple[SourceSpec, ...]
    health_port: int = 0

    def only(self, names: set[str]) -> Schedule:
        unknown = names - {s.name for s in self.sources}
        if unknown:
            raise ValueError(
                f"unknown source(s) {sorted(unknown)}; the schedule has {[s.name for s in self.sources]}"
            )
        return Schedule(tuple(s for s in self.sources if s.name in names), self.health_port)


def load_schedule(path: Path = SCHEDULE_FILE) -> Schedule:
    doc = yaml.safe_load(path.read_text())
    sources = []
    for name, spec in (doc.get("sources") or {}).items():
        shared = spec.get("options") or {}
        jobs = tuple(
            Job(
                source=name,
                name=str(job["name"]),
                interval_s=float(job["interval_s"]),
                live_interval_s=float(job["live_interval_s"]) if job.get("live_interval_s") else None,
                options={**shared, **(job.get("options") or {})},
            )
            for job in spec["jobs"]
        )
        rate = spec.get("rate") or {}
        sources.append(SourceSpec(name, float(rate.get("per_second", 1.0)), int(rate.get("burst", 1)), jobs))
    return Schedule(tuple(sources), int(doc.get("health_port", 0)))


@dataclass
class GameBook:
    """Upcoming and live games seen on the games feed: the context weather and news need."""

    games: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, records: list[dict[str, Any]]) -> None:
        with self.lock:
            for r in records:
                if r.get("status") in ("final", "cancelled"):
                    self.games.pop(r["game_id"], None)
                elif "status" in r:
                    self.games[r["game_id"]] = r

    def context(self) -> PollContext:
        with self.lock:
            return PollContext(now=datetime.now(UTC), upcoming_games=tuple(self.games.values()))


ConnectorFactory = Callable[[str, Mapping[str, Any]], Connector]


class Scheduler:
    def __init__(
        self,
        schedule: Schedule,
        publisher: Publisher,
        make_connector: ConnectorFactory,
        health: SourceHealth | None = None,
        client_options: Mapping[str, Any] | None = None,
        reporter: Callable[[str], HealthReporter] | None = None,
    ) -> None:
        self.schedule = schedule
        self.publisher = publisher
        self.make_connector = make_connector
        self.health = health or SourceHealth()
        # One pipeline-health reporter per source (`producer:<source>`), when configured.
        self.reporters = {s.name: reporter(f"producer:{s.name}") for s in schedule.sources if reporter}
        self.games = GameBook()
        self.stop_event = threading.Event()
        self.outcomes: list[tuple[str, PollOutcome]] = []
        self.undelivered = 0  # set by whoever closes the publisher (records that never reached Kafka)
        self._outcomes_lock = threading.Lock()
        self._clients = {
            s.name: SourceClient(
                s.name,
                rate=TokenBucket(s.rate_per_s, s.burst),
                breaker=CircuitBreaker(),
                health=self.health,
                # Backoff and Retry-After waits end at once when the scheduler is stopped.
                **({"sleep": self.stop_event.wait} | dict(client_options or {})),
            )
            for s in schedule.sources
        }

    def _run_job(self, job: Job, once: bool) -> None:
        connector = self.make_connector(job.source, job.options)
        client = self._clients[job.source]
        last_poll = time.monotonic()
        crashes = 0
        while not self.stop_event.is_set():
            try:
                outcome = poll_once(connector, client, self.publisher, self.games.context())
            except Exception as exc:  # a bug or a refused record must not end the source's polling
                crashes += 1
                delay = min(MAX_CRASH_BACKOFF_S, 2.0**crashes)
                error = f"poll crashed: {type(exc).__name__}: {exc}"[:300]
                log.exception(
                    "poll crashed", source=job.source, job=job.name, crashes=crashes, retry_in_s=delay
                )
                self.health.record_poll(job.source, error)
                if once:
                    return
                self.stop_event.wait(delay)
                continue
            crashes = 0
            self.health.record_poll(job.source, None)
            now = time.monotonic()
            self._report(job, outcome, now - last_poll)
            last_poll = now
            if connector.feed == "games":
                self.games.update(outcome.game_records)
            with self._outcomes_lock:
                self.outcomes.append((f"{job.source}/{job.name}", outcome))
            if once:
                return
            wait = job.live_interval_s if (outcome.live_games and job.live_interval_s) else job.interval_s
            self.stop_event.wait(wait)

    def _report(self, job: Job, outcome: PollOutcome, elapsed_s: float) -> None:
        reporter = self.reporters.get(job.source)
        if reporter is None:
            return
        polled = outcome.requests > 0 and outcome.failed_requests == 0 and outcome.skipped_open_circuit == 0
        reporter.emit(
            {
                "records_sent": outcome.sent,
                "records_per_s": outcome.sent / elapsed_s if elapsed_s > 0 else None,
                "dead_letters": outcome.dead_lettered,
                "request_failures": outcome.failed_requests,
                "source_up": 1.0 if polled else 0.0,
                "rate_limit_remaining": self.health.get(job.source).requests_remaining,
            },
            labels={"job": job.name},
        )

    def run(self, duration_s: float | None = None, once: bool = False) -> list[tuple[str, PollOutcome]]:
        """Run every job until `stop()` (or `duration_s`, or one poll each with `once`)."""
        threads = [
            threading.Thread(
                target=self._run_job, args=(job, once), name=f"poll-{job.source}-{job.name}", daemon=True
            )
            for source in self.schedule.sources
            for job in source.jobs
        ]
        for thread in threads:
            thread.start()
        log.info("scheduler started", jobs=len(threads))
        if once:
            for thread in threads:
                thread.join(duration_s)
        else:
            self.stop_event.wait(duration_s)
        self.stop()
        for thread in threads:
            thread.join(timeout=60)
        remaining = self.publisher.flush(30)
        for reporter in self.reporters.values():
            reporter.flush()
        for client in self._clients.values():
            client.close()
        log.info("scheduler stopped", polls=len(self.outcomes), undelivered=remaining)
        return self.outcomes

    def stop(self) -> None:
        self.stop_event.set()
