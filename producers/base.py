"""The one small interface every source connector implements: fetch -> canonical events.

A connector says *what* to request (`requests`) and *how to read* a response (`parse`);
the shared HTTP client does rate limiting, retries and circuit breaking, and the publisher
validates, de-duplicates and sends to Kafka.  So connectors stay pure and testable on
captured bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

FEEDS = ("odds", "games", "weather", "news")


@dataclass(frozen=True)
class Reject:
    """Input that could not become a canonical event: goes to the feed's dead-letter topic."""

    reason: str
    raw: Any
    source: str = ""
    feed: str | None = None  # the feed whose dead-letter topic it belongs to, when not the connector's
    # What the source needs to read `raw` again (ESPN: the league path), kept with the dead letter
    # so `lakehouse dlq replay` can retry it once the cause (an alias, a mapping) is fixed.
    context: Mapping[str, Any] | None = None


@dataclass
class ParseResult:
    """Canonical records (not yet schema-validated) plus what was rejected, with reasons."""

    events: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.events.extend(other.events)
        self.rejects.extend(other.rejects)


@dataclass(frozen=True)
class HttpRequest:
    """What to fetch.  `secret_params` are added at send time and never logged."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    secret_params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)  # e.g. sport, league, game


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    fetched_at: datetime

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class PollContext:
    """What a poll knows: the time and the games the platform currently tracks."""

    now: datetime
    upcoming_games: Sequence[Mapping[str, Any]] = ()  # canonical game records (venue, teams, ids)


@runtime_checkable
class Connector(Protocol):
    """A source plug-in.  `name` is the envelope's `source`; `feed` picks the topic."""

    name: str
    feed: str

    def requests(self, ctx: PollContext) -> list[HttpRequest]: ...

    def parse(self, request: HttpRequest, response: HttpResponse) -> ParseResult: ...
