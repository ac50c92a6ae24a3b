"""Market analytics on a board of quotes, shared by the speed layer, the batch layer and the CLI.

* ``board``: lines, complete books, best prices, consensus fair probabilities, margins, steam;
* ``engine``: one game's deterministic aggregates (live prices, windows, arbitrage, steam).
"""

from lakehouse.market.board import (
    Line,
    MarketSummary,
    Quote,
    SteamMove,
    detect_steam,
    line_key,
    selections_for,
    summarise_market,
)
from lakehouse.market.engine import (
    EngineSettings,
    GameMeta,
    GameState,
    History,
    Output,
    Tick,
    stamp,
    to_micros,
)

__all__ = [
    "EngineSettings",
    "GameMeta",
    "GameState",
    "History",
    "Line",
    "MarketSummary",
    "Output",
    "Quote",
    "SteamMove",
    "Tick",
    "detect_steam",
    "line_key",
    "selections_for",
    "stamp",
    "summarise_market",
    "to_micros",
]
