"""`lakehouse warehouse setup`: Snowflake's database, schemas, warehouses, roles and grants from
the versioned SQL in ``infra/snowflake`` (each version once; an edited applied version refused)."""

from __future__ import annotations

import click

from lakehouse.config import get_settings


@click.group("warehouse")
def warehouse_group() -> None:
    """The warehouse's own objects (Snowflake)."""


@warehouse_group.command("setup")
@click.option("--dry-run", is_flag=True, help="Print the SQL of every version instead of running it.")
@click.option(
    "--emulator",
    is_flag=True,
    help="The local emulator (fakesnow): skip warehouses, roles and grants, which it lacks.",
)
def setup(dry_run: bool, emulator: bool) -> None:
    """Create or update the objects; run as a user with SYSADMIN and SECURITYADMIN."""
    from infra.snowflake import SetupError, apply, migrations, values

    settings = get_settings()
    filled = values(settings.warehouse)
    try:
        if dry_run:
            for migration in migrations():
                click.echo(f"-- V{migration.version:03d}__{migration.name}\n{migration.render(filled)}")
            return
        import snowflake.connector

        try:
            kwargs = settings.snowflake_connection(60.0, "admin")
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        with snowflake.connector.connect(**kwargs) as conn:
            result = apply(conn.cursor(), filled, emulator=emulator, progress=click.echo)
    except SetupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{len(result.applied)} versions applied, {len(result.unchanged)} already there"
        + (f", {len(result.skipped)} statements skipped on the emulator" if emulator else "")
    )
