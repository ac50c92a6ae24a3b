"""Snowflake's objects as versioned SQL, applied in order by `lakehouse warehouse setup`.

``V<nnn>__<what>.sql`` files beside this one, with ``${name}`` placeholders filled from the
settings (``values``).  Each version is applied once and recorded with the checksum of its
rendered SQL in ``<database>.ADMIN.SCHEMA_VERSIONS``; a version whose SQL changed after it was
applied is refused (add a new version instead), so every environment gets the same objects.

On the local emulator (fakesnow) warehouses, roles and grants do not exist: those statements are
skipped and reported, the rest applies (database, schemas, comments, the versions table).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Protocol

from lakehouse.config import WarehouseSettings

HERE = Path(__file__).parent
VERSION_FILE = re.compile(r"^V(\d{3})__([a-z0-9_]+)\.sql$")
EMULATOR_LACKS = re.compile(r"^\s*(GRANT|REVOKE|(CREATE|ALTER|DROP)\s+(ROLE|WAREHOUSE))\b", re.IGNORECASE)


class SetupError(RuntimeError):
    """A version cannot be applied as it is; the message says which and why."""


class Cursor(Protocol):
    def execute(self, command: str, params: Any = None) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def render(self, values: dict[str, str]) -> str:
        try:
            return Template(self.path.read_text()).substitute(values)
        except KeyError as exc:
            raise SetupError(f"{self.path.name}: no value for ${{{exc.args[0]}}}") from None

    def checksum(self, values: dict[str, str]) -> str:
        return hashlib.sha256(self.render(values).encode()).hexdigest()


@dataclass
class SetupResult:
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # statements the emulator cannot run


def migrations(folder: Path = HERE) -> list[Migration]:
    """The versions in order; numbers must be unique."""
    found = []
    for path in sorted(folder.glob("V*.sql")):
        match = VERSION_FILE.match(path.name)
        if not match:
            raise SetupError(f"{path.name}: name a version V<nnn>__<what>.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    numbers = [m.version for m in found]
    if len(set(numbers)) != len(numbers):
        raise SetupError(f"two files share a version number in {folder}")
    return found


def values(warehouse: WarehouseSettings) -> dict[str, str]:
    """The placeholders, from the settings every other component connects with."""
    return {
        "database": warehouse.snowflake_database,
        "raw_schema": warehouse.raw_schema.upper(),
        "transform_role": warehouse.snowflake_role,
        "transform_warehouse": warehouse.snowflake_warehouse,
        "loader_role": warehouse.snowflake_loader_role,
        "loader_warehouse": warehouse.snowflake_loader_warehouse,
        "reader_role": warehouse.snowflake_reader_role,
        "reader_warehouse": warehouse.snowflake_reader_warehouse,
    }


def statements(sql: str) -> list[str]:
    """The SQL statements of a file, split as the Snowflake connector splits them."""
    from snowflake.connector.util_text import split_statements

    return [s.strip() for s, _is_put in split_statements(io.StringIO(sql), remove_comments=True) if s.strip()]


def apply(
    cursor: Cursor,
    settings: dict[str, str],
    emulator: bool = False,
    versions: Iterable[Migration] | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> SetupResult:
    """Apply every version not yet recorded; refuse one recorded with another checksum."""
    db = settings["database"]
    table = f"{db}.ADMIN.SCHEMA_VERSIONS"
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {db}.ADMIN")
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {table} "
        "(VERSION INTEGER, NAME VARCHAR, CHECKSUM VARCHAR, APPLIED_AT TIMESTAMP_TZ)"
    )
    cursor.execute(f"SELECT VERSION, CHECKSUM FROM {table}")
    recorded = {int(v): c for v, c in cursor.fetchall()}
    result = SetupResult()
    for migration in versions if versions is not None else migrations():
        label = f"V{migration.version:03d}__{migration.name}"
        checksum = migration.checksum(settings)
        if migration.version in recorded:
            if recorded[migration.version] != checksum:
                raise SetupError(
                    f"{label} was applied with other SQL (checksum {recorded[migration.version][:12]}, now "
                    f"{checksum[:12]}): add a new version instead of editing an applied one"
                )
            result.unchanged.append(label)
            continue
        for statement in statements(migration.render(settings)):
            if emulator and EMULATOR_LACKS.match(statement):
                result.skipped.append(statement)
                continue
            cursor.execute(statement)
        cursor.execute(
            f"INSERT INTO {table} SELECT %s, %s, %s, CURRENT_TIMESTAMP()",
            (migration.version, migration.name, checksum),
        )
        result.applied.append(label)
        progress(f"applied {label}")
    return result
