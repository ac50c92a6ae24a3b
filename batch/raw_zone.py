"""The raw zone: source files landed unchanged before anything parses them.

A local folder by default (``<state_dir>/raw``), ``s3://bucket/prefix`` in production. Files are
laid out by source, league and season (``football_data/league=E0/season=2023-24/E0_2324.csv``),
so a backfill can always be replayed from the raw zone alone, and landing is idempotent by
content: the SHA-256 of each file is kept beside it (S3 object metadata, or a ``.sha256``
sidecar locally), an identical file is not written again, and a changed one (football-data
updates the current season's file) replaces the old copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from lakehouse.config import Settings
from lakehouse.log import get_logger

log = get_logger(__name__)

Outcome = Literal["landed", "unchanged", "replaced"]


@dataclass(frozen=True)
class LandedFile:
    """Where a source file now lives in the raw zone, and whether this call wrote it."""

    uri: str
    key: str  # relative to the zone root
    sha256: str
    size: int
    outcome: Outcome

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def football_data_key(league: str, season: str, file_name: str) -> str:
    return f"football_data/league={league}/season={season}/{file_name}"


class RawZone:
    """Land and read raw files under one root (a folder or an ``s3://bucket/prefix``)."""

    def __init__(self, root: str, *, s3_endpoint: str | None = None, region: str | None = None) -> None:
        self.root = root.rstrip("/")
        parsed = urlparse(self.root)
        self.is_s3 = parsed.scheme == "s3"
        if parsed.scheme not in ("", "file", "s3"):
            raise ValueError(f"raw zone {root!r}: use a folder or s3://bucket/prefix")
        self._bucket = parsed.netloc
        self._prefix = parsed.path.strip("/")
        self._local = Path(parsed.path if parsed.scheme == "file" else self.root)
        self._endpoint, self._region = s3_endpoint, region
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RawZone:
        return cls(
            settings.raw_zone, s3_endpoint=settings.catalog.s3_endpoint, region=settings.catalog.aws_region
        )

    def uri(self, key: str) -> str:
        return f"{self.root}/{key}" if self.is_s3 else str(self._local / key)

    def land(self, data: bytes, key: str) -> LandedFile:
        """Write ``data`` at ``key`` unless the zone already holds exactly these bytes."""
        digest = hashlib.sha256(data).hexdigest()
        existing = self._existing_digest(key)
        if existing == digest:
            outcome: Outcome = "unchanged"
        else:
            self._write(key, data, digest)
            outcome = "landed" if existing is None else "replaced"
        log.debug("raw file", uri=self.uri(key), outcome=outcome, bytes=len(data))
        return LandedFile(self.uri(key), key, digest, len(data), outcome)

    def land_file(self, path: Path, key: str) -> LandedFile:
        return self.land(path.read_bytes(), key)

    def read(self, key: str) -> bytes:
        if self.is_s3:
            return self._s3().get_object(Bucket=self._bucket, Key=self._s3_key(key))["Body"].read()
        return (self._local / key).read_bytes()

    # -- storage -------------------------------------------------------------------------

    def _s3_key(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self._endpoint, region_name=self._region)
        return self._client

    def _existing_digest(self, key: str) -> str | None:
        if self.is_s3:
            from botocore.exceptions import ClientError

            try:
                head = self._s3().head_object(Bucket=self._bucket, Key=self._s3_key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
            return head.get("Metadata", {}).get("sha256")
        path, sidecar = self._local / key, self._local / f"{key}.sha256"
        if not path.exists():
            return None
        if sidecar.exists():
            return sidecar.read_text().strip()
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def _write(self, key: str, data: bytes, digest: str) -> None:
        if self.is_s3:
            self._s3().put_object(
                Bucket=self._bucket, Key=self._s3_key(key), Body=data, Metadata={"sha256": digest}
            )
            return
        path = self._local / key
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, data)
        _atomic_write(path.with_name(path.name + ".sha256"), digest.encode())


def _atomic_write(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
