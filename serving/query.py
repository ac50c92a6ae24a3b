"""Queries over the aggregates in Druid: SQL through pydruid's DB-API, native through its client.

The one place tests, benchmarks and CLI reports read Druid from, so every error says which
query failed and where. Datasources are the aggregate names and `__time` is each aggregate's
time column (see `serving.specs`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import requests
import structlog
from pydruid.client import PyDruid
from pydruid.db import connect
from pydruid.db import exceptions as db_exceptions
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from lakehouse.config import Settings
from lakehouse.schemas import AGGREGATE_TYPES, ListOf

log = structlog.get_logger(__name__)

ETERNITY = "1000-01-01/3000-01-01"
# Druid errors that a moment later are gone. When an ingestion task ends (hand-off at each
# taskDuration, a supervisor update, a restart), the Indexer drops the datasource's query runner
# before the broker's server view hears of it; a query routed there in that window fails with
# this message (UnifiedIndexerAppenderatorsManager), and the same query a moment later does not.
TRANSIENT_ERRORS = ("Could not find segment walker for datasource",)
ARRAY_COLUMNS = frozenset(
    f.name for agg in AGGREGATE_TYPES.values() for f in agg.fields if isinstance(f.type, ListOf)
)


class DruidQueryError(RuntimeError):
    """Druid refused or failed a query, or could not be reached; the message names the query."""


class DruidQuery:
    """A client of one broker (or router): `sql` for most reads, native helpers for dashboards' shapes."""

    def __init__(self, broker_url: str, timeout_s: float = 30.0, transient_retry_s: float = 10.0) -> None:
        url = urlparse(broker_url.rstrip("/"))
        if not url.hostname or not url.port:
            raise ValueError(f"broker URL needs a host and a port: {broker_url!r}")
        self.url = broker_url.rstrip("/")
        self.timeout_s = timeout_s
        self.transient_retry_s = transient_retry_s
        self._connection = connect(
            host=url.hostname,
            port=url.port,
            path="/druid/v2/sql/",
            scheme=url.scheme or "http",
            context={
                # Druid cancels the query itself after this; pydruid's HTTP call has no timeout of its own.
                "timeout": int(timeout_s * 1000),
                "sqlTimeZone": "Etc/UTC",
            },
        )
        self._native = PyDruid(self.url, "druid/v2")

    @classmethod
    def from_settings(cls, settings: Settings) -> DruidQuery:
        return cls(settings.druid.broker_url)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> DruidQuery:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- SQL -------------------------------------------------------------------------------
    def sql(self, query: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run Druid SQL and return the rows as dicts keyed by column name.

        `parameters` fill `%(name)s` placeholders, quoted by pydruid (strings escaped, numbers
        as is, lists as comma-separated values for `IN (...)`); with parameters a literal `%`
        in the query is written `%%`. A transient error (see `TRANSIENT_ERRORS`) is retried for up
        to `transient_retry_s`.
        """
        return self._retrying(self._sql, query, parameters)

    def _sql(self, query: str, parameters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(query, dict(parameters) if parameters else None)
            rows = cursor.fetchall()
            names = [column[0] for column in cursor.description or []]
        except db_exceptions.Error as exc:
            raise DruidQueryError(f"Druid SQL failed: {exc}\n  query: {_one_line(query)}") from exc
        except requests.RequestException as exc:
            raise DruidQueryError(f"Druid broker {self.url} unreachable: {exc}") from exc
        finally:
            cursor.close()
        # pydruid's rows are namedtuples that rename `__time`; the description keeps the real names.
        return [_decode_arrays(dict(zip(names, row, strict=True))) for row in rows]

    def count(self, datasource: str, where: str = "", parameters: Mapping[str, Any] | None = None) -> int:
        """Rows of a datasource (optionally filtered); 0 while the datasource does not exist yet."""
        if datasource not in self.datasources():
            return 0
        clause = f" WHERE {where}" if where else ""
        rows = self.sql(f'SELECT COUNT(*) AS "rows" FROM {quote(datasource)}{clause}', parameters)
        return int(rows[0]["rows"])

    def datasources(self) -> set[str]:
        """Datasources the broker can query (realtime ones included)."""
        rows = self.sql("SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid'")
        return {r["TABLE_NAME"] for r in rows}

    def wait_queryable(
        self,
        datasource: str,
        min_rows: int = 1,
        timeout_s: float = 60.0,
        where: str = "",
        parameters: Mapping[str, Any] | None = None,
        poll_s: float = 0.2,
    ) -> int:
        """Poll until at least `min_rows` rows (matching `where`) are queryable; return the count."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while True:
            seen = self.count(datasource, where, parameters)
            if seen >= min_rows:
                return seen
            if time.monotonic() >= deadline:
                raise DruidQueryError(
                    f"{datasource}: {seen} of {min_rows} rows queryable after {timeout_s:.0f}s"
                    f"{' where ' + where if where else ''}; is its supervisor RUNNING?"
                )
            time.sleep(poll_s)

    # --- native ----------------------------------------------------------------------------
    def timeseries(
        self,
        datasource: str,
        aggregations: Mapping[str, Any],
        granularity: str = "minute",
        intervals: str = ETERNITY,
        filter: Any = None,
    ) -> list[dict[str, Any]]:
        """One row per time bucket: `{"timestamp": ..., <aggregation>: value, ...}`.

        `aggregations` are pydruid's (`pydruid.utils.aggregators.count("rows")`, `doublemax(...)`).
        """
        query = self._native_call(
            "timeseries",
            datasource=datasource,
            granularity=granularity,
            intervals=intervals,
            aggregations=dict(aggregations),
            **({"filter": filter} if filter is not None else {}),
        )
        return [{"timestamp": r["timestamp"], **r["result"]} for r in query.result]

    def top_n(
        self,
        datasource: str,
        dimension: str,
        metric: str,
        aggregations: Mapping[str, Any],
        threshold: int = 10,
        intervals: str = ETERNITY,
        filter: Any = None,
    ) -> list[dict[str, Any]]:
        """The `threshold` values of `dimension` with the highest `metric`, over the whole interval."""
        query = self._native_call(
            "topn",
            datasource=datasource,
            granularity="all",
            intervals=intervals,
            dimension=dimension,
            metric=metric,
            threshold=threshold,
            aggregations=dict(aggregations),
            **({"filter": filter} if filter is not None else {}),
        )
        return list(query.result[0]["result"]) if query.result else []

    def _native_call(self, kind: str, **kwargs: Any) -> Any:
        return self._retrying(self._native_once, kind, **kwargs)

    def _native_once(self, kind: str, **kwargs: Any) -> Any:
        kwargs["context"] = {"timeout": int(self.timeout_s * 1000)}
        try:
            return getattr(self._native, kind)(**kwargs)
        except OSError as exc:  # pydruid raises IOError for HTTP and connection errors alike
            raise DruidQueryError(
                f"Druid native {kind} on {kwargs.get('datasource')!r} failed: {exc}"
            ) from exc

    def _retrying(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """`call` again while it fails with a transient Druid error, for up to `transient_retry_s`."""

        def note(state: Any) -> None:
            error = str(state.outcome.exception())[:300]
            log.warning("druid query retried", attempt=state.attempt_number, error=error)

        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_delay(self.transient_retry_s),
            wait=wait_exponential(multiplier=0.1, max=1.0),
            before_sleep=note,
            reraise=True,
        )
        return retrying(call, *args, **kwargs)


def is_transient(exc: BaseException) -> bool:
    """A Druid error that the same query does not meet a moment later."""
    return isinstance(exc, DruidQueryError) and any(t in str(exc) for t in TRANSIENT_ERRORS)


def _decode_arrays(row: dict[str, Any]) -> dict[str, Any]:
    """The aggregates' list columns back as lists.

    Druid sends ARRAY values as JSON text unless asked not to, and pydruid's DB-API cannot
    type a list value, so they travel as text and are decoded here by column name.
    """
    for name in ARRAY_COLUMNS.intersection(row):
        value = row[name]
        if isinstance(value, str) and value.startswith("["):
            row[name] = json.loads(value)
    return row


def quote(identifier: str) -> str:
    """A Druid SQL identifier (datasource or column) in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def _one_line(query: str) -> str:
    return " ".join(query.split())[:500]
