"""Dead letters on a real broker: listed with every unknown name, released once the teams exist."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer, TopicPartition

from cli.main import main
from infra.stack.kafka import KafkaBroker
from infra.stack.process import free_port
from infra.stack.topics import apply_topics
from lakehouse.config import KafkaSettings, Settings, get_settings
from lakehouse.schemas import validate
from lakehouse.teams import TeamRegistry
from lakehouse.teams.registry import DATA_DIR
from producers.app import make_publisher, replay
from producers.dead_letters import pending, read, release, unknown_names

pytestmark = pytest.mark.integration

WNBA_TEAMS = """sport: basketball
competitions: [basketball_wnba]
teams:
  - {id: wnba-connecticut-sun, name: Connecticut Sun, espn_ids: ["18"]}
  - {id: wnba-las-vegas-aces, name: Las Vegas Aces, espn_ids: ["17"]}
  - {id: wnba-new-york-liberty, name: New York Liberty, espn_ids: ["9"]}
  - {id: wnba-seattle-storm, name: Seattle Storm, espn_ids: ["14"]}
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker of its own: releasing reads every dead letter of a feed, so no other test's."""
    kafka = KafkaBroker(
        home=tmp_path_factory.mktemp("dlq-kafka"), port=free_port(), controller_port=free_port()
    )
    kafka.start()
    apply_topics(kafka.bootstrap)
    yield kafka
    kafka.stop()


def _records(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-read", "enable.auto.commit": False})
    out: list[dict[str, Any]] = []
    try:
        for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            while len(out) < 10_000:
                message = consumer.poll(10)
                assert message is not None and message.error() is None
                out.append(json.loads(message.value()))
                if message.offset() >= high - 1:
                    break
    finally:
        consumer.close()
    return out


def test_dead_letters_are_listed_and_released_once_the_teams_exist(
    broker: KafkaBroker,
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    settings = Settings(state_dir=tmp_path / "state", kafka=KafkaSettings(bootstrap_servers=broker.bootstrap))
    before = tmp_path / "teams-before"  # the registry before anyone synced WNBA teams
    shutil.copytree(DATA_DIR, before)
    (before / "basketball_wnba.yaml").unlink()
    without = TeamRegistry.load(before)
    wnba = shared_data / "espn" / "wnba_scoreboard_trimmed.json"
    summary = replay(settings, "espn", [wnba], league="basketball/wnba", registry=without)
    assert (summary["records"], summary["dead_lettered"], summary["undelivered"]) == (0, 2, 0)

    letters, released = pending(settings, ["games"])
    assert (len(letters), released) == (2, 0)
    assert {letter.context["league"] for letter in letters} == {"basketball/wnba"}
    names = sorted(name for letter in letters for name, _ in unknown_names(letter.reason))
    assert names == ["Connecticut Sun", "Las Vegas Aces", "New York Liberty", "Seattle Storm"]

    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(settings.state_dir))
    monkeypatch.setenv("LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS", broker.bootstrap)
    get_settings.cache_clear()
    listed = CliRunner().invoke(main, ["dlq", "list", "--feed", "games"])
    assert listed.exit_code == 0, listed.output
    assert "2 pending, 0 released" in listed.output and "2  home unmatched team" in listed.output
    assert "1  'Las Vegas Aces' from espn" in listed.output

    # The same registry: nothing goes through, and nothing is dead-lettered a second time.
    still = release(settings, make_publisher(settings, client_id="t-still"), ["games"], registry=without)
    assert (still.pending, still.released, sum(still.still_failing.values())) == (2, 0, 2)
    assert len(read(settings, ["games"])) == 2

    # The teams exist now (their ESPN ids in the registry): both games are released, once.
    data = tmp_path / "teams"
    shutil.copytree(DATA_DIR, data)
    (data / "basketball_wnba.yaml").write_text(WNBA_TEAMS)
    registry = TeamRegistry.load(data)
    dry = release(
        settings, make_publisher(settings, client_id="t-dry"), ["games"], registry=registry, dry_run=True
    )
    assert (dry.released, dry.records) == (2, 2) and _records(broker.bootstrap, "games.events") == []
    done = release(settings, make_publisher(settings, client_id="t-done"), ["games"], registry=registry)
    assert (done.pending, done.released, done.records, sum(done.still_failing.values())) == (2, 2, 2, 0)
    games = [validate("games", r) for r in _records(broker.bootstrap, "games.events")]
    assert sorted(g["game_id"].split(":", 1)[1] for g in games) == [
        "wnba-connecticut-sun:wnba-las-vegas-aces",
        "wnba-new-york-liberty:wnba-seattle-storm",
    ]
    assert {g["sport"] for g in games} == {"basketball_wnba"}

    again = release(settings, make_publisher(settings, client_id="t-again"), ["games"], registry=registry)
    assert (again.pending, again.released) == (0, 0)
    assert len(_records(broker.bootstrap, "games.events")) == 2
    assert "0 pending, 2 released" in CliRunner().invoke(main, ["dlq", "list"]).output
