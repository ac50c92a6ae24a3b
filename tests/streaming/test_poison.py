"""Every record of the poison corpus goes through a running bronze, silver, aggregates and gold:
each lands in bronze, then in silver or the dead letters with its reason, and the valid quotes
after it still reach the aggregates.  Each of these once stopped a query for good."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import Producer

from lakehouse.catalog import load_catalog
from lakehouse.dead_letters import MAX_RAW, truncation_note
from lakehouse.kafka import producer_config
from producers import dead_letters
from producers.replay import odds_api_capture
from streaming.aggregates import engine_settings
from streaming.runner import run_jobs
from tests.streaming.harness import isolated_run, ticks_by_game
from tests.streaming.poison import corpus
from tests.support.market_oracle import expected_rows

pytestmark = [pytest.mark.integration, pytest.mark.spark]

CAPTURE = Path("odds-api") / "soccer_epl_odds_2024-03-27.json"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # the deep-nesting poison is past Python's reach
        return False
    return True


def test_no_record_stops_a_stream(spark, runs_broker, shared_data: Path, tmp_path: Path) -> None:
    capture = odds_api_capture(shared_data / CAPTURE).events
    game = capture[0]["game_id"]
    quotes = sorted(
        (r for r in capture if r["game_id"] == game), key=lambda r: (r["event_time"], r["event_id"])
    )
    poisons = corpus(quotes[0])
    # A valid quote after each poison record, all in partition 0 (a null key too), so each
    # poison is followed by the records it once blocked and offsets number the records sent.
    stride = max(1, len(quotes) // (len(poisons) + 1))
    sent: list[tuple[str, object]] = []
    with isolated_run(
        spark, runs_broker, tmp_path, max_offsets_per_trigger=40, aggregates_max_offsets_per_trigger=40
    ) as run:
        producer = Producer(
            producer_config(run.settings.kafka, client_id="poison", **{"message.max.bytes": 2_000_000})
        )
        for i, quote in enumerate(quotes):
            producer.produce("odds.quotes", key=b"poison", value=json.dumps(quote).encode(), partition=0)
            sent.append(("valid", quote))
            if i % stride == 0 and i // stride < len(poisons):
                # Built on the quote just sent: a valid variant is then on time for its game.
                p = corpus(quote)[i // stride]
                producer.produce(
                    "odds.quotes", key=p.key, value=p.value, headers=p.headers or None, partition=0
                )
                sent.append(("poison", p))
        assert producer.flush(30) == 0
        assert sum(1 for kind, _ in sent if kind == "poison") == len(poisons)

        run_jobs(run.settings, ["bronze", "silver", "aggregates", "gold"], available_now=True)

        catalog = load_catalog(run.settings)
        bronze = catalog.load_table("bronze.kafka_records").scan().to_arrow().to_pylist()
        assert sorted(r["offset"] for r in bronze) == list(range(len(sent)))
        by_offset = {r["offset"]: r for r in bronze}
        dead = {
            r["kafka_offset"]: r["reason"]
            for r in catalog.load_table("silver.dead_letters").scan().to_arrow().to_pylist()
        }
        silver = {
            r["event_id"] for r in catalog.load_table("silver.odds_quotes").scan().to_arrow().to_pylist()
        }
        late = catalog.load_table("silver.late_events").scan().to_arrow().num_rows

        problems = []
        for offset, (kind, item) in enumerate(sent):
            if kind == "valid":
                if item["event_id"] not in silver:  # type: ignore[index]
                    problems.append(("valid quote missing from silver", offset))
                continue
            p = item
            if p.reason is None:  # type: ignore[union-attr]
                if p.event_id not in silver or offset in dead:  # type: ignore[union-attr]
                    problems.append((p.name, "not in silver", dead.get(offset)))  # type: ignore[union-attr]
            elif p.reason not in (dead.get(offset) or ""):  # type: ignore[union-attr]
                problems.append((p.name, "reason", dead.get(offset)))  # type: ignore[union-attr]
        assert problems == [], "\n".join(map(str, problems))

        # Each dead letter is also on the feed's dead-letter topic, in the producers' shape, where
        # `lakehouse dlq` reads it: same reason, the refused record's coordinates, the raw value.
        letters = {
            letter.context["kafka_offset"]: letter for letter in dead_letters.read(run.settings, ["odds"])
        }
        assert set(letters) == set(dead)
        for offset, letter in letters.items():
            assert letter.origin == ("silver", "odds.quotes", 0, offset) and letter.feed == "odds"
            raw = by_offset[offset]["value"]
            if raw is None:  # a tombstone
                assert (letter.reason, letter.raw) == (dead[offset], None)
            elif len(raw) > MAX_RAW:  # the 1 MB garbage: cut, and the cut said
                assert (
                    letter.reason == dead[offset] + truncation_note(len(raw)) and len(letter.raw) == MAX_RAW
                )
            else:
                assert letter.reason == dead[offset]
                assert letter.raw == (json.loads(raw) if _is_json(raw) else raw)
        waiting, _ = dead_letters.pending(run.settings, ["odds"])
        assert len(waiting) == len(dead)
        assert late == 0  # the far-future record did not make the source's later records late
        dup = next(o for o, (k, p) in enumerate(sent) if k == "poison" and p.name == "duplicated header keys")
        assert dict(by_offset[dup]["headers"]) == {"trace": "a, b", "source": "x"}

        # The aggregates saw every valid quote except the far-future one, and gold is exact.
        used = [
            json.loads(by_offset[o]["value"])
            for o, (k, p) in enumerate(sent)
            if k == "valid" or (p.reason is None and p.name != "far future")  # type: ignore[union-attr]
        ]
        expected: dict = {}
        for game_id, (meta, ticks) in ticks_by_game(used).items():
            expected |= expected_rows(game_id, meta, ticks, engine_settings(run.settings))
        assert run.gold_rows() == run.topic_rows() == expected
