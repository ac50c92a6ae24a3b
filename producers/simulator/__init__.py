"""Live-market simulator: the seeded test feed for streaming, arbitrage detection, dashboards and load.

Games (teams from the registry) carry a latent fair price that drifts and jumps on scores
(``model``); bookmakers quote around it with their own margin, noise and reaction delay
(``bookmakers``); the event loop turns that into canonical ``odds`` and ``games`` records
on a simulated clock (``engine``)::

    sim = Simulator(seed=42)
    for feed, record in sim.run(300):  # 5 simulated minutes, as fast as possible
        ...
    for feed, record in paced(Simulator.for_rate(2000).run(600), rate_per_s=2000):
        ...  # a real-time load test
"""

from producers.simulator.bookmakers import DEFAULT_BOOKMAKERS, Bookmaker
from producers.simulator.engine import (
    DEFAULT_SPORTS,
    DEFAULT_START,
    ArbitrageWindow,
    OpenArbitrage,
    QuoteBoard,
    Simulator,
    arbitrage_windows,
    paced,
    restamped,
)
from producers.simulator.model import GameModel, MarketFair, SportSpec

__all__ = [
    "DEFAULT_BOOKMAKERS",
    "DEFAULT_SPORTS",
    "DEFAULT_START",
    "ArbitrageWindow",
    "Bookmaker",
    "GameModel",
    "MarketFair",
    "OpenArbitrage",
    "QuoteBoard",
    "Simulator",
    "SportSpec",
    "arbitrage_windows",
    "paced",
    "restamped",
]
