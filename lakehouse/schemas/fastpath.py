"""A compiled fast path for records that are already canonical.

jsonschema takes ~100 µs a record, too slow for a producer that must keep pace with
Kafka.  Most records arrive already canonical (our own producers wrote them), so each
event type gets a checker compiled from the same field definitions that accepts only
records it can prove valid and canonical, and returns them in canonical form; anything
else (wrong types, other timestamp spellings, nested types) falls through to the full
validator, which also writes the reason.  The fast path never accepts what the full
validator would reject (a differential test holds it to that).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lakehouse.schemas.events import RecordType
from lakehouse.schemas.fields import (
    BOOLEAN,
    DOUBLE,
    INT,
    LONG,
    STRING,
    TIMESTAMP,
    TIMESTAMP_RANGE,
    Field,
    ListOf,
    int_range,
)
from lakehouse.schemas.timestamps import format_timestamp

_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)$")

Checker = Callable[[dict[str, Any]], dict[str, Any] | None]


@functools.lru_cache(maxsize=65_536)
def canonical_timestamp(value: str) -> str | None:
    """The canonical spelling of an RFC 3339 timestamp, or None to leave it to the full validator.

    Cached: a poll's quotes share a handful of `last_update` and kick-off times.
    """
    if not _RFC3339.match(value):
        return None
    try:
        canonical = format_timestamp(datetime.fromisoformat(value))
    except ValueError:
        return None
    # Canonical spellings have four-digit years, so text order is time order.
    return canonical if TIMESTAMP_RANGE[0] <= canonical < TIMESTAMP_RANGE[1] else None


def _bounds(field: Field) -> list[str]:
    """Python conditions (on `v`) for the numeric bounds, including the integer width's."""
    low, high = int_range(field.type)
    conds = []
    for bound, op in ((field.minimum, ">="), (low, ">="), (field.maximum, "<="), (high, "<=")):
        if bound is not None:
            conds.append(f"v {op} {bound!r}")
    if field.exclusive_minimum is not None:
        conds.append(f"v > {field.exclusive_minimum!r}")
    if field.exclusive_maximum is not None:
        conds.append(f"v < {field.exclusive_maximum!r}")
    return conds


def _conditions(field: Field, env: dict[str, Any]) -> list[str] | None:
    """Python conditions a non-null value `v` must meet, or None if the fast path cannot judge."""
    t = field.type
    n = len(env)
    if t is STRING:
        conds = ["type(v) is str"]
        if field.min_length is not None:
            conds.append(f"len(v) >= {field.min_length}")
        if field.pattern is not None:
            env[f"_re{n}"] = re.compile(field.pattern).search
            conds.append(f"_re{n}(v) is not None")
    elif t in (INT, LONG):
        conds = ["type(v) is int"]
    elif t is DOUBLE:
        conds = ["((type(v) is float and _isfinite(v)) or type(v) is int)"]
    elif t is BOOLEAN:
        conds = ["type(v) is bool"]
    elif t is TIMESTAMP:
        conds = ["type(v) is str", "(v := _ts(v)) is not None"]
    elif isinstance(t, ListOf) and t.element is STRING and t.element_required:
        conds = ["type(v) is list", "all(type(x) is str for x in v)"]
    else:
        return None
    if field.enum is not None:
        env[f"_enum{n}"] = frozenset(field.enum)
        conds.append(f"v in _enum{n}")
    if t in (INT, LONG, DOUBLE):
        conds += _bounds(field)
    return conds


def _compile(event_type: RecordType) -> Checker | None:
    """Generate one straight-line function per event type (no per-field calls or generators)."""
    env: dict[str, Any] = {
        "_isfinite": math.isfinite,
        "_ts": canonical_timestamp,
        "_names": frozenset(f.name for f in event_type.fields),
        "_versions": frozenset(event_type.supported_versions),
    }
    lines = [
        "def checker(record):",
        "    version = record.get('schema_version')",
        "    if type(version) is not int or version not in _versions or not _names.issuperset(record):",
        "        return None",
    ]
    outputs = []
    for i, field in enumerate(event_type.fields):
        conds = _conditions(field, env)
        if conds is None:
            return None
        lines.append(f"    v = record.get({field.name!r})")
        test = " and ".join(conds)
        if field.required:
            lines.append(f"    if v is None or not ({test}):")
            lines.append("        return None")
        else:
            lines.append(f"    if v is not None and not ({test}):")
            lines.append("        return None")
        value = "float(v)" if field.type is DOUBLE else "v"
        if field.type is DOUBLE and not field.required:
            value = "None if v is None else float(v)"
        lines.append(f"    f{i} = {value}")
        outputs.append(f"{field.name!r}: f{i}")
    lines.append("    return {" + ", ".join(outputs) + "}")
    exec(compile("\n".join(lines), f"<fastpath:{event_type.name}>", "exec"), env)
    checker: Checker = env["checker"]
    return checker


@functools.cache
def fast_checker(event_type: RecordType) -> Checker | None:
    """The compiled checker, or None if the type has fields the fast path does not handle."""
    return _compile(event_type)


@functools.cache
def fast_checker_by_name(name: str) -> Checker | None:
    """The same, looked up by feed name (hashing an EventType walks all its fields)."""
    from lakehouse.schemas.events import get_event_type

    return _compile(get_event_type(name))
