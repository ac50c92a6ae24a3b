"""The Iceberg catalog, described once and handed to each engine in its own dialect.

Spark (Java Iceberg) and pyiceberg must see the same tables: locally both use a JDBC/SQL
catalog on one SQLite file over a `file://` warehouse; in production both use AWS Glue
with S3.  Endpoint overrides (moto in tests) apply to both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.config import Settings, get_settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


def spark_catalog_conf(settings: Settings | None = None) -> dict[str, str]:
    """`spark.sql.catalog.<name>.*` entries for the configured catalog."""
    settings = settings or get_settings()
    cat = settings.catalog
    prefix = f"spark.sql.catalog.{cat.name}"
    conf = {
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        # Other engines (pyiceberg loaders, maintenance) change tables too: never serve a
        # cached table object whose metadata may have been replaced underneath.
        f"{prefix}.cache-enabled": "false",
    }
    if cat.kind == "local":
        ensure_local_catalog(settings)
        conf |= {
            f"{prefix}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
            # WAL: Spark's pooled JDBC connections and pyiceberg read and write side by side, each
            # waiting up to 30 s for the other's write lock (the demo backfills while streams commit).
            f"{prefix}.uri": f"jdbc:sqlite:{settings.catalog_db_path}?journal_mode=WAL&busy_timeout=30000",
            f"{prefix}.warehouse": settings.warehouse_path.resolve().as_uri(),
            # SQLite has no real users; the JDBC catalog still wants the keys.
            f"{prefix}.jdbc.user": "lakehouse",
            f"{prefix}.jdbc.password": "",
            # Iceberg's JdbcCatalog leaves a metadata ResultSet open when it checks for its
            # tables at start-up; on SQLite that pins a read transaction for the life of the
            # connection (stale reads, SQLITE_BUSY for every other writer).  pyiceberg creates
            # the same tables instead (see `ensure_local_catalog`), so Java skips the check.
            f"{prefix}.jdbc.init-catalog-tables": "false",
        }
    else:
        conf |= {
            f"{prefix}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
            f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            f"{prefix}.warehouse": cat.s3_warehouse,
            f"{prefix}.client.region": cat.aws_region,
        }
        if cat.glue_endpoint:
            conf[f"{prefix}.glue.endpoint"] = cat.glue_endpoint
        if cat.s3_endpoint:
            conf |= {f"{prefix}.s3.endpoint": cat.s3_endpoint, f"{prefix}.s3.path-style-access": "true"}
    return conf


def ensure_local_catalog(settings: Settings) -> None:
    """Create the local catalog's SQLite tables and warehouse folder (idempotent)."""
    load_catalog(settings)


def load_catalog(settings: Settings | None = None) -> Catalog:
    """A pyiceberg catalog over the same tables Spark writes."""
    settings = settings or get_settings()
    cat = settings.catalog
    if cat.kind == "local":
        from pyiceberg.catalog.sql import SqlCatalog

        settings.warehouse_path.mkdir(parents=True, exist_ok=True)
        settings.catalog_db_path.parent.mkdir(parents=True, exist_ok=True)
        return SqlCatalog(
            cat.name,
            uri=f"sqlite:///{settings.catalog_db_path}?timeout=30",
            warehouse=settings.warehouse_path.resolve().as_uri(),
        )
    from pyiceberg.catalog.glue import GlueCatalog

    props = {"warehouse": cat.s3_warehouse, "glue.region": cat.aws_region, "s3.region": cat.aws_region}
    if cat.glue_endpoint:
        props["glue.endpoint"] = cat.glue_endpoint
    if cat.s3_endpoint:
        props |= {"s3.endpoint": cat.s3_endpoint, "s3.force-virtual-addressing": "false"}
    return GlueCatalog(cat.name, **props)
