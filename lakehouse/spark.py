"""The one SparkSession factory every Spark job and test uses."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from lakehouse.catalog import spark_catalog_conf
from lakehouse.config import Settings, get_settings
from lakehouse.jvm import module_jars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_conf(settings: Settings | None = None, app_name: str = "lakehouse") -> dict[str, str]:
    """The full configuration, separate from the session so it can be inspected and tested."""
    settings = settings or get_settings()
    sp = settings.spark
    conf = {
        "spark.app.name": app_name,
        "spark.master": sp.master,
        "spark.driver.memory": sp.driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": str(sp.ui_enabled).lower(),
        # Jobs log their own batch metrics; Spark's console progress bars only garble those logs.
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(sp.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.jars": ",".join(str(j) for j in module_jars("spark", settings)),
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.defaultCatalog": settings.catalog.name,
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
        "spark.local.dir": str(settings.state_dir / "spark-tmp"),
        # Validation of a feed record is one wide projection; its generated method is ~50 KB of
        # bytecode, above HotSpot's 8 KB JIT limit, and ran interpreted (measured 2-3x slower).
        # A 16 MB thread stack: Spark formats errors about the validation plan (a very long string)
        # with a recursive regex, which overflowed the default stack when a query stopped.
        "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods -Xss16m",
        "spark.executor.extraJavaOptions": "-XX:-DontCompileHugeMethods -Xss16m",
        "spark.executor.memory": sp.executor_memory,
        # Executors on a cluster run the driver's interpreter (the project installed in it).
        "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON", sys.executable),
        # Don't hoist an expression out of the `&`/`|` that guards it: validation extracts a
        # field's raw text only for records whose typed value is null (measured 4x on parse).
        "spark.sql.subexpressionElimination.skipForShortcutExpr": "true",
        # Micro-batches are cached for a few seconds; compressing them cost more than it saved
        # (measured: caching 400,000 Kafka records 3.4 s compressed, 2.9 s not, read included).
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # Stateful operators keep their state in RocksDB (required by transformWithState), and
        # checkpoint only the changes of each batch.
        "spark.sql.streaming.stateStore.providerClass": (
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
        ),
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
        # Counting the state's rows costs a RocksDB read before every write (silver's de-duplication
        # writes one key per record: measured 9-12 s against 6-7 s of task CPU for 400,000 quotes).
        # The count is only a progress metric: read the state itself (the state data source).
        "spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows": "false",
        # An idle query reports progress every second, not every ten: a drain (`--available-now`)
        # ends on an idle query's progress, and waited up to 10 s per job for it.
        "spark.sql.streaming.noDataProgressEventInterval": "1000",
    }
    conf |= spark_catalog_conf(settings)
    conf |= s3a_conf(settings)
    return conf | sp.conf


def s3a_conf(settings: Settings) -> dict[str, str]:
    """Hadoop's S3A for ``s3a://`` checkpoints: the catalog's region, and its S3 endpoint if one is
    set (moto or another S3-compatible store, path-style).  Credentials come from the standard
    ``AWS_*`` variables through the SDK's default chain, as for the catalog."""
    cat = settings.catalog
    conf = {
        "spark.hadoop.fs.s3a.endpoint.region": cat.aws_region,
        # The state store uploads its files with copyFromLocalFile; S3A's "optimized" path (the SDK's
        # transfer manager) never completed here (every task parked in CopyFromLocalOperation), the
        # plain stream upload does.
        "spark.hadoop.fs.s3a.optimized.copy.from.local.enabled": "false",
    }
    if cat.s3_endpoint:
        conf |= {
            "spark.hadoop.fs.s3a.endpoint": cat.s3_endpoint,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(cat.s3_endpoint.startswith("https")).lower(),
        }
    return conf


def build_spark_session(
    settings: Settings | None = None, app_name: str = "lakehouse", extra_conf: dict[str, str] | None = None
) -> SparkSession:
    """A SparkSession with the Kafka and Iceberg jars and the configured Iceberg catalog.

    Spark allows one active session per process; asking again returns the existing one
    (and applies only runtime-settable options), so build it once per process.
    """
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in (spark_conf(settings, app_name) | (extra_conf or {})).items():
        builder = builder.config(key, value)
    existing = SparkSession.getActiveSession()
    session = builder.getOrCreate()
    if existing is None:  # a caller that set another level on its session keeps it
        session.sparkContext.setLogLevel("WARN")
    return session
