"""The compiled fast path never accepts what the full JSON Schema validator rejects."""

from __future__ import annotations

import importlib
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.schemas import EVENT_TYPES, SchemaValidationError, validate
from lakehouse.schemas.fastpath import fast_checker

# The package re-exports the function `validate`, which shadows the module's name.
validate_module = importlib.import_module("lakehouse.schemas.validate")

TS = "2024-03-30T12:30:00.000000Z"
VALID: dict[str, dict[str, Any]] = {
    "odds": {
        "event_id": "e1",
        "source": "the_odds_api",
        "sport": "soccer_epl",
        "event_time": TS,
        "ingested_at": TS,
        "schema_version": 1,
        "game_id": "2024-03-30:newcastle-united:west-ham-united",
        "source_game_id": "x",
        "bookmaker": "pinnacle",
        "bookmaker_title": "Pinnacle",
        "market": "h2h",
        "selection": "home",
        "selection_name": "Newcastle United",
        "price": 1.85,
        "point": None,
        "is_exchange": False,
        "last_update": TS,
        "previous_price": None,
        "home_team": "Newcastle United",
        "away_team": "West Ham United",
        "commence_time": TS,
    },
    "news": {
        "event_id": "n1",
        "source": "rss",
        "sport": "soccer_epl",
        "event_time": TS,
        "ingested_at": TS,
        "schema_version": 1,
        "article_id": "a1",
        "url": "https://example.org/a",
        "title": "t",
        "description": None,
        "published_at": TS,
        "outlet": "BBC Sport",
        "team_ids": ["arsenal"],
        "teams": ["Arsenal"],
        "game_id": None,
    },
}
ODD_VALUES = [
    None,
    "",
    "x",
    "home",
    "draw",
    0,
    1,
    2,
    -1,
    1.0,
    0.5,
    1.0000001,
    2**40,
    2**70,
    True,
    False,
    float("nan"),
    float("inf"),
    "2024-03-30T12:30:00Z",
    "2024-03-30T12:30:00.000000Z",
    "2024-13-30T12:30:00.000000Z",
    "2024-03-30 12:30:00.000000Z",
    [],
    ["a"],
    [1],
    {"a": 1},
    "UPPER",
]


def _slow(feed: str, record: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any] | str:
    with monkeypatch.context() as m:
        m.setattr(validate_module, "fast_checker", lambda _et: None)
        m.setattr(validate_module, "fast_checker_by_name", lambda _name: None)
        try:
            return validate(feed, record)
        except SchemaValidationError as exc:
            return f"rejected: {exc.reason}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("feed", sorted(VALID))
def test_valid_records_take_the_fast_path_with_the_same_result(
    feed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = fast_checker(EVENT_TYPES[feed])
    assert checker is not None
    fast = checker(VALID[feed])
    assert fast is not None
    assert fast == _slow(feed, VALID[feed], monkeypatch)


@settings(max_examples=400, deadline=None)
@given(
    feed=st.sampled_from(sorted(VALID)),
    data=st.data(),
)
def test_fast_path_agrees_with_the_full_validator(feed: str, data: st.DataObject) -> None:
    record = dict(VALID[feed])
    fields = sorted(record)
    for name in data.draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        if data.draw(st.booleans()):
            record.pop(name)
        else:
            record[name] = data.draw(st.sampled_from(ODD_VALUES))
    if data.draw(st.integers(0, 9)) == 0:
        record["unexpected"] = 1
    fast = fast_checker(EVENT_TYPES[feed])(record)
    if fast is None:
        return  # the full validator decides, and writes the reason
    with pytest.MonkeyPatch.context() as mp:
        slow = _slow(feed, record, mp)
    assert not isinstance(slow, str), f"fast path accepted a record the validator rejects: {slow}"
    assert set(fast) == set(slow)
    assert all(_same(fast[k], slow[k]) for k in fast), (fast, slow)
