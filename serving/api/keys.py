"""API keys with scopes, stored hashed, and a rate limit per key.

A key is 32 random bytes (URL-safe text); the server keeps only its SHA-256, so a leaked keys
file or environment grants nothing.  A slow password hash adds nothing for keys of 256 random
bits.  Entries are ``name:scope+scope:sha256hex``, comma-separated, from ``LAKEHOUSE_API__KEYS``
and/or the file ``LAKEHOUSE_API__KEYS_FILE`` (one per line, ``#`` comments).  Scopes: ``read``
(every GET), ``ingest`` (``POST /v1/ingest``).

Rate limits use the ``limits`` library's moving window, in memory, per key and route group.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from lakehouse.config import ApiSettings

SCOPES = ("read", "ingest")

__all__ = ["SCOPES", "ApiKey", "KeyRing", "RateLimits", "hash_key", "new_key"]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(name: str, scopes: tuple[str, ...]) -> tuple[str, str]:
    """A fresh key and its entry for the keys setting: (key, ``name:scopes:hash``)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)} (got {', '.join(scopes) or 'none'})")
    if not name or ":" in name or "," in name:
        raise ValueError(f"a key name must be non-empty, without ':' or ',' (got {name!r})")
    key = secrets.token_urlsafe(32)
    return key, f"{name}:{'+'.join(scopes)}:{hash_key(key)}"


@dataclass(frozen=True)
class ApiKey:
    name: str
    scopes: frozenset[str]
    digest: str


class KeyRing:
    """The accepted keys, by hash."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = keys

    @classmethod
    def from_settings(cls, api: ApiSettings) -> KeyRing:
        entries = [e for e in api.keys.split(",") if e.strip()]
        if api.keys_file is not None:
            lines = Path(api.keys_file).read_text().splitlines()
            entries += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        return cls([parse_entry(e) for e in entries])

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, presented: str) -> ApiKey | None:
        digest = hash_key(presented)
        found = None
        for key in self._keys:  # every entry compared in constant time: no timing hint
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found


def parse_entry(entry: str) -> ApiKey:
    parts = entry.strip().split(":")
    if len(parts) != 3 or len(parts[2]) != 64:
        raise ValueError("an API key entry is name:scope+scope:sha256hex (see `lakehouse api key`)")
    scopes = frozenset(s for s in parts[1].split("+") if s)
    if not scopes or scopes - set(SCOPES):
        raise ValueError(f"API key {parts[0]!r}: scopes must be among {', '.join(SCOPES)}")
    return ApiKey(parts[0], scopes, parts[2].lower())


class RateLimits:
    """Per key and route group, a moving-window limit per minute."""

    def __init__(self, per_minute: dict[str, int]) -> None:
        self._items = {group: RateLimitItemPerMinute(n) for group, n in per_minute.items()}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, group: str, key: str) -> int | None:
        """None if allowed, else the seconds to wait (for Retry-After)."""
        item = self._items[group]
        if self._limiter.hit(item, group, key):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(item, group, key)
        import time

        return max(1, int(reset_at - time.time()) + 1)
