"""One typed settings object for every layer.

Values come from defaults, then a `.env` file, then environment variables prefixed with
`LAKEHOUSE_` (nested with `__`, e.g. `LAKEHOUSE_KAFKA__PORT=19092`).  Secrets are
`SecretStr` so they never show up in logs or reprs; AWS credentials are deliberately not
settings at all: boto3, pyiceberg and the Iceberg AWS SDK read them from the standard
`AWS_*` variables themselves.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.trading import ArbitrageRules

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class KafkaSettings(BaseModel):
    """The broker clients talk to, and how the local stack runs its own."""

    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    # The local stack's brokers: 1, or a cluster (3: replicated topics, one broker may die);
    # node i listens on port + 2i and controller_port + 2i.
    brokers: int = Field(default=1, ge=1, le=9)
    # Empty means "the local broker(s)"; set it to point every client at another cluster.
    bootstrap_servers: str = ""
    # Producer tuning (lakehouse.kafka.producer_config): batches of up to 512 KiB, 20 ms linger.
    linger_ms: int = 20
    batch_size: int = 512 * 1024
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "zstd"
    queue_max_messages: int = 500_000
    # How long a record may wait for the cluster before it counts as undelivered (and the
    # producer commands exit non-zero).
    delivery_timeout_ms: int = 120_000
    # How every client (producers, consumers, Spark, Druid's supervisors) connects: PLAINTEXT is
    # the local stack; a production cluster is typically SASL_SSL with SCRAM (e.g. MSK, Confluent).
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: SecretStr | None = None  # LAKEHOUSE_KAFKA__SASL_PASSWORD, from the environment
    # The CA certificate(s) the brokers' certificates chain to, as PEM; None: the system's CAs.
    ssl_ca_location: Path | None = None

    @property
    def bootstrap(self) -> str:
        local = ",".join(f"{self.host}:{self.port + 2 * i}" for i in range(self.brokers))
        return self.bootstrap_servers or local

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> KafkaSettings:
        if self.sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"Kafka security_protocol {self.security_protocol} needs LAKEHOUSE_KAFKA__SASL_USERNAME "
                "and LAKEHOUSE_KAFKA__SASL_PASSWORD"
            )
        return self


class SparkClusterSettings(BaseModel):
    """The local Spark standalone cluster of `stack up --with spark-cluster` (pyspark's own Spark)."""

    host: str = "127.0.0.1"
    port: int = 7077
    webui_port: int = 8080
    workers: int = 2
    cores: int = 1  # per worker: two 1-core workers on a 2-core machine
    memory: str = "2g"  # per worker, for its executors

    @property
    def url(self) -> str:
        return f"spark://{self.host}:{self.port}"


class MotoSettings(BaseModel):
    """Local S3 + Glue (moto in server mode), started by `stack up --with-moto`."""

    host: str = "127.0.0.1"
    port: int = 5001

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


class CatalogSettings(BaseModel):
    """Where Iceberg tables live.

    `local` is the embedded default: a SQLite-backed JDBC catalog (readable by Spark and
    pyiceberg alike) over a `file://` warehouse.  `glue` is production: AWS Glue + S3; the
    endpoint overrides point it at moto in tests.
    """

    kind: Literal["local", "glue"] = "local"
    name: str = "lake"
    namespace: str = "betting"
    local_warehouse: Path | None = None  # default: <state_dir>/warehouse
    local_catalog_db: Path | None = None  # default: <state_dir>/catalog.db
    s3_warehouse: str = "s3://betting-lakehouse/warehouse"
    aws_region: str = "eu-west-1"
    glue_endpoint: str | None = None
    s3_endpoint: str | None = None


class SparkSettings(BaseModel):
    """Sized for a 2-core, 24 GiB machine."""

    master: str = "local[2]"
    driver_memory: str = "4g"  # bronze/silver cache a micro-batch of up to 800,000 records
    shuffle_partitions: int = 2
    ui_enabled: bool = False
    executor_memory: str = "1g"  # on a cluster (a standalone worker of the local stack offers 2g)
    # Any other Spark option, applied last (e.g. spark.kubernetes.container.image for k8s://).
    conf: dict[str, str] = Field(default_factory=dict)


class StreamingSettings(BaseModel):
    """Speed-layer knobs: trigger, lateness and windows (see README, Streaming)."""

    trigger_interval: str = "1 second"
    # Bronze and silver: a backlog drains in big batches, which spread each commit and
    # de-duplication scan over more records (measured 20.8k/s at 200k, 36k/s at 800k).
    max_offsets_per_trigger: int = 800_000
    # The aggregates job: a batch cap, the lateness per game (a quote further behind its game's
    # newest is left out of the live aggregates; silver keeps it), and how long an idle game stays.
    # A backlog drains fastest in big batches: each batch pays a fixed state-store and commit
    # cost (an 800k backlog: 12.3k/s at 200k, 18.8k/s at 800k; docs/benchmarks.md#streaming).
    aggregates_max_offsets_per_trigger: int = 800_000
    aggregates_lateness_s: float = 120.0
    aggregates_idle_s: float = 1800.0
    gold_trigger_interval: str = "10 seconds"  # the gold tables take larger, rarer commits
    # A record dated more than this after its Kafka timestamp moves no watermark: silver keeps it
    # but it moves no (feed, source) mark, and the aggregates leave it out.
    future_s: float = 86400.0
    allowed_lateness_s: float = 3600.0  # silver: older than (latest event time - this) = late
    silver_dedup_window_s: float = 3600.0  # silver: a record re-sent within this is a duplicate
    window_s: int = 60
    steam_threshold_pct: float = 2.0
    steam_min_books: int = 3
    starting_offsets: str = "earliest"
    # Where every query keeps its checkpoint (and its state store): "" is <state_dir>/checkpoints;
    # an object store in production, e.g. s3a://bucket/checkpoints.
    checkpoint_root: str = ""
    # A query that fails is restarted from its checkpoint this many times (1 s, 2 s, 4 s ... apart)
    # before the run fails; 0 (the default) fails the run, non-zero, at the first failure.
    query_restarts: int = 0


class DruidSettings(BaseModel):
    """The serving layer's Druid cluster (started by `lakehouse stack up --with druid`)."""

    host: str = "127.0.0.1"
    zookeeper_port: int = 2181
    router_port: int = 8888  # the router: queries and management APIs behind one URL
    broker_port: int = 8082
    coordinator_port: int = 8081  # the coordinator runs the overlord too
    historical_port: int = 8083
    indexer_port: int = 8091  # an Indexer (tasks as threads), not a middle manager with peon JVMs
    derby_port: int = 1527  # the metadata store, served by the coordinator
    heap: str = "256m"  # per coordinator, broker and historical JVM
    indexer_heap: str = "640m"  # every ingestion task lives in this heap
    zookeeper_heap: str = "96m"
    processing_buffer_mib: int = 32  # per processing thread and merge buffer (direct memory)
    # Concurrent tasks: per supervisor (5 aggregates) one reading and one publishing at roll-over.
    worker_capacity: int = 10
    url: str = ""  # an existing cluster's router/broker URL instead of the local one

    @property
    def broker_url(self) -> str:
        return self.url or f"http://{self.host}:{self.broker_port}"

    @property
    def overlord_url(self) -> str:
        return self.url or f"http://{self.host}:{self.coordinator_port}"


class BatchSettings(BaseModel):
    """The batch layer: where raw files land and which history the backfill covers."""

    raw_zone: str = ""  # "" = <state_dir>/raw; "s3://bucket/prefix" in production
    football_data_dir: Path | None = None  # default: ../shared/data/football-data
    # A site serving football-data's layout (https://www.football-data.co.uk): the backfill then
    # downloads the seasons it is asked for into football_data_dir first.
    football_data_url: str = ""
    leagues: tuple[str, ...] = ("E0", "SP1")


class TradingSettings(BaseModel):
    """How a trader judges an arbitrage window (``lakehouse.trading``): the live aggregates, the
    demo's board and ``lakehouse arbitrage`` all read these."""

    max_quote_age_s: float = 120.0  # a best price quoted this long before the line's newest is stale
    suspect_edge: float = 0.10  # price x consensus fair probability - 1 above this is suspect
    stake_increment: float = 1.0  # stakes round to this (0: unrounded)
    max_stake_per_bookmaker: float | None = None
    # Commission on net winnings per exchange key, over lakehouse.trading.EXCHANGE_COMMISSION's
    # documented defaults (e.g. LAKEHOUSE_TRADING__COMMISSION='{"betfair_ex_uk": 0.02}').
    commission: dict[str, float] = Field(default_factory=dict)

    def rules(self) -> ArbitrageRules:
        return ArbitrageRules(
            max_quote_age_s=self.max_quote_age_s,
            suspect_edge=self.suspect_edge,
            stake_increment=self.stake_increment,
            max_stake_per_bookmaker=self.max_stake_per_bookmaker,
            commission=dict(self.commission),
        )


class WarehouseSettings(BaseModel):
    """Where the marts live: embedded DuckDB by default, Snowflake in production.

    Snowflake logs in with a key pair when ``snowflake_private_key_path`` is set (its passphrase
    is the secret `LAKEHOUSE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE`), else with the secret
    `LAKEHOUSE_SNOWFLAKE_PASSWORD`.
    """

    kind: Literal["duckdb", "snowflake"] = "duckdb"
    duckdb_path: Path | None = None  # default: <state_dir>/warehouse.duckdb
    raw_schema: str = "raw"
    # DuckDB allows one writing process per file: a second backfill (or dbt) waits this long
    # for the lock instead of failing.
    duckdb_lock_timeout_s: float = 600.0
    snowflake_account: str = ""
    snowflake_user: str = ""
    # Each workload connects with its own role and warehouse (infra/snowflake creates them):
    # dbt transforms, the batch layer loads RAW, the API reads MARTS.
    snowflake_role: str = "TRANSFORMER"
    snowflake_warehouse: str = "TRANSFORMING"
    snowflake_loader_role: str = "LOADER"
    snowflake_loader_warehouse: str = "LOADING"
    snowflake_reader_role: str = "ANALYST"
    snowflake_reader_warehouse: str = "REPORTING"
    snowflake_database: str = "BETTING"
    # Key-pair login (Snowflake's advice for services): the PEM file of the user's private key,
    # PKCS#8, encrypted or not; the user's RSA_PUBLIC_KEY holds the public half.
    snowflake_private_key_path: Path | None = None
    snowflake_host: str | None = None  # a local emulator in tests (fakesnow server)
    snowflake_port: int | None = None
    snowflake_protocol: str = "https"


class AirflowSettings(BaseModel):
    """The local Airflow of `stack up --with airflow` (`airflow standalone`: UI and REST API,
    scheduler, DAG processor, triggerer), home and SQLite metadata under ``<state>/airflow``.
    On a loopback host everyone is admin (no login); on any other host Airflow's generated
    admin password applies (in ``<state>/airflow/simple_auth_manager_passwords.json.generated``)."""

    host: str = "127.0.0.1"
    port: int = 8090  # 8080 is the Spark master's UI, 8081-8091 Druid's


class ApiSettings(BaseModel):
    """The query and ingestion API (`lakehouse api serve`, see README, API)."""

    host: str = "127.0.0.1"
    port: int = 8000
    # API keys are stored hashed: `lakehouse api key --scopes read,ingest` prints a new key and the
    # line to add here or to the keys file ("name:scope+scope:sha256 hex", comma-separated).
    keys: str = ""
    keys_file: Path | None = None
    rate_per_minute: int = 600  # per key; over it: 429 with Retry-After
    ingest_rate_per_minute: int = 120  # per key, on POST /v1/ingest
    max_body_bytes: int = 5_000_000  # a larger request body: 413
    max_records: int = 10_000  # per ingest request
    page_size: int = 100  # default `limit`; at most max_page_size
    max_page_size: int = 1_000
    cors_origins: list[str] = Field(default_factory=list)  # e.g. ["https://board.example.com"]
    live_timeout_s: float = 10.0  # a Druid query for a live endpoint
    # The board and arbitrage answers are kept this long (one Druid query per game and second
    # whatever the number of pollers); the WebSocket (/v1/stream) is the real-time path.
    live_cache_ms: int = Field(default=1000, ge=0, le=60_000)
    # /status may add a language model's summary of its findings (off unless a URL is set): an
    # OpenAI-compatible chat-completions endpoint; its key is LAKEHOUSE_SUMMARY_API_KEY.
    summary_url: str = ""
    summary_model: str = ""


class Settings(BaseSettings):
    """Everything configurable, in one place."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    project_root: Path = PROJECT_ROOT
    cache_dir: Path = PROJECT_ROOT / ".cache"
    state_dir: Path = PROJECT_ROOT / ".local"
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    moto: MotoSettings = Field(default_factory=MotoSettings)
    spark_cluster: SparkClusterSettings = Field(default_factory=SparkClusterSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    streaming: StreamingSettings = Field(default_factory=StreamingSettings)
    druid: DruidSettings = Field(default_factory=DruidSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    trading: TradingSettings = Field(default_factory=TradingSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    airflow: AirflowSettings = Field(default_factory=AirflowSettings)

    # Secrets: only ever read from the environment.
    odds_api_key: SecretStr | None = None
    newsapi_key: SecretStr | None = None
    gnews_key: SecretStr | None = None
    openweather_key: SecretStr | None = None
    snowflake_password: SecretStr | None = None
    snowflake_private_key_passphrase: SecretStr | None = None
    summary_api_key: SecretStr | None = None

    def snowflake_connection(
        self, timeout_s: float, workload: Literal["transform", "load", "read", "admin"] = "transform"
    ) -> dict[str, Any]:
        """``snowflake.connector.connect`` keyword arguments for a workload (its role and warehouse;
        ``admin`` keeps the user's default role, for `lakehouse warehouse setup`), logging in with
        the key pair if one is configured, else the password."""
        wh = self.warehouse
        kwargs: dict[str, Any] = {
            "account": wh.snowflake_account,
            "user": wh.snowflake_user,
            "database": wh.snowflake_database,
            "login_timeout": timeout_s,
            "network_timeout": timeout_s,
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        }
        if wh.snowflake_private_key_path is not None:
            kwargs["private_key"] = _snowflake_private_key(
                wh.snowflake_private_key_path, self.snowflake_private_key_passphrase
            )
        elif self.snowflake_password is not None:
            kwargs["password"] = self.snowflake_password.get_secret_value()
        else:
            raise ValueError(
                "Snowflake needs a password (LAKEHOUSE_SNOWFLAKE_PASSWORD) or a private key "
                "(LAKEHOUSE_WAREHOUSE__SNOWFLAKE_PRIVATE_KEY_PATH)"
            )
        role, warehouse = {
            "transform": (wh.snowflake_role, wh.snowflake_warehouse),
            "load": (wh.snowflake_loader_role, wh.snowflake_loader_warehouse),
            "read": (wh.snowflake_reader_role, wh.snowflake_reader_warehouse),
        }.get(workload, (None, None))
        if role:
            kwargs |= {"role": role, "warehouse": warehouse}
        if wh.snowflake_host:
            kwargs |= {"host": wh.snowflake_host, "protocol": wh.snowflake_protocol}
        if wh.snowflake_port:
            kwargs["port"] = wh.snowflake_port
        return kwargs

    @property
    def jars_dir(self) -> Path:
        return self.cache_dir / "jars"

    @property
    def stack_dir(self) -> Path:
        return self.state_dir / "stack"

    @property
    def checkpoint_dir(self) -> Path:
        return self.state_dir / "checkpoints"

    def checkpoint_location(self, query: str) -> str:
        """The checkpoint of one streaming query: local by default, any Hadoop URI when configured."""
        root = self.streaming.checkpoint_root
        return f"{root.rstrip('/')}/{query}" if root else str(self.checkpoint_dir / query)

    @property
    def warehouse_path(self) -> Path:
        return self.catalog.local_warehouse or self.state_dir / "warehouse"

    @property
    def catalog_db_path(self) -> Path:
        return self.catalog.local_catalog_db or self.state_dir / "catalog.db"

    @property
    def raw_zone(self) -> str:
        """Landing zone for raw batch files: a local folder by default, an s3:// URI in production."""
        return self.batch.raw_zone or str(self.state_dir / "raw")

    @property
    def football_data_dir(self) -> Path:
        return self.batch.football_data_dir or self.shared_data_dir / "football-data"

    @property
    def duckdb_path(self) -> Path:
        return self.warehouse.duckdb_path or self.state_dir / "warehouse.duckdb"

    @property
    def shared_data_dir(self) -> Path:
        """Real captured data shipped beside the project (see ../shared/data/README.md)."""
        return self.project_root.parent / "shared" / "data"


def _snowflake_private_key(path: Path, passphrase: SecretStr | None) -> bytes:
    """The key as the connector takes it (DER, PKCS#8), read here so a wrong file or passphrase is
    one clear line rather than the connector's traceback."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(), passphrase.get_secret_value().encode() if passphrase else None
        )
    except (OSError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).split("\n")[0]
        raise ValueError(
            f"cannot read the Snowflake private key {path}: {reason} (a PEM private key; "
            "its passphrase is LAKEHOUSE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE)"
        ) from None
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own `Settings`)."""
    return Settings()
