"""Download football-data season files as the site serves them (``mmz4281/2324/E0.csv``).

Files land in the same layout under a folder (``<dest>/2324/E0.csv``), which the backfill reads
as is (``--source <dest>``). A file whose bytes did not change is not rewritten; a season the
site does not have (404) is reported, not an error for the others. Requests go one at a time
with tenacity's backoff on timeouts and 5xx, the politeness a small static site needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from lakehouse.football_data.files import SeasonFile
from lakehouse.log import get_logger

log = get_logger(__name__)

FOOTBALL_DATA_URL = "https://www.football-data.co.uk/mmz4281"
Outcome = Literal["new", "updated", "unchanged", "missing"]


@dataclass(frozen=True)
class Fetched:
    season_file: SeasonFile
    url: str
    path: Path
    outcome: Outcome
    size: int = 0


def season_url(base_url: str, season_file: SeasonFile) -> str:
    return f"{base_url.rstrip('/')}/{season_file.code}/{season_file.league}.csv"


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
    """Download each season file to ``dest/<code>/<LEAGUE>.csv``; what happened to each."""
    out: list[Fetched] = []
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for sf in season_files:
            url = season_url(base_url, sf)
            path = dest / sf.code / f"{sf.league}.csv"
            response = _get(client, url)
            if response is None:
                log.warning("season file not on the site", season=str(sf), url=url)
                out.append(Fetched(sf, url, path, "missing"))
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
            log.info("season file fetched", season=str(sf), outcome=outcome, bytes=len(body))
            out.append(Fetched(sf, url, path, outcome, len(body)))
    return out
