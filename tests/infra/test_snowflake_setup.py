"""`lakehouse warehouse setup`: the versioned Snowflake SQL, its grants read as a matrix offline,
and applied on the emulator (fakesnow), once, then refused when an applied version changes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import snowflake.connector
from click.testing import CliRunner

from cli.main import main
from infra.snowflake import HERE, SetupError, apply, migrations, statements, values
from lakehouse.config import WarehouseSettings

GRANT = re.compile(
    r"^GRANT (.+?) ON (FUTURE |ALL )?(\w+(?: \w+)?) (?:IN SCHEMA )?(\S+) TO ROLE (\w+);?$", re.IGNORECASE
)


def _grants() -> set[tuple[str, str, str]]:
    """(role, privilege, object) for every GRANT ... ON ... TO ROLE of the rendered SQL."""
    out = set()
    filled = values(WarehouseSettings())
    for migration in migrations():
        for statement in statements(migration.render(filled)):
            match = GRANT.match(statement)
            assert match or not statement.startswith("GRANT") or statement.startswith("GRANT ROLE"), statement
            if match:
                privileges, _scope, kind, name, role = match.groups()
                for privilege in privileges.split(","):
                    out.add((role, privilege.strip().upper(), f"{kind.upper()} {name}"))
    return out


def test_each_role_gets_what_its_workload_needs_and_nothing_more() -> None:
    grants = _grants()
    settings = WarehouseSettings()

    def objects(role: str, privilege: str) -> set[str]:
        return {o for r, p, o in grants if r == role and p == privilege}

    loader, transformer, reader = (
        settings.snowflake_loader_role,
        settings.snowflake_role,
        settings.snowflake_reader_role,
    )
    # The loader writes RAW through temporary stages (PUT + COPY INTO) and nothing else.
    assert objects(loader, "CREATE STAGE") == objects(loader, "CREATE TABLE") == {"SCHEMA BETTING.RAW"}
    assert {o for r, _, o in grants if r == loader} <= {
        "SCHEMA BETTING.RAW",
        "TABLES BETTING.RAW",
        "DATABASE BETTING",
        f"WAREHOUSE {settings.snowflake_loader_warehouse}",
    }
    # dbt reads RAW and builds its folders' schemas; it writes no RAW table.
    assert objects(transformer, "SELECT") == {"TABLES BETTING.RAW"}
    assert objects(transformer, "CREATE TABLE") == {
        "SCHEMA BETTING.STAGING",
        "SCHEMA BETTING.INTERMEDIATE",
        "SCHEMA BETTING.MARTS",
        "SCHEMA BETTING.ANALYTICS",
    }
    assert not objects(transformer, "INSERT")
    # Analysts and the API read the marts only.
    assert objects(reader, "SELECT") == {"TABLES BETTING.MARTS", "VIEWS BETTING.MARTS"}
    assert not {o for r, _, o in grants if r == reader and "RAW" in o}
    # The warehouses granted are those each component connects with (lakehouse.config).
    assert objects(transformer, "USAGE") >= {f"WAREHOUSE {settings.snowflake_warehouse}"}
    assert objects(reader, "USAGE") >= {f"WAREHOUSE {settings.snowflake_reader_warehouse}"}


def _emulator_env(fakesnow_server: dict, monkeypatch: pytest.MonkeyPatch, database: str) -> None:
    for key, value in {
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_ACCOUNT": "fakesnow",
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_USER": "fake",
        "LAKEHOUSE_SNOWFLAKE_PASSWORD": "snow",
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_HOST": fakesnow_server["host"],
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PORT": str(fakesnow_server["port"]),
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PROTOCOL": "http",
        "LAKEHOUSE_WAREHOUSE__SNOWFLAKE_DATABASE": database,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.mark.integration
def test_setup_on_the_emulator_applies_each_version_once(
    fakesnow_server: dict, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    _emulator_env(fakesnow_server, monkeypatch, "SETUP_TEST")
    first = CliRunner().invoke(main, ["warehouse", "setup", "--emulator"])
    assert first.exit_code == 0, first.output
    assert "3 versions applied, 0 already there" in first.output
    skipped = int(re.search(r"(\d+) statements skipped", first.output).group(1))  # type: ignore[union-attr]
    every = [s for m in migrations() for s in statements(m.render(values(WarehouseSettings())))]
    assert skipped == sum(1 for s in every if re.match(r"(GRANT|CREATE (ROLE|WAREHOUSE))", s)) > 20
    again = CliRunner().invoke(main, ["warehouse", "setup", "--emulator"])
    assert again.exit_code == 0 and "0 versions applied, 3 already there" in again.output
    with snowflake.connector.connect(**fakesnow_server) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT VERSION, NAME FROM SETUP_TEST.ADMIN.SCHEMA_VERSIONS ORDER BY VERSION")
        assert cursor.fetchall() == [(1, "database_and_schemas"), (2, "warehouses"), (3, "roles_and_grants")]
        for schema in (
            "RAW",
            "STAGING",
            "INTERMEDIATE",
            "MARTS",
            "ANALYTICS",
        ):  # each exists: a table fits in
            cursor.execute(f"CREATE TABLE SETUP_TEST.{schema}.PROBE (X INTEGER)")


@pytest.mark.integration
def test_an_edited_applied_version_is_refused(fakesnow_server: dict, tmp_path: Path) -> None:
    folder = tmp_path / "snowflake"
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    filled = values(WarehouseSettings(snowflake_database="EDIT_TEST"))
    with snowflake.connector.connect(**fakesnow_server) as conn:
        assert len(apply(conn.cursor(), filled, emulator=True, versions=migrations(folder)).applied) == 3
        first = folder / "V001__database_and_schemas.sql"
        first.write_text(first.read_text() + "CREATE SCHEMA IF NOT EXISTS ${database}.SANDBOX;\n")
        with pytest.raises(SetupError, match="V001__database_and_schemas was applied with other SQL"):
            apply(conn.cursor(), filled, emulator=True, versions=migrations(folder))
