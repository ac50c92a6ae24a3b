"""The poison corpus: Kafka records a hostile or broken producer can send, each with where it must
land.  A record either reaches silver (valid, however odd its envelope) or the dead letters with
a reason containing ``reason``; none may stop a query."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Poison:
    name: str
    value: bytes | None
    reason: str | None = None  # words the dead-letter reason contains; None: the record is valid
    key: bytes | None = b"poison"
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    event_id: str | None = None  # the event id a valid one keeps in silver


def _spliced(record: dict[str, Any], text: str) -> bytes:
    """The record as JSON with one field's value written as raw JSON text (e.g. 1e400)."""
    name = text.split(":")[0].strip().strip('"')
    body = json.dumps({k: v for k, v in record.items() if k != name})
    return (body[:-1] + ", " + text + "}").encode()


def corpus(valid: dict[str, Any]) -> list[Poison]:
    """The corpus around one valid canonical odds record (its id is reused with suffixes)."""
    eid = valid["event_id"]

    def variant(suffix: str, **changes: Any) -> dict[str, Any]:
        return {**valid, "event_id": f"{eid}-{suffix}", **changes}

    nested = "[" * 5000 + "]" * 5000
    return [
        Poison("not json", b"{oops", "malformed JSON"),
        Poison("empty", b"", "malformed JSON"),
        Poison("tombstone", None, "malformed JSON"),
        Poison("1 MB of garbage", b"\x00\xff" * 450_000, "malformed JSON"),
        Poison("array", b"[1, 2, 3]", "malformed JSON"),
        Poison("deeply nested", ('{"a": ' + nested + "}").encode(), "malformed JSON"),
        Poison("NaN price", _spliced(variant("nan"), '"price": NaN'), "malformed JSON"),  # strict JSON
        Poison("1e400 price", _spliced(variant("big"), '"price": 1e400'), "price: Infinity is not a finite"),
        Poison(
            "-1e400 point", _spliced(variant("small"), '"point": -1e400'), "point: -Infinity is not a finite"
        ),
        Poison("Infinity string", _spliced(variant("infs"), '"price": "Infinity"'), "price"),
        Poison(
            "year 9999",
            json.dumps(variant("y9999", event_time="9999-12-31T23:59:59Z")).encode(),
            "event_time: is outside the supported range",
        ),
        Poison(
            "year 10000",
            json.dumps(variant("y10000", event_time="10000-01-01T00:00:00Z")).encode(),
            "event_time",
        ),
        Poison("year 1", json.dumps(variant("y1", event_time="0001-01-01T00:00:00Z")).encode(), "event_time"),
        Poison("wrong type", json.dumps(variant("type", price="abc")).encode(), "price: abc is not a double"),
        Poison("unicode bookmaker", json.dumps(variant("uni", bookmaker="bét365 ✓")).encode(), "bookmaker"),
        Poison("unknown field", json.dumps(variant("extra", extra=1)).encode(), "unknown field(s) extra"),
        # Valid records in odd envelopes: they must reach silver.
        Poison(
            "duplicated header keys",
            json.dumps(variant("dup-headers")).encode(),
            headers=[("trace", b"a"), ("trace", b"b"), ("source", b"x")],
            event_id=f"{eid}-dup-headers",
        ),
        Poison(
            "binary header",
            json.dumps(variant("bin-header")).encode(),
            headers=[("blob", b"\xff\xfe\x00\x01"), ("none", None)],
            event_id=f"{eid}-bin-header",
        ),
        Poison("null key", json.dumps(variant("null-key")).encode(), key=None, event_id=f"{eid}-null-key"),
        Poison(
            "unicode names",
            json.dumps(variant("uni-names", selection_name="Ñandú FC 🦩", home_team="Ñandú FC 🦩")).encode(),
            event_id=f"{eid}-uni-names",
        ),
        Poison(
            "far future",
            json.dumps(variant("future", event_time="2150-06-01T12:00:00.000000Z")).encode(),
            event_id=f"{eid}-future",
        ),
    ]
