"""The Spark session factory's configuration for both catalogs (no JVM needed)."""

from __future__ import annotations

from pathlib import Path

from lakehouse.catalog import spark_catalog_conf
from lakehouse.config import CatalogSettings, Settings
from lakehouse.spark import spark_conf


def test_local_catalog_is_jdbc_sqlite_over_a_file_warehouse(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    conf = spark_conf(settings)
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.catalog.lake"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.lake.catalog-impl"] == "org.apache.iceberg.jdbc.JdbcCatalog"
    assert conf["spark.sql.catalog.lake.uri"] == (
        f"jdbc:sqlite:{tmp_path / 'catalog.db'}?journal_mode=WAL&busy_timeout=30000"
    )
    assert conf["spark.sql.catalog.lake.warehouse"] == (tmp_path / "warehouse").as_uri()
    jars = conf["spark.jars"].split(",")
    names = {Path(j).name for j in jars}
    assert any(n.startswith("spark-sql-kafka-0-10_2.13-4.0.0") for n in names)
    assert any(n.startswith("iceberg-spark-runtime-4.0_2.13-1.10") for n in names)
    assert any(n.startswith("iceberg-aws-bundle") for n in names)
    # Spark's own jars come from the pyspark wheel: never a second copy on the classpath.
    assert not any(n.startswith(("scala-library", "hadoop-client", "spark-tags")) for n in names)


def test_glue_catalog_uses_s3fileio_and_endpoint_overrides_without_credentials() -> None:
    settings = Settings(
        catalog=CatalogSettings(
            kind="glue",
            name="prod",
            s3_warehouse="s3://bucket/wh",
            glue_endpoint="http://127.0.0.1:5001",
            s3_endpoint="http://127.0.0.1:5001",
        )
    )
    conf = spark_catalog_conf(settings)
    assert conf["spark.sql.catalog.prod.catalog-impl"] == "org.apache.iceberg.aws.glue.GlueCatalog"
    assert conf["spark.sql.catalog.prod.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf["spark.sql.catalog.prod.glue.endpoint"] == "http://127.0.0.1:5001"
    assert conf["spark.sql.catalog.prod.s3.path-style-access"] == "true"
    assert not any("secret" in k or "access-key" in k for k in conf), "credentials come from AWS_* env only"


def test_glue_catalog_in_production_has_no_endpoint_overrides() -> None:
    conf = spark_catalog_conf(Settings(catalog=CatalogSettings(kind="glue")))
    assert not any(k.endswith((".glue.endpoint", ".s3.endpoint")) for k in conf)
