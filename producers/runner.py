"""One poll of one connector: fetch each request, parse, publish; never crash the producer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.log import get_logger
from producers.base import Connector, PollContext
from producers.connectors._common import body_reject
from producers.http import SourceClient, SourceError, SourceUnavailable
from producers.publisher import Publisher

log = get_logger(__name__)


@dataclass
class PollOutcome:
    requests: int = 0
    failed_requests: int = 0
    skipped_open_circuit: int = 0
    sent: int = 0
    unchanged: int = 0
    dead_lettered: int = 0
    live_games: int = 0
    game_records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def poll_once(
    connector: Connector, client: SourceClient, publisher: Publisher, ctx: PollContext
) -> PollOutcome:
    """Fetch and publish everything the connector asks for; errors are counted, not raised."""
    outcome = PollOutcome()
    for request in connector.requests(ctx):
        outcome.requests += 1
        try:
            response = client.fetch(request)
        except SourceUnavailable as exc:
            outcome.skipped_open_circuit += 1
            outcome.errors.append(str(exc))
            continue
        except SourceError as exc:
            outcome.failed_requests += 1
            outcome.errors.append(str(exc))
            log.warning("fetch failed", source=connector.name, error=str(exc))
            continue
        try:
            parsed = connector.parse(request, response)
        except Exception as exc:  # a parser bug must not stop the producer; the body is kept
            log.exception("parser crashed", source=connector.name)
            # Capped and with the request's secrets blanked, as every whole-body reject.
            parsed = body_reject(
                f"parser error: {type(exc).__name__}: {exc}", response, connector.name, request
            )
        result = publisher.publish(connector.feed, parsed.events, parsed.rejects)
        outcome.sent += result.sent
        outcome.unchanged += result.unchanged
        outcome.dead_lettered += result.dead_lettered
        if connector.feed == "games":
            outcome.game_records.extend(parsed.events)
            outcome.live_games += sum(1 for e in parsed.events if e.get("status") == "live")
    return outcome
