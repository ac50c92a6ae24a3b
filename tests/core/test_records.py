"""The record builders: one shape per record type, checked against the schema definitions."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from lakehouse.records import game_event, odds_quote, record_id
from lakehouse.schemas import GAME_EVENT, ODDS_QUOTE, validate


@pytest.mark.parametrize(("builder", "event_type"), [(odds_quote, ODDS_QUOTE), (game_event, GAME_EVENT)])
def test_a_builder_takes_exactly_the_fields_of_its_event_type(builder, event_type) -> None:
    params = inspect.signature(builder).parameters
    assert list(params) != [] and set(params) == set(event_type.field_names)
    required = {name for name, p in params.items() if p.default is inspect.Parameter.empty}
    # Every field the schema requires is a required argument, except schema_version (defaulted).
    assert required == {f.name for f in event_type.fields if f.required} - {"schema_version"}


def test_an_odds_quote_is_built_in_field_order_and_validates() -> None:
    at = datetime(2024, 3, 27, 18, 3, 32, tzinfo=UTC)
    quote = odds_quote(
        event_id=record_id("the_odds_api", "g1", "pinnacle", "h2h", "home", None, at),
        source="the_odds_api",
        sport="soccer_epl",
        event_time=at,
        ingested_at=at,
        game_id="2024-03-30:newcastle-united:west-ham-united",
        source_game_id="g1",
        bookmaker="pinnacle",
        market="h2h",
        selection="home",
        selection_name="Newcastle United",
        price=1.85,
        is_exchange=False,
        last_update=at,
        home_team="Newcastle United",
        away_team="West Ham United",
        commence_time="2024-03-30T12:30:00Z",
    )
    assert list(quote) == list(ODDS_QUOTE.field_names)
    assert quote["event_time"] == "2024-03-27T18:03:32.000000Z"  # datetimes get the canonical spelling
    assert quote["point"] is None and quote["previous_price"] is None and quote["schema_version"] == 1
    assert validate("odds", quote)["commence_time"] == "2024-03-30T12:30:00.000000Z"


def test_record_id_is_stable_and_spells_none_as_empty() -> None:
    assert record_id("a", None, 1) == record_id("a", "", 1) == record_id("a", None, "1")
    assert record_id("a", "b") == record_id("a|b")  # the parts are joined by "|"
    assert len(record_id("x")) == 40 and record_id("x") != record_id("y")
