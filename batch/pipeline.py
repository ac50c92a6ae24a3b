"""The historical backfill: season files -> raw zone -> Iceberg -> warehouse, with counts per step.

The steps are separate functions so the Airflow DAG can map the first two over (league, season)
and run the warehouse load once, while the CLI and the benchmark run them in one process with
one Iceberg commit per table. Every step is idempotent: the raw zone by content hash, Iceberg
and the warehouse by replacing whole (league, season) partitions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from batch.football_data import LEAGUES, ParseCounts, ParsedSeason, SeasonFile, parse_season
from batch.iceberg_load import IcebergLoad, count_rows, load_seasons
from batch.raw_zone import LandedFile, RawZone, football_data_key
from batch.warehouse import WarehouseLoad, load_warehouse
from iceberg.history import FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS, FOOTBALL_DATA_REJECTS
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from lakehouse.football_data.files import find_season_files, season_labels
from lakehouse.log import get_logger

log = get_logger(__name__)

Progress = Callable[[str, int, int], None]  # (step, done, total)


class BackfillInputError(ValueError):
    """What the user asked for cannot be loaded (unknown league, no such file or folder); one line."""


def with_source(settings: Settings, folder: str | Path | None) -> Settings:
    """``settings`` reading season files from another folder, or downloading them from a site
    (``https://www.football-data.co.uk``) into ``<state dir>/football-data/<host>``; None or ""
    keeps it."""
    if not folder:
        return settings
    text = str(folder)
    if text.startswith(("http://", "https://")):
        host = re.sub(r"[^A-Za-z0-9.-]+", "_", text.split("://", 1)[1]).strip("_")
        update: dict[str, object] = {
            "football_data_url": text,
            "football_data_dir": settings.state_dir / "football-data" / host,
        }
    else:
        update = {"football_data_dir": Path(folder).expanduser(), "football_data_url": ""}
    return settings.model_copy(update={"batch": settings.batch.model_copy(update=update)})


def _download(settings: Settings, leagues: list[str], seasons: Iterable[str] | None) -> None:
    """Fetch the asked-for season files from the source site into the source folder (an extra
    league's one file whatever the seasons; a main league's files need the seasons named)."""
    import httpx

    from batch.fetch import country_file, fetch_seasons

    main = [league for league in leagues if not LEAGUES[league].extra]
    if main and not seasons:
        raise BackfillInputError(
            f"a site source needs --season for {', '.join(main)} (e.g. --season 2023-24)"
        )
    try:
        wanted = [country_file(league) for league in leagues if LEAGUES[league].extra]
        wanted += [SeasonFile.of(league, season) for league in main for season in seasons or ()]
        settings.football_data_dir.mkdir(parents=True, exist_ok=True)
        fetch_seasons(wanted, settings.football_data_dir, settings.batch.football_data_url)
    except ValueError as exc:
        raise BackfillInputError(str(exc)) from None
    except httpx.HTTPError as exc:
        raise BackfillInputError(f"download from {settings.batch.football_data_url} failed: {exc}") from None


def with_warehouse(settings: Settings, kind: str | None) -> Settings:
    """``settings`` with another warehouse kind (``duckdb`` | ``snowflake``); None keeps it."""
    if kind is None or kind == settings.warehouse.kind:
        return settings
    return settings.model_copy(update={"warehouse": settings.warehouse.model_copy(update={"kind": kind})})


# --- planning ----------------------------------------------------------------------------------


def discover(
    settings: Settings,
    leagues: Iterable[str] | None = None,
    seasons: Iterable[str] | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
) -> list[SeasonFile]:
    """The season files to load: by league, by season (``2023-24``, or ``2014`` for a calendar
    year) or by a date range.

    A date range picks every season whose ``SeasonFile.span`` overlaps it; whole
    seasons are loaded because a season is the unit of replacement. Asking for a league or a
    season that has no file is an error, not an empty backfill. Files are found in every layout
    `find_season_files` reads, anywhere under the source folder.
    """
    wanted_leagues = [league.upper() for league in (leagues or settings.batch.leagues)]
    unknown = [league for league in wanted_leagues if league not in LEAGUES]
    if unknown:
        raise BackfillInputError(f"unknown league(s) {unknown}; known: {', '.join(LEAGUES)}")
    folder = settings.football_data_dir
    if settings.batch.football_data_url:
        _download(settings, wanted_leagues, seasons)
    try:
        chosen = find_season_files(folder, wanted_leagues)
    except (FileNotFoundError, ValueError) as exc:
        raise BackfillInputError(f"{exc} (set --source or LAKEHOUSE_BATCH__FOOTBALL_DATA_DIR)") from None
    if seasons:
        try:
            labels = set().union(*(season_labels(s) for s in seasons))
        except ValueError as exc:
            raise BackfillInputError(str(exc)) from None
        chosen = [sf for sf in chosen if sf.season in labels]
        missing = sorted(
            f"{league} {', '.join(sorted(season_labels(s)))}"
            for league in wanted_leagues
            for s in seasons
            if not any(sf.league == league and sf.season in season_labels(s) for sf in chosen)
        )
        if missing and not chosen:
            raise BackfillInputError(f"no season file for {'; '.join(missing)} in {folder}")
        if missing:
            log.warning("season files not provided", missing=missing)
    if start is not None or end is not None:
        lo = _as_date(start) or date.min
        hi = _as_date(end) or date.max
        chosen = [sf for sf in chosen if sf.span[0] <= hi and lo <= sf.span[1]]
    if not chosen:
        raise BackfillInputError(
            f"no season file matches leagues={wanted_leagues} seasons={seasons} in {folder}"
        )
    return chosen


def _as_date(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- steps -------------------------------------------------------------------------------------


def land(settings: Settings, season_file: SeasonFile, zone: RawZone | None = None) -> LandedFile:
    """Copy one season file into the raw zone (unchanged bytes are not written again)."""
    zone = zone or RawZone.from_settings(settings)
    key = football_data_key(season_file.league, season_file.season, season_file.file_name)
    path = season_file.path or settings.football_data_dir / season_file.file_name
    if not path.is_file():
        raise BackfillInputError(f"season file {path} not found ({season_file})")
    return zone.land_file(path, key)


def parse_landed(
    settings: Settings,
    season_file: SeasonFile,
    zone: RawZone | None = None,
    loaded_at: datetime | None = None,
) -> ParsedSeason:
    """Parse a season from its raw-zone copy, the backfill's only input once landed."""
    zone = zone or RawZone.from_settings(settings)
    key = football_data_key(season_file.league, season_file.season, season_file.file_name)
    return parse_season(zone.read(key), season_file, loaded_at=loaded_at)


def load_iceberg(
    settings: Settings,
    season_files: Sequence[SeasonFile],
    *,
    progress: Progress | None = None,
) -> tuple[IcebergLoad, dict[str, ParseCounts]]:
    """Parse landed seasons and replace their partitions in Iceberg (one commit per table)."""
    zone = RawZone.from_settings(settings)
    loaded_at = datetime.now(UTC)
    parsed = []
    for done, sf in enumerate(season_files, start=1):
        parsed.append(parse_landed(settings, sf, zone, loaded_at))
        if progress:
            progress("parse", done, len(season_files))
    load = load_seasons(load_catalog(settings), parsed)
    return load, {str(p.season_file): p.counts for p in parsed}


def iceberg_counts(settings: Settings, partitions: Sequence[tuple[str, str]] | None = None) -> dict[str, int]:
    """Rows in each history table (for ``partitions`` if given), read back from Iceberg."""
    catalog = load_catalog(settings)
    return {
        td.name: count_rows(catalog, td.identifier, partitions)
        for td in (FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS, FOOTBALL_DATA_REJECTS)
    }


def load_to_warehouse(
    settings: Settings, partitions: Sequence[tuple[str, str]] | None = None, **target_options: Any
) -> WarehouseLoad:
    """Copy the history tables (the given partitions, else all) into the configured warehouse."""
    from batch.warehouse import open_target

    target = open_target(settings, **target_options) if target_options else None
    return load_warehouse(settings, load_catalog(settings), partitions, target=target)


# --- the whole backfill ------------------------------------------------------------------------


@dataclass
class BackfillResult:
    """What a backfill did, per step: enough to check that nothing went missing."""

    partitions: list[tuple[str, str]]
    landed: dict[str, int] = field(default_factory=dict)  # outcome -> files
    parsed: ParseCounts = field(default_factory=ParseCounts)
    per_season: dict[str, dict[str, int]] = field(default_factory=dict)
    iceberg: dict[str, int] = field(default_factory=dict)  # rows read back, loaded partitions
    warehouse: dict[str, int] = field(default_factory=dict)  # rows in the warehouse, loaded partitions
    warehouse_kind: str | None = None
    quality: list[dict[str, Any]] = field(default_factory=list)  # each suite's result, before the load
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "partitions": [list(p) for p in self.partitions],
            "landed": self.landed,
            "parsed": self.parsed.as_dict(),
            "per_season": self.per_season,
            "iceberg": self.iceberg,
            "warehouse": self.warehouse,
            "warehouse_kind": self.warehouse_kind,
            "quality": self.quality,
            "seconds": self.seconds,
        }


def backfill(
    settings: Settings,
    *,
    leagues: Iterable[str] | None = None,
    seasons: Iterable[str] | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    warehouse: bool = True,
    progress: Progress | None = None,
) -> BackfillResult:
    """Land, load Iceberg, check the data's quality, then load the warehouse, for the chosen
    seasons; returns the counts. A critical quality failure raises ``QualityError`` before the
    warehouse load (batch.quality)."""
    season_files = discover(settings, leagues, seasons, start, end)
    partitions = [(sf.league, sf.season) for sf in season_files]
    result = BackfillResult(partitions)
    zone = RawZone.from_settings(settings)

    started = time.perf_counter()
    for done, sf in enumerate(season_files, start=1):
        outcome = land(settings, sf, zone).outcome
        result.landed[outcome] = result.landed.get(outcome, 0) + 1
        if progress:
            progress("land", done, len(season_files))
    result.seconds["land"] = round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    _, counts = load_iceberg(settings, season_files, progress=progress)
    for name, c in counts.items():
        result.parsed.add(c)
        result.per_season[name] = c.as_dict()
    result.iceberg = iceberg_counts(settings, partitions)
    result.seconds["iceberg"] = round(time.perf_counter() - started, 3)
    if progress:
        progress("iceberg", 1, 1)

    if warehouse:
        from batch.quality import check_history, enforce

        started = time.perf_counter()
        checked = check_history(settings, load_catalog(settings), partitions, stage="backfill")
        result.quality = [r.as_dict() for r in checked]
        result.seconds["quality"] = round(time.perf_counter() - started, 3)
        enforce(checked)
        if progress:
            progress("quality", 1, 1)
        started = time.perf_counter()
        load = load_to_warehouse(settings, partitions)
        result.warehouse_kind = load.kind
        result.warehouse = dict(load.counted)
        result.seconds["warehouse"] = round(time.perf_counter() - started, 3)
        if progress:
            progress("warehouse", 1, 1)
    log.info("backfill done", partitions=len(partitions), **result.parsed.as_dict())
    return result
