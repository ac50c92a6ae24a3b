"""Team and game identity registry: canonical team ids, aliases per source, canonical game ids."""

from lakehouse.teams.registry import (
    SOURCES,
    AmbiguousTeamError,
    Team,
    TeamRegistry,
    UnknownTeamError,
    football_data_date,
    game_id,
    get_registry,
    normalise_name,
)

__all__ = [
    "SOURCES",
    "AmbiguousTeamError",
    "Team",
    "TeamRegistry",
    "UnknownTeamError",
    "football_data_date",
    "game_id",
    "get_registry",
    "normalise_name",
]
