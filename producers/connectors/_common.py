"""Small helpers every connector needs: stable ids, body decoding and whole-body rejects."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from lakehouse.records import record_id
from producers.base import HttpRequest, HttpResponse, ParseResult, Reject

MAX_RAW_CHARS = 65_536
"""Whole-body rejects keep this much of the body: enough to diagnose, small enough for Kafka."""

UNKNOWN_SPORT = "unknown"
"""`sport` for records no tracked team or game ties to a sport: a valid key, and plainly not a league."""


class MissingApiKeyError(ValueError):
    """A keyed provider was asked to poll without its key; the message names the setting."""


def duration(value: timedelta | float) -> timedelta:
    """A timedelta, or seconds as a number (how the YAML schedule spells durations)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a timedelta or seconds, got {value!r}")
    return timedelta(seconds=value)


stable_id = record_id
"""The shared id helper (``lakehouse.records.record_id``), under the name connectors use."""

REDACTED = "[redacted]"


def redact(text: str, request: HttpRequest | None) -> str:
    """``text`` with the request's secret parameter values blanked: an error page may echo the URL."""
    if request is not None:
        for secret in request.secret_params.values():
            if secret:
                text = text.replace(secret, REDACTED)
    return text


def body_reject(
    reason: str, response: HttpResponse, source: str, request: HttpRequest | None = None
) -> ParseResult:
    """A whole-body reject: the first ``MAX_RAW_CHARS`` of the body, secrets blanked."""
    raw = redact(response.text[:MAX_RAW_CHARS], request)
    return ParseResult(rejects=[Reject(redact(reason, request), raw, source)])


def load_json_body(response: HttpResponse, provider: str) -> tuple[Any, str | None]:
    """Decode a JSON body, or say why not: an HTML error page served with 200 is common."""
    text = response.text
    if response.status >= 400:
        return None, f"{provider} answered HTTP {response.status}: {text.strip()[:200]!r}"
    if not text.strip():
        return None, f"{provider} sent an empty body (HTTP {response.status})"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        content_type = next(
            (v for k, v in response.headers.items() if k.lower() == "content-type"), "unknown"
        )
        looks = "an HTML page" if text.lstrip()[:1] == "<" else "not valid JSON"
        return None, (
            f"{provider} body is {looks} (content-type {content_type}, HTTP {response.status}): "
            f"{exc.msg} at char {exc.pos}; starts {text.lstrip()[:80]!r}"
        )


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp with a zone, or None: naive or malformed times are not guessed at."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and parsed.utcoffset() is not None else None
