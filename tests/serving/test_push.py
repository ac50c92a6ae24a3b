"""The WebSocket fan-out's buffering: latest record per key, only the channels asked for, and a
subscriber that falls too far behind is dropped rather than buffered without bound."""

from __future__ import annotations

import asyncio
import json

from lakehouse.config import KafkaSettings
from serving.api.push import Fanout, channels_of, valid_channel


def _price(game: str, bookmaker: str, price: float) -> bytes:
    record = {"game_id": game, "sport": "soccer", "market": "h2h", "bookmaker": bookmaker}
    return json.dumps({**record, "selection": "home", "price": price}).encode()


def test_updates_are_coalesced_per_key_and_routed_by_channel() -> None:
    loop = asyncio.new_event_loop()
    try:
        fanout = Fanout(KafkaSettings(bootstrap_servers="127.0.0.1:9"), max_pending=3)
        game = fanout.subscribe(["game:g1"], loop)
        sport = fanout.subscribe(["sport:soccer"], loop)
        arbs = fanout.subscribe(["arbitrage"], loop)
        for price in (2.0, 2.1, 2.2):
            assert fanout.dispatch("agg.market_prices_live", _price("g1", "bet365", price)) == 2
        assert fanout.dispatch("agg.market_prices_live", _price("g2", "bet365", 3.0)) == 1  # sport only
        taken = game.take()
        assert [u["record"]["price"] for u in taken] == [2.2]  # one key: its latest version
        assert sorted(u["record"]["game_id"] for u in sport.take()) == ["g1", "g2"]
        assert arbs.take() == [] and game.take() == []
        # Four distinct keys unsent with room for three: dropped, and nothing more is held for it.
        for book in ("a", "b", "c", "d"):
            fanout.dispatch("agg.market_prices_live", _price("g1", book, 2.0))
        assert game.dropped and game.take() == []
        fanout.unsubscribe(game)
        assert fanout.dispatch("agg.market_prices_live", _price("g1", "e", 2.0)) == 1
    finally:
        loop.close()


def test_channels() -> None:
    arb = {"game_id": "g", "sport": "nba"}
    assert channels_of("arbitrage_opportunities", arb) == {"game:g", "sport:nba", "arbitrage"}
    assert channels_of("pipeline_health", {"component": "x"}) == {"health"}
    assert all(map(valid_channel, ["game:g", "sport:nba", "arbitrage", "health"]))
    assert not any(map(valid_channel, ["game:", "everything", "sport:" + "x" * 300]))


def test_a_subscriber_whose_loop_closed_is_dropped_not_the_fanout() -> None:
    loop = asyncio.new_event_loop()
    fanout = Fanout(KafkaSettings(bootstrap_servers="127.0.0.1:9"))
    gone = fanout.subscribe(["game:g1"], loop)
    loop.close()
    assert fanout.dispatch("agg.market_prices_live", _price("g1", "bet365", 2.0)) == 1  # no exception
    assert gone.dropped
