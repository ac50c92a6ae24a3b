"""Download football-data season files as the site serves them (``mmz4281/2324/E0.csv``, and
``new/ARG.csv`` for an extra league, every season in one file).

Files land in the same layout under a folder (``<dest>/2324/E0.csv``, ``<dest>/new/ARG.csv``),
which the backfill reads as is (``--source <dest>``). A file whose bytes did not change is not
rewritten; a season the site does not have (404) is reported, not an error for the others.
Requests go one at a time with tenacity's backoff on timeouts and 5xx, the politeness a small
static site needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from lakehouse.football_data.files import SeasonFile
from lakehouse.football_data.leagues import get_league
from lakehouse.log import get_logger

log = get_logger(__name__)

FOOTBALL_DATA_URL = "https://www.football-data.co.uk"
Outcome = Literal["new", "updated", "unchanged", "missing"]


@dataclass(frozen=True)
class Fetched:
    label: str  # "E0 2023-24", or "ARG (every season)"
    url: str
    path: Path
    outcome: Outcome
    size: int = 0


def site_path(season_file: SeasonFile) -> str:
    """Where the site serves a season: ``mmz4281/2324/E0.csv``, or ``new/ARG.csv``."""
    if get_league(season_file.league).extra:
        return f"new/{season_file.league}.csv"
    return f"mmz4281/{season_file.code}/{season_file.league}.csv"


def country_file(league: str) -> SeasonFile:
    """What to fetch for an extra league: its one file, whatever the season (every one is in it)."""
    return SeasonFile(league, "2000", calendar=True)


def _label(season_file: SeasonFile) -> str:
    extra = get_league(season_file.league).extra
    return f"{season_file.league} (every season)" if extra else str(season_file)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


@retry(
    retry=retry_if_exception(_transient),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.5, max=8),
    reraise=True,
)
def _get(client: httpx.Client, url: str) -> httpx.Response | None:
    response = client.get(url)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response


def fetch_seasons(
    season_files: Iterable[SeasonFile],
    dest: Path,
    base_url: str = FOOTBALL_DATA_URL,
    *,
    timeout_s: float = 60.0,
) -> list[Fetched]:
    """Download each season file to ``dest`` in the site's layout (``mmz4281/`` left out);
    an extra league's file once, however many of its seasons are asked for."""
    out: list[Fetched] = []
    paths = {site_path(sf): sf for sf in season_files}
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for relative, sf in paths.items():
            url = f"{base_url.rstrip('/')}/{relative}"
            path = dest / relative.removeprefix("mmz4281/")
            response = _get(client, url)
            if response is None:
                log.warning("season file not on the site", season=_label(sf), url=url)
                out.append(Fetched(_label(sf), url, path, "missing"))
                continue
            body = response.content
            outcome: Outcome = "new"
            if path.exists():
                outcome = "unchanged" if path.read_bytes() == body else "updated"
            if outcome != "unchanged":
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".csv.part")
                partial.write_bytes(body)
                partial.replace(path)  # a half-written file is never read as a season
            log.info("season file fetched", season=_label(sf), outcome=outcome, bytes=len(body))
            out.append(Fetched(_label(sf), url, path, outcome, len(body)))
    return out
