"""The five dashboards, by uid, with the panel of each whose values the Druid test asserts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import (
    arbitrage_radar,
    bookmaker_margins,
    line_movement_steam,
    live_odds_board,
    pipeline_health,
)


@dataclass(frozen=True)
class Spec:
    uid: str
    title: str
    build: Callable[[], Dashboard]
    checked_panel: str  # title of the panel whose exact values tests/support/dashboard_checks.py computes


DASHBOARDS: dict[str, Spec] = {
    s.uid: s
    for s in (
        Spec(
            live_odds_board.UID, live_odds_board.TITLE, live_odds_board.dashboard, live_odds_board.BEST_PRICES
        ),
        Spec(
            arbitrage_radar.UID, arbitrage_radar.TITLE, arbitrage_radar.dashboard, arbitrage_radar.ACTIONABLE
        ),
        Spec(
            bookmaker_margins.UID,
            bookmaker_margins.TITLE,
            bookmaker_margins.dashboard,
            bookmaker_margins.MEAN_MARGIN,
        ),
        Spec(
            line_movement_steam.UID,
            line_movement_steam.TITLE,
            line_movement_steam.dashboard,
            line_movement_steam.STEAM_BY_DIRECTION,
        ),
        Spec(
            pipeline_health.UID,
            pipeline_health.TITLE,
            pipeline_health.dashboard,
            pipeline_health.SOURCE_HEALTH,
        ),
    )
}
