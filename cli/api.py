"""`lakehouse api`: serve the query and ingestion API, and mint API keys.

The wiring of ``serving.api`` to the engines lives here (the CLI may import every layer): Druid
through ``serving.query``, the warehouse, and Kafka through the producers' idempotent publisher.
"""

from __future__ import annotations

from typing import Any

import click

from lakehouse.config import Settings, get_settings

__all__ = ["KafkaIngestSink", "api_group", "build_app"]


class KafkaIngestSink:
    """``serving.api.app.IngestSink`` on ``producers.publisher.Publisher``."""

    def __init__(self, settings: Settings) -> None:
        from producers.publisher import Publisher

        self.publisher = Publisher(settings.kafka, client_id="lakehouse-api")

    def publish(self, feed: str, records: list[dict[str, Any]]) -> None:
        self.publisher.publish(feed, records)

    def dead_letter(self, feed: str, reason: str, raw: Any, source: str) -> None:
        from producers.base import Reject

        self.publisher.dead_letter(feed, Reject(reason, raw, source))

    def confirm(self, timeout_s: float) -> int:
        return int(self.publisher.flush(timeout_s))


def build_app(settings: Settings) -> Any:
    """The API on the configured Druid, warehouse and Kafka."""
    from serving.api.app import Parts, create_app
    from serving.api.history import DuckDBHistory, HistoryStore, SnowflakeHistory
    from serving.api.keys import KeyRing
    from serving.api.live import LiveStore
    from serving.api.push import Fanout
    from serving.api.summary import ChatSummariser
    from serving.overlord import Overlord
    from serving.query import DruidQuery

    keys = KeyRing.from_settings(settings.api)
    if not len(keys):
        raise click.UsageError("no API keys: create one with `lakehouse api key` and set LAKEHOUSE_API__KEYS")
    summariser = (
        ChatSummariser(settings.api.summary_url, settings.api.summary_model, settings.summary_api_key)
        if settings.api.summary_url
        else None
    )
    history: HistoryStore
    if settings.warehouse.kind == "snowflake":
        try:
            history = SnowflakeHistory(settings.snowflake_connection(60.0, "read"))
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    else:
        history = DuckDBHistory(settings.duckdb_path)
    druid = DruidQuery(settings.druid.broker_url, timeout_s=settings.api.live_timeout_s)
    parts = Parts(
        settings.api,
        keys,
        LiveStore(druid),
        history,
        KafkaIngestSink(settings),
        Fanout(settings.kafka),
        summariser,
        Overlord(settings.druid.overlord_url, timeout=settings.api.live_timeout_s),
    )
    return create_app(parts)


@click.group("api")
def api_group() -> None:
    """The query and ingestion API (REST, OpenAPI docs at /docs)."""


@api_group.command("serve")
@click.option("--host", default=None, help="Default: LAKEHOUSE_API__HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: LAKEHOUSE_API__PORT (8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the API until interrupted."""
    import uvicorn

    settings = get_settings()
    app = build_app(settings)
    host, port = host or settings.api.host, port or settings.api.port
    click.echo(f"API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@api_group.command("key")
@click.option("--name", required=True, help="Who the key is for (shown in logs and rate limits).")
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read, ingest.")
def key(name: str, scopes: str) -> None:
    """Print a new API key (shown once) and the hashed entry to add to LAKEHOUSE_API__KEYS."""
    from serving.api.keys import new_key

    try:
        secret, entry = new_key(name, tuple(s.strip() for s in scopes.split(",") if s.strip()))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"key (give it to {name}; it is not stored): {secret}")
    click.echo(f"entry for LAKEHOUSE_API__KEYS or the keys file: {entry}")
