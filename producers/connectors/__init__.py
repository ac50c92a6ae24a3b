"""Source connectors, discovered by name so configuration alone decides what is polled.

Each class implements `producers.base.Connector`: pure request building and parsing, with
fetching left to the shared HTTP client.  API keys are constructor arguments: the caller reads
them from settings, so no connector touches the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from producers.base import Connector
from producers.connectors.espn import EspnScoreboard
from producers.connectors.news import GNewsSearch, NewsApiEverything, RssFeed
from producers.connectors.odds_api import TheOddsApi
from producers.connectors.weather import OpenMeteoForecast, OpenWeatherCurrent

CONNECTORS: dict[str, type] = {
    "espn": EspnScoreboard,
    "the_odds_api": TheOddsApi,
    "openweather": OpenWeatherCurrent,
    "open_meteo": OpenMeteoForecast,
    "newsapi": NewsApiEverything,
    "gnews": GNewsSearch,
    "rss": RssFeed,
}
"""Source name (the records' `source`) -> connector class."""


def build_connector(name: str, options: Mapping[str, Any] | None = None) -> Connector:
    """The connector for `name`, built from its configured keyword options."""
    try:
        cls = CONNECTORS[name]
    except KeyError:
        raise KeyError(f"unknown connector {name!r} (known: {', '.join(sorted(CONNECTORS))})") from None
    try:
        connector = cls(**dict(options or {}))
    except TypeError as exc:  # a misspelt or missing option: say which connector and why
        raise ValueError(f"bad options for connector {name!r}: {exc}") from None
    if not isinstance(connector, Connector) or connector.name != name:
        raise TypeError(f"{cls.__name__} does not implement the Connector protocol as {name!r}")
    return connector


__all__ = [
    "CONNECTORS",
    "EspnScoreboard",
    "GNewsSearch",
    "NewsApiEverything",
    "OpenMeteoForecast",
    "OpenWeatherCurrent",
    "RssFeed",
    "TheOddsApi",
    "build_connector",
]
