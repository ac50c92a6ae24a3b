"""Publishing to the real broker: keys, headers, dead letters, change detection."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from infra.stack.kafka import KafkaBroker
from lakehouse.config import KafkaSettings
from producers.base import Reject
from producers.changes import ChangeDetector
from producers.publisher import Publisher

pytestmark = pytest.mark.integration
TS = "2024-03-30T12:30:00.000000Z"


def quote(run: str, selection: str, price: float, **extra: object) -> dict:
    game = f"2024-03-30:{run}-home:{run}-away"
    return {
        "event_id": f"{run}-{selection}-{price}",
        "source": "the_odds_api",
        "sport": "soccer_epl",
        "event_time": TS,
        "ingested_at": TS,
        "schema_version": 1,
        "game_id": game,
        "source_game_id": run,
        "bookmaker": "pinnacle",
        "bookmaker_title": "Pinnacle",
        "market": "h2h",
        "selection": selection,
        "selection_name": selection.title(),
        "price": price,
        "point": None,
        "is_exchange": False,
        "last_update": TS,
        "previous_price": None,
        "home_team": "Home",
        "away_team": "Away",
        "commence_time": TS,
        **extra,
    }


def test_valid_records_are_keyed_by_game_and_invalid_ones_dead_lettered(
    kafka_broker: KafkaBroker, topic_reader
) -> None:
    run = uuid.uuid4().hex[:8]
    start, dlq_start = topic_reader.end_offsets("odds.quotes"), topic_reader.end_offsets("odds.quotes.dlq")
    publisher = Publisher(KafkaSettings(bootstrap_servers=kafka_broker.bootstrap))
    good = [quote(run, "home", 1.85), quote(run, "draw", 3.9), quote(run, "away", 4.2)]
    bad_price = quote(run, "home", 0.95)
    missing = quote(run, "away", 2.0)
    del missing["bookmaker"]
    result = publisher.publish(
        "odds", [*good, bad_price, missing], [Reject("body is not JSON", "<html>oops</html>", "the_odds_api")]
    )
    assert publisher.flush(30) == 0
    assert (result.sent, result.dead_lettered) == (3, 3)

    sent = [r for r in topic_reader.read("odds.quotes", start) if r["value"]["source_game_id"] == run]
    assert sorted(r["value"]["price"] for r in sent) == [1.85, 3.9, 4.2]
    assert {r["key"] for r in sent} == {good[0]["game_id"]}
    assert len({r["partition"] for r in sent}) == 1  # one game, one partition, in order
    assert all(
        r["headers"]["source"] == "the_odds_api" and r["headers"]["schema_version"] == "1" for r in sent
    )

    dead = [r["value"] for r in topic_reader.read("odds.quotes.dlq", dlq_start)]
    reasons = sorted(d["reason"] for d in dead)
    assert any("price: 0.95 is less than or equal to the minimum of 1.0" in r for r in reasons)
    assert any("missing required field 'bookmaker'" in r for r in reasons)
    assert "body is not JSON" in reasons
    raw_bad = next(d["raw"] for d in dead if "0.95" in d["reason"])
    assert raw_bad["price"] == 0.95 and raw_bad["source_game_id"] == run  # the raw payload is kept
    assert publisher.stats.dead_lettered["odds"] == 3 and publisher.stats.delivered["odds"] == 3


def test_change_detection_sends_only_moves_and_survives_restarts(
    kafka_broker: KafkaBroker, topic_reader, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    state = tmp_path / "last_quotes.sqlite"
    start = topic_reader.end_offsets("odds.quotes")
    publisher = Publisher(
        KafkaSettings(bootstrap_servers=kafka_broker.bootstrap), changes=ChangeDetector(state)
    )
    batch = [quote(run, "home", 1.85), quote(run, "away", 4.2)]
    assert publisher.publish("odds", batch).sent == 2
    publisher.close()

    again = Publisher(
        KafkaSettings(bootstrap_servers=kafka_broker.bootstrap), changes=ChangeDetector(state)
    )  # a restarted producer
    assert again.publish("odds", batch).unchanged == 2
    moved = quote(run, "home", 1.80)
    assert again.publish("odds", [moved, batch[1]]).sent == 1
    again.close()

    sent = [
        r["value"] for r in topic_reader.read("odds.quotes", start) if r["value"]["source_game_id"] == run
    ]
    assert [(s["selection"], s["price"], s["previous_price"]) for s in sent] == [
        ("home", 1.85, None),
        ("away", 4.2, None),
        ("home", 1.80, 1.85),
    ]


def test_a_failed_delivery_is_not_remembered_as_sent(tmp_path: Path) -> None:
    """If Kafka never confirms, the next poll must send the quote again."""
    changes = ChangeDetector(tmp_path / "state.sqlite")
    dead_broker = Publisher(
        KafkaSettings(bootstrap_servers="127.0.0.1:9"),
        changes=changes,
        config={"message.timeout.ms": 500, "socket.connection.setup.timeout.ms": 1000},
    )
    record = quote("x", "home", 2.0)
    assert dead_broker.publish("odds", [record]).sent == 1
    dead_broker.flush(5)
    assert dead_broker.stats.delivery_failures["odds"] == 1
    assert changes.changed(record) is not None
