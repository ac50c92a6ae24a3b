"""The stream's columnar validation accepts exactly what the shared validator accepts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lakehouse.schemas import SchemaValidationError, get_event_type, validate
from producers.connectors.odds_api import TheOddsApi
from streaming.parse import REASON, VALID, parse_feed, with_reason

pytestmark = [pytest.mark.spark]

MUTATIONS = [
    ("price", 0.95),
    ("price", 1.0),
    ("price", "abc"),
    ("price", None),
    ("market", "moneyline"),
    ("selection", "HOME"),
    ("schema_version", 7),
    ("event_time", "yesterday"),
    ("is_exchange", "no"),
    ("bookmaker", ""),
    ("source", "The Odds API"),
    ("point", "x"),
    ("point", 1.5),
    ("sport", None),
]


def _cases(shared_data: Path) -> list[str]:
    events = json.loads((shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").read_text())
    quotes = [validate("odds", q) for q in TheOddsApi().parse_events(events).events][:300]
    rng = random.Random(3)
    values = [json.dumps(q) for q in quotes[:200]]
    for q in quotes[200:]:
        bad = dict(q)
        for field, value in rng.sample(MUTATIONS, rng.randint(1, 2)):
            bad[field] = value
        if rng.random() < 0.2:
            del bad["bookmaker"]
        if rng.random() < 0.1:
            bad["bookie"] = "x"
        values.append(json.dumps(bad))
    return [*values, "not json", "[1, 2]", "{}", '{"event_id": 1}']


def test_stream_and_shared_validator_agree(spark, shared_data: Path) -> None:
    values = _cases(shared_data)
    df = spark.createDataFrame([(v,) for v in values], ["value"])
    odds = get_event_type("odds")
    rows = with_reason(parse_feed(df, odds), odds).collect()
    assert len(rows) == len(values)
    # The narrow flag every record pays for and the message built for failures agree.
    assert [r[VALID] for r in rows] == [r[REASON] is None for r in rows]
    disagreements = []
    for row in rows:
        try:
            expected = validate("odds", json.loads(row["value"]))
        except (SchemaValidationError, ValueError) as exc:
            expected = None
            why = getattr(exc, "reason", str(exc))
        else:
            why = None
        if (row[REASON] is None) != (expected is not None):
            disagreements.append((row["value"][:120], row[REASON], why))
        elif expected is not None:
            assert row["price"] == expected["price"] and row["game_id"] == expected["game_id"]
    assert disagreements == []
    reasons = [r[REASON] for r in rows if r[REASON]]
    assert sum(1 for r in rows if r[REASON] is None) == 200 + sum(1 for v in values[200:300] if _valid(v))
    assert any("price: 0.95 is less than or equal to the minimum of 1.0" in r for r in reasons)
    assert any("missing required field 'bookmaker'" in r for r in reasons)
    assert any(r.startswith("unknown schema_version 7 for odds") for r in reasons)
    assert any("unknown field(s) bookie" in r for r in reasons)
    assert reasons.count("record is not a JSON object (malformed JSON)") == 2


def _valid(value: str) -> bool:
    try:
        validate("odds", json.loads(value))
    except (SchemaValidationError, ValueError):
        return False
    return True


HOSTILE = {
    # JSON text -> the words the reason must contain
    '"price": 1e400': "price: Infinity is not a finite number",
    '"price": -1e400': "price: -Infinity is not a finite number",
    '"price": "Infinity"': "price:",
    '"event_time": "9999-12-31T23:59:59Z"': "event_time: is outside the supported range",
    '"event_time": "10000-01-01T00:00:00Z"': "event_time:",
    '"event_time": "1899-12-31T23:59:59Z"': "is outside the supported range [1900-01-01, 2200-01-01)",
    '"commence_time": "2200-01-01T00:00:00Z"': "commence_time: is outside",
}


def test_non_finite_prices_and_out_of_range_times_are_dead_letters(spark, shared_data: Path) -> None:
    """Each of these once stopped a query for good (inf into the odds math, a window end past
    year 9999); now both validators refuse them, in the same words where both can spell them."""
    events = json.loads((shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").read_text())
    good = validate("odds", TheOddsApi().parse_events(events).events[0])
    values = []
    for spliced in HOSTILE:
        field = spliced.split(":")[0].strip('"')
        text = json.dumps({k: v for k, v in good.items() if k != field})
        values.append(text[:-1] + ", " + spliced + "}")
    values.append(json.dumps({**good, "event_time": "2199-12-31T23:59:59Z"}))  # inside: valid
    df = spark.createDataFrame([(v,) for v in values], ["value"])
    odds = get_event_type("odds")
    rows = with_reason(parse_feed(df, odds), odds).select("value", VALID, REASON).collect()
    for row, words in zip(rows, HOSTILE.values(), strict=False):
        assert row[VALID] is False and words in row[REASON], (row["value"], row[REASON])
        with pytest.raises((SchemaValidationError, ValueError)):
            validate("odds", json.loads(row["value"]))
    assert rows[-1][VALID] is True and rows[-1][REASON] is None


def test_check_text_reaches_spark_unchanged(spark) -> None:
    """The checks are Spark SQL text: every pattern, enum value and message of every feed, and
    quotes, backslashes and percent signs, arrive in Spark as they are in the schema."""
    from lakehouse.schemas import EVENT_TYPES
    from streaming.parse import _q

    texts = ["it's", "back\\slash", "\\'", "100% '%s' done", "Atlético", r"^\d{2}-[a-z]+$"]
    for event_type in EVENT_TYPES.values():
        for field in event_type.fields:
            texts += [field.pattern or "", *(str(v) for v in field.enum or ())]
            texts.append(f"{field.name}: '%s' does not match '{field.pattern}'")
    row = spark.sql("SELECT " + ", ".join(f"{_q(t)} AS t{i}" for i, t in enumerate(texts))).first()
    assert list(row) == texts
