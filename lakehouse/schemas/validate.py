"""Validate a JSON record against its event type and return the canonical dict.

Failures raise ``SchemaValidationError`` whose ``reason`` is short, stable and
names the field, so it can go straight into a dead-letter record.

The canonical dict has every declared field in declaration order (absent optional
fields as ``None``), integers as ``int``, doubles as finite ``float`` and timestamps
re-written as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: one spelling per value, so
downstream parsing and deduplication never see two forms of the same record.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from lakehouse.schemas.events import RecordType, get_event_type
from lakehouse.schemas.fastpath import fast_checker, fast_checker_by_name
from lakehouse.schemas.fields import (
    DOUBLE,
    INT,
    LONG,
    TIMESTAMP,
    TIMESTAMP_RANGE,
    Field,
    FieldType,
    ListOf,
    StructOf,
    timestamp_range_words,
)
from lakehouse.schemas.json_schema import json_schema
from lakehouse.schemas.timestamps import format_timestamp

_MAX_REASONS = 3
_OUT_OF_RANGE = timestamp_range_words()
_MAX_MESSAGE = 200
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


class SchemaValidationError(ValueError):
    """A record does not match its event type; ``reason`` is fit for a dead-letter record."""

    def __init__(self, reason: str, errors: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or (reason,)


def validate(event_type: RecordType | str, record: dict[str, Any]) -> dict[str, Any]:
    """Check ``record`` (parsed JSON) and return its canonical form, or raise SchemaValidationError."""
    if type(record) is dict:
        fast = fast_checker_by_name(event_type) if isinstance(event_type, str) else fast_checker(event_type)
        if fast is not None and (canonical := fast(record)) is not None:
            return canonical
    et = get_event_type(event_type) if isinstance(event_type, str) else event_type
    if not isinstance(record, dict):
        raise SchemaValidationError(f"record must be a JSON object, got {type(record).__name__}")
    version = record.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version not in et.supported_versions:
        supported = ", ".join(map(str, et.supported_versions))
        raise SchemaValidationError(
            f"unknown schema_version {version} for {et.name} (supported: {supported})"
        )
    reasons = tuple(_reason(e) for e in _validator(et).iter_errors(record))
    if reasons:
        shown = "; ".join(reasons[:_MAX_REASONS])
        more = len(reasons) - _MAX_REASONS
        raise SchemaValidationError(shown + (f" (+{more} more)" if more > 0 else ""), reasons)
    return _struct(et.fields, record, "")


@functools.cache
def _validator(event_type: RecordType) -> Draft202012Validator:
    schema = json_schema(event_type)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _reason(error: ValidationError) -> str:
    path = _path(error.absolute_path)
    prefix = f"{path}." if path else ""
    if error.validator == "required" and (m := _REQUIRED.match(error.message)):
        return f"missing required field '{prefix}{m.group(1)}'"
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        noun = "field" if len(extra) == 1 else "fields"
        return f"unknown {noun} " + ", ".join(f"'{prefix}{name}'" for name in extra)
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return f"{path}: {message}" if path else message


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _struct(fields: tuple[Field, ...], obj: dict[str, Any], path: str) -> dict[str, Any]:
    prefix = f"{path}." if path else ""
    return {f.name: _value(f.type, obj.get(f.name), prefix + f.name) for f in fields}


def _value(type_: FieldType, value: Any, path: str) -> Any:
    if value is None:
        return None
    if isinstance(type_, ListOf):
        return [_value(type_.element, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(type_, StructOf):
        return _struct(type_.fields, value, path)
    if type_ is TIMESTAMP:
        try:
            canonical = format_timestamp(datetime.fromisoformat(value))
        except ValueError:  # e.g. a leap second, valid RFC 3339 but not a Python datetime
            raise SchemaValidationError(f"{path}: {value!r} is not a representable timestamp") from None
        low, high = TIMESTAMP_RANGE
        if not low <= canonical < high:
            raise SchemaValidationError(f"{path}: {value!r} {_OUT_OF_RANGE}")
        return canonical
    if type_ in (INT, LONG):
        return int(value)
    if type_ is DOUBLE:
        if not math.isfinite(value):
            raise SchemaValidationError(f"{path}: {value} is not a finite number")
        return float(value)
    return value
