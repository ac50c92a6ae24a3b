"""The API's security and partner-feed ingestion, against the session's real Kafka broker.

Records are real: The Odds API capture as canonical odds quotes.  What the API accepted is read
back from `odds.quotes`, what it refused from `odds.quotes.dlq`, and compared with what was sent.
The live and history endpoints are tested where their data is: `test_end_to_end.py` (Druid)
and `tests/dbt/test_api_history.py` (the warehouse's marts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cli.api import KafkaIngestSink, api_group
from infra.stack.kafka import KafkaBroker
from lakehouse.config import ApiSettings, KafkaSettings, Settings
from lakehouse.schemas import validate
from producers.replay import odds_api_capture
from serving.api.app import Parts, create_app
from serving.api.history import DuckDBHistory
from serving.api.keys import KeyRing, new_key
from serving.api.live import LiveStore
from serving.query import DruidQuery

pytestmark = pytest.mark.integration

CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"
READ_KEY, READ_ENTRY = new_key("analyst", ("read",))
INGEST_KEY, INGEST_ENTRY = new_key("partner", ("ingest",))


@pytest.fixture(scope="module")
def client(kafka_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        state_dir=tmp_path_factory.mktemp("api"),
        kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap),
        api=ApiSettings(
            keys=f"{READ_ENTRY},{INGEST_ENTRY}", max_body_bytes=200_000, ingest_rate_per_minute=1000
        ),
    )
    parts = Parts(
        settings.api,
        KeyRing.from_settings(settings.api),
        LiveStore(DruidQuery("http://127.0.0.1:9")),  # not reached by these tests
        DuckDBHistory(settings.duckdb_path),
        KafkaIngestSink(settings),
    )
    with TestClient(create_app(parts)) as c:
        yield c


@pytest.fixture(scope="module")
def quotes() -> list[dict[str, Any]]:
    return odds_api_capture(Settings().shared_data_dir / CAPTURE).events[:40]


def _ingest(
    client: TestClient, body: bytes, content_type: str = "application/json", key: str = INGEST_KEY
) -> Any:
    return client.post(
        "/v1/ingest/odds", content=body, headers={"X-API-Key": key, "Content-Type": content_type}
    )


def _xml(records: list[dict[str, Any]]) -> bytes:
    """The documented XML form, written independently of the API's parser."""

    def value(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        return escape(str(v))

    rows = []
    for r in records:
        fields = "".join(
            f'<{k} nil="true"/>' if v is None else f"<{k}>{value(v)}</{k}>" for k, v in r.items()
        )
        rows.append(f"<record>{fields}</record>")
    return f"<?xml version='1.0'?><records>{''.join(rows)}</records>".encode()


def _new_records(topic_reader: Any, topic: str, start: dict) -> list[dict[str, Any]]:
    return [m["value"] for m in topic_reader.read(topic, start)]


def test_json_records_are_validated_published_and_acknowledged(client, quotes, topic_reader) -> None:
    start = topic_reader.end_offsets("odds.quotes")
    response = _ingest(client, json.dumps(quotes).encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == len(quotes) and body["rejected"] == 0
    assert [r["event_id"] for r in body["results"]] == [q["event_id"] for q in quotes]
    published = _new_records(topic_reader, "odds.quotes", start)
    assert sorted(r["event_id"] for r in published) == sorted(q["event_id"] for q in quotes)
    assert {r["price"] for r in published} == {q["price"] for q in quotes}


def test_xml_records_publish_the_same_records_as_json(client, quotes, topic_reader) -> None:
    start = topic_reader.end_offsets("odds.quotes")
    response = _ingest(client, _xml(quotes[:10]), "application/xml")
    assert response.status_code == 200, response.text
    published = _new_records(topic_reader, "odds.quotes", start)
    by_id = {r["event_id"]: r for r in published}
    assert len(by_id) == 10
    for q in quotes[:10]:
        assert by_id[q["event_id"]] == validate("odds", q)  # every field typed: numbers, booleans, nulls


def test_invalid_records_get_a_reason_and_a_dead_letter(client, quotes, topic_reader) -> None:
    start = topic_reader.end_offsets("odds.quotes")
    dlq_start = topic_reader.end_offsets("odds.quotes.dlq")
    bad_price = {**quotes[1], "price": 0.5, "event_id": "api-bad-price"}
    no_game = {k: v for k, v in quotes[2].items() if k != "game_id"}
    response = _ingest(client, json.dumps([quotes[0], bad_price, no_game, "text"]).encode())
    assert response.status_code == 422
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "rejected"]
    assert "price" in results[1]["reason"] and "game_id" in results[2]["reason"]
    assert [r["event_id"] for r in _new_records(topic_reader, "odds.quotes", start)] == [
        quotes[0]["event_id"]
    ]
    dead = _new_records(topic_reader, "odds.quotes.dlq", dlq_start)
    assert len(dead) == 3
    assert {d["source"] for d in dead} == {"api:partner"}
    assert dead[0]["raw"]["event_id"] == "api-bad-price" and "price" in dead[0]["reason"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<records><record><event_id>&lol9;</event_id></record></records>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<records><record><event_id>&secret;</event_id></record></records>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_unsafe_xml_is_refused_and_dead_lettered(client, payload: bytes, topic_reader) -> None:
    start = topic_reader.end_offsets("odds.quotes")
    dlq_start = topic_reader.end_offsets("odds.quotes.dlq")
    response = _ingest(client, payload, "application/xml")
    assert response.status_code == 400
    assert "no DTD or entity" in response.json()["detail"]
    assert "root:" not in response.text
    assert _new_records(topic_reader, "odds.quotes", start) == []
    (dead,) = _new_records(topic_reader, "odds.quotes.dlq", dlq_start)
    assert "DTD" in dead["reason"] and "root:" not in json.dumps(dead)


def test_keys_scopes_and_limits(client, quotes) -> None:
    assert client.get("/v1/arbitrage").status_code == 401
    assert client.get("/v1/arbitrage", headers={"X-API-Key": "not-a-key"}).status_code == 401
    assert _ingest(client, b"[]", key=READ_KEY).status_code == 403  # read scope only
    assert client.get("/v1/games", headers={"X-API-Key": INGEST_KEY}).status_code == 403
    # A page size over the maximum is refused before any engine is asked.
    assert client.get("/v1/arbitrage?limit=100000", headers={"X-API-Key": READ_KEY}).status_code == 422
    assert client.get("/v1/history/nope", headers={"X-API-Key": READ_KEY}).status_code == 404
    assert _ingest(client, b"[" + b" " * 200_001 + b"]").status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the body passes the cap
        for _ in range(30):
            yield b" " * 10_000

    chunked = client.post(
        "/v1/ingest/odds",
        content=chunks(),
        headers={"X-API-Key": INGEST_KEY, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "/v1/ingest/{feed}" in client.get("/openapi.json").json()["paths"]


def test_rate_limit_answers_429_with_retry_after(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path,
        kafka=KafkaSettings(bootstrap_servers=kafka_broker.bootstrap),
        api=ApiSettings(keys=READ_ENTRY, rate_per_minute=3),
    )
    parts = Parts(
        settings.api,
        KeyRing.from_settings(settings.api),
        LiveStore(DruidQuery("http://127.0.0.1:9")),
        DuckDBHistory(tmp_path / "none.duckdb"),
        KafkaIngestSink(settings),
    )
    with TestClient(create_app(parts), raise_server_exceptions=False) as c:
        codes = [c.get("/v1/history/nope", headers={"X-API-Key": READ_KEY}).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        limited = c.get("/v1/history/nope", headers={"X-API-Key": READ_KEY})
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 61


def test_api_key_command_prints_a_key_and_only_its_hash(tmp_path: Path) -> None:
    result = CliRunner().invoke(api_group, ["key", "--name", "desk", "--scopes", "read,ingest"])
    assert result.exit_code == 0, result.output
    secret = result.output.split("it is not stored): ")[1].split()[0]
    entry = result.output.split("keys file: ")[1].split()[0]
    assert secret not in entry
    ring = KeyRing.from_settings(ApiSettings(keys=entry))
    found = ring.find(secret)
    assert found is not None and found.name == "desk" and found.scopes == {"read", "ingest"}
    bad = CliRunner().invoke(api_group, ["key", "--name", "desk", "--scopes", "admin"])
    assert bad.exit_code == 2 and "scopes must be among" in bad.output and "Traceback" not in bad.output


def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    settings = ApiSettings(keys=READ_ENTRY, cors_origins=["https://board.example.com"])
    parts = Parts(
        settings,
        KeyRing.from_settings(settings),
        LiveStore(DruidQuery("http://127.0.0.1:9")),
        DuckDBHistory(tmp_path / "none.duckdb"),
        KafkaIngestSink(Settings(kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"))),
    )
    with TestClient(create_app(parts)) as c:
        preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key"}
        ok = c.options("/v1/arbitrage", headers={"Origin": "https://board.example.com", **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://board.example.com"
        other = c.options("/v1/arbitrage", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
