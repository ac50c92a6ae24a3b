"""Data quality with Great Expectations: suites generated from the table definitions plus domain rules.

Each table's suite has two parts:

* **From its definition**, so a new column is checked without an edit here: the columns exist, a
  required column is never null, and the shared schema's constraints (enum, bounds, pattern,
  minimum length; ``lakehouse.schemas``) hold.
* **Domain rules** the schema cannot say: decimal prices above 1, no duplicate event ids, kick-off
  times plausible for when the quote or match happened, a complete market's overround within the
  bounds of its kind of bookmaker, consensus fair probabilities of a line summing to 1.

Policy: an expectation is ``critical`` or ``warning``. Before a warehouse load (the backfill and
``lake_to_warehouse``), a failed critical expectation stops the load before any row is written:
the warehouse keeps its last good state and the task fails naming the expectation; warnings are
recorded and the load goes on. On the schedule (``data_quality``), every result is recorded and
the run fails on a critical failure. Results go to ``pipeline.health`` (component
``quality``, labelled with the stage and table) and to Data Docs (HTML under ``<state_dir>/quality``).

Great Expectations is imported only when a suite runs: it takes seconds to import, and the DAG
files that name this module must parse fast.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from iceberg.history import FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS
from iceberg.tables import GOLD_TABLES, SILVER_FEEDS, TableDef
from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.log import get_logger
from lakehouse.schemas import AGGREGATE_TYPES, EVENT_TYPES
from lakehouse.schemas.fields import Field

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyiceberg.catalog import Catalog

log = get_logger(__name__)

Severity = Literal["critical", "warning"]

OVERROUND_BOUNDS: dict[str, tuple[float, float]] = {
    "bookmaker": (1.0, 1.30),
    "exchange": (0.95, 1.10),
    "composite": (0.90, 1.30),
}
"""A complete market's overround per bookmaker kind: a book prices above 100% (margins of 2-15%
are usual, 30% is a broken feed); an exchange's back prices sit near 100% either side; composites
(market maximum, average) go below 100% when the best prices of different books meet."""

FAIR_SUM_TOLERANCE = 1e-9
"""How far a line's consensus fair probabilities may sum from 1 (float error only)."""


@dataclass(frozen=True)
class Expect:
    """One expectation as data: a Great Expectations class name, its arguments and severity."""

    kind: str  # e.g. "ExpectColumnValuesToBeBetween"
    args: Mapping[str, Any]
    severity: Severity = "critical"
    frame: str = "rows"  # "rows", or the name of a derived frame the rule checks
    where: tuple[str, str] | None = None  # (column, value): only the rows where column == value

    @property
    def label(self) -> str:
        """``expect_column_values_to_be_between(price)``: how a failure is named."""
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in self.kind).lstrip("_")
        target = self.args.get("column") or ",".join(self.args.get("column_list", ())) or ""
        where = f' where {self.where[0]}=="{self.where[1]}"' if self.where else ""
        on = f" on {self.frame}" if self.frame != "rows" else ""
        return f"{snake}({target}){where}{on}"


@dataclass(frozen=True)
class Suite:
    """A table's expectations, and how to derive the frames its domain rules check."""

    table: str  # warehouse-style name, e.g. "silver_odds_quotes"
    expectations: tuple[Expect, ...]
    derived: Mapping[str, Callable[[pd.DataFrame], pd.DataFrame]] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """A failed expectation: its name, severity, how many values broke it and a few of them."""

    expectation: str
    severity: Severity
    unexpected: int | None
    examples: tuple[Any, ...]
    error: str | None = None  # the expectation could not be evaluated (a missing column...)

    def __str__(self) -> str:
        if self.error:
            return f"{self.severity}: {self.expectation} could not run: {self.error}"
        count = "" if self.unexpected is None else f" ({self.unexpected} unexpected"
        shown = f", e.g. {[str(v) for v in self.examples[:3]]})" if self.examples else (")" if count else "")
        return f"{self.severity}: {self.expectation}{count}{shown}"


@dataclass
class QualityResult:
    """One suite run over one batch of a table."""

    table: str
    rows: int
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """No critical expectation failed (warnings do not stop a load)."""
        return not any(f.severity == "critical" for f in self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "evaluated": self.evaluated,
            "passed": self.passed,
            "failures": [str(f) for f in self.failures],
            "seconds": self.seconds,
        }


class QualityError(RuntimeError):
    """A critical expectation failed: the batch must not reach the warehouse."""

    def __init__(self, results: Sequence[QualityResult]) -> None:
        self.results = list(results)
        failed = [f"{r.table}: {f}" for r in results for f in r.failures if f.severity == "critical"]
        super().__init__("data quality check failed: " + "; ".join(failed))


# --- suites from the definitions ---------------------------------------------------------------


def _field_expectations(f: Field) -> list[Expect]:
    out: list[Expect] = []
    if f.enum is not None:
        out.append(Expect("ExpectColumnValuesToBeInSet", {"column": f.name, "value_set": list(f.enum)}))
    low = f.minimum if f.minimum is not None else f.exclusive_minimum
    high = f.maximum if f.maximum is not None else f.exclusive_maximum
    if low is not None or high is not None:
        between: dict[str, Any] = {"column": f.name, "min_value": low, "max_value": high}
        if f.exclusive_minimum is not None and f.minimum is None:
            between["strict_min"] = True
        if f.exclusive_maximum is not None and f.maximum is None:
            between["strict_max"] = True
        out.append(Expect("ExpectColumnValuesToBeBetween", between))
    if f.pattern is not None:
        out.append(Expect("ExpectColumnValuesToMatchRegex", {"column": f.name, "regex": f.pattern}))
    if f.min_length is not None:
        out.append(
            Expect("ExpectColumnValueLengthsToBeBetween", {"column": f.name, "min_value": f.min_length})
        )
    return out


def definition_expectations(td: TableDef, fields: Sequence[Field] = ()) -> list[Expect]:
    """The table's columns exist, required ones are never null, and the shared schema's constraints
    on its fields hold."""
    columns = [c.name for c in td.schema.fields]
    out = [Expect("ExpectTableColumnsToMatchSet", {"column_set": columns, "exact_match": False})]
    out += [
        Expect("ExpectColumnValuesToNotBeNull", {"column": c.name}) for c in td.schema.fields if c.required
    ]
    for f in fields:
        out += _field_expectations(f)
    return out


# --- domain rules ----------------------------------------------------------------------------------


def _complete_markets(odds: pd.DataFrame) -> pd.DataFrame:
    """Football-data markets priced on every selection, with their overround and bookmaker kind."""
    keys = ["match_id", "bookmaker_code", "market", "phase"]
    grouped = odds.assign(implied=1.0 / odds["price"]).groupby(keys, sort=False)
    markets = grouped.agg(
        bookmaker_kind=("bookmaker_kind", "first"),
        selections=("selection", "nunique"),
        overround=("implied", "sum"),
    ).reset_index()
    expected = markets["market"].map(lambda m: 3 if m == "h2h" else 2)
    return markets[markets["selections"] == expected]


def _consensus_lines(bars: pd.DataFrame) -> pd.DataFrame:
    """Per window, game, market and line (in the home side's terms): the consensus fair
    probabilities of its selections summed, where every selection of the line has one."""
    import pandas as pd

    priced = bars[bars["fair_prob_shin"].notna()].copy()
    if priced.empty:
        return pd.DataFrame({"fair_prob_shin_sum": [], "fair_prob_multiplicative_sum": [], "selections": []})
    away_side = (priced["market"] == "spreads") & (priced["selection"] == "away")
    priced["line"] = priced["point"].where(~away_side, -priced["point"]).fillna(-1000.0)
    keys = ["window_start", "game_id", "market", "line"]
    selections = priced.drop_duplicates([*keys, "selection"])
    lines = selections.groupby(keys, sort=False).agg(
        fair_prob_shin_sum=("fair_prob_shin", "sum"),
        fair_prob_multiplicative_sum=("fair_prob_multiplicative", "sum"),
        selections=("selection", "nunique"),
        has_draw=("selection", lambda s: bool((s == "draw").any())),
    )
    lines = lines.reset_index()
    two_way = lines["market"] != "h2h"
    complete = lines["selections"] == 2 + (~two_way & lines["has_draw"]).astype(int)
    return lines[complete & (lines["selections"] >= 2)]


def _kickoff_lead(quotes: pd.DataFrame) -> pd.DataFrame:
    """Days from each quote (or update) to its game's kick-off."""
    lead = (quotes["commence_time"] - quotes["event_time"]).dt.total_seconds() / 86400.0
    return quotes.assign(kickoff_lead_days=lead)


def _fair_sum(column: str) -> Expect:
    return Expect(
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": 1 - FAIR_SUM_TOLERANCE, "max_value": 1 + FAIR_SUM_TOLERANCE},
        frame="lines",
    )


def _overround_bounds() -> list[Expect]:
    return [
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "overround", "min_value": low, "max_value": high},
            severity="warning",
            frame="markets",
            where=("bookmaker_kind", kind),
        )
        for kind, (low, high) in OVERROUND_BOUNDS.items()
    ]


_PRICE_ABOVE_ONE = Expect(
    "ExpectColumnValuesToBeBetween", {"column": "price", "min_value": 1.0, "strict_min": True}
)
_FIRST_MATCH_DAY = datetime(1993, 7, 1, tzinfo=UTC)  # football-data's first season


def _plausible_lead(low_days: float, high_days: float) -> Expect:
    """Kick-off within [low, high] days of the quote: a game is priced weeks ahead, and in play
    for a few hours after kick-off, never years away (a unit or time-zone mistake)."""
    return Expect(
        "ExpectColumnValuesToBeBetween",
        {"column": "kickoff_lead_days", "min_value": low_days, "max_value": high_days},
    )


def _latest_plausible() -> datetime:
    """Two years ahead: no fixture list reaches further."""
    return datetime.now(UTC) + timedelta(days=2 * 366)


def suites() -> dict[str, Suite]:
    """Every checked table's suite, keyed by its warehouse-style name (``silver_odds_quotes``)."""
    out: dict[str, Suite] = {}
    odds = FOOTBALL_DATA_ODDS
    out[odds.name] = Suite(
        odds.name,
        (
            *definition_expectations(odds),
            _PRICE_ABOVE_ONE,
            Expect(
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": ["match_id", "bookmaker_code", "market", "selection", "phase"]},
            ),
            *_overround_bounds(),
        ),
        {"markets": _complete_markets},
    )
    matches = FOOTBALL_DATA_MATCHES
    out[matches.name] = Suite(
        matches.name,
        (
            *definition_expectations(matches),
            Expect("ExpectColumnValuesToBeUnique", {"column": "match_id"}),
            Expect(
                "ExpectColumnValuesToBeBetween",
                {
                    # a date column: bounds as ISO text (pandas compares datetimes only with datetimes)
                    "column": "match_date",
                    "min_value": _FIRST_MATCH_DAY.date().isoformat(),
                    "max_value": _latest_plausible().date().isoformat(),
                },
            ),
        ),
    )
    for feed, td in SILVER_FEEDS.items():
        name = f"{td.namespace}_{td.name}"
        rules: list[Expect] = [Expect("ExpectColumnValuesToBeUnique", {"column": "event_id"})]
        derived: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {}
        if feed in ("odds", "games"):
            rules.append(
                Expect(
                    "ExpectColumnValuesToBeBetween",
                    {
                        "column": "commence_time",
                        "min_value": _FIRST_MATCH_DAY,
                        "max_value": _latest_plausible(),
                    },
                )
            )
        if feed == "odds":
            rules += [_PRICE_ABOVE_ONE, _plausible_lead(-2, 400)]
        out[name] = Suite(name, (*definition_expectations(td, EVENT_TYPES[feed].fields), *rules), derived)
    aggregates = {t.name: t for t in AGGREGATE_TYPES.values()}
    for agg, td in GOLD_TABLES.items():
        name = f"{td.namespace}_{td.name}"
        gold_rules: list[Expect] = []
        gold_derived: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {}
        if agg == "market_agg_1m":
            gold_rules += [_fair_sum("fair_prob_shin_sum"), _fair_sum("fair_prob_multiplicative_sum")]
            gold_derived["lines"] = _consensus_lines
        out[name] = Suite(
            name, (*definition_expectations(td, aggregates[agg].fields), *gold_rules), gold_derived
        )
    return out


def _frames(suite: Suite, rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    frames = {"rows": rows}
    for name, derive in suite.derived.items():
        frames[name] = derive(rows)
    if "kickoff_lead_days" in {e.args.get("column") for e in suite.expectations}:
        frames["rows"] = _kickoff_lead(rows)
    return frames


# --- running -----------------------------------------------------------------------------------


def quality_root(settings: Settings) -> Path:
    """The Great Expectations project (suites, results, Data Docs) under the state dir."""
    return settings.state_dir / "quality"


def data_docs_index(settings: Settings) -> Path:
    return quality_root(settings) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _context(root: Path) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no network: nothing leaves the machine
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _validate(context: Any, suite: Suite, frame: str, data: pd.DataFrame, run_id: Any) -> list[Failure]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    expects = [e for e in suite.expectations if e.frame == frame]
    name = f"{suite.table}__{frame}"
    source = context.data_sources.add_or_update_pandas("lakehouse")
    asset = next((a for a in source.assets if a.name == name), None) or source.add_dataframe_asset(name)
    batch = next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_dataframe("rows")
    gx_suite = gx.ExpectationSuite(name=name)
    for e in expects:
        where = {"row_condition": Column(e.where[0]) == e.where[1]} if e.where else {}
        gx_suite.add_expectation(
            getattr(gxe, e.kind)(**e.args, **where, meta={"severity": e.severity, "label": e.label})
        )
    gx_suite = context.suites.add_or_update(gx_suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=gx_suite)
    )
    result = definition.run(batch_parameters={"dataframe": data}, result_format="SUMMARY", run_id=run_id)
    failures = []
    for r in result.results:
        if r.success:
            continue
        meta = r.expectation_config.meta or {}
        res = r.result or {}
        examples = res.get("partial_unexpected_list") or res.get("details", {}).get("mismatched") or ()
        error = _error_of(r.exception_info)
        failures.append(
            Failure(meta["label"], meta["severity"], res.get("unexpected_count"), tuple(examples), error)
        )
    return failures


def _error_of(info: Mapping[str, Any] | None) -> str | None:
    """The first exception message of an expectation that raised, on its last line."""
    if not info:
        return None
    found = [info] if "exception_message" in info else [v for v in info.values() if isinstance(v, Mapping)]
    for item in found:
        message = item.get("exception_message") or item.get("exception_traceback")
        if message:
            return str(message).strip().splitlines()[-1]
    return None


def run_suite(context: Any, suite: Suite, rows: pd.DataFrame, run_id: Any = None) -> QualityResult:
    """The suite over ``rows`` and the frames its domain rules derive from them."""
    started = time.perf_counter()
    result = QualityResult(suite.table, len(rows))
    for frame, data in _frames(suite, rows).items():
        result.failures += _validate(context, suite, frame, data, run_id)
        result.evaluated += sum(1 for e in suite.expectations if e.frame == frame)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def check(
    settings: Settings,
    batches: Mapping[str, pd.DataFrame],
    *,
    stage: str,
    health: HealthReporter | None = None,
) -> list[QualityResult]:
    """Each table's suite over its rows (``batches`` by warehouse-style table name); every result
    logged, sent to ``pipeline.health`` and published in Data Docs. Raises nothing: see ``enforce``."""
    known = suites()
    unknown = sorted(set(batches) - set(known))
    if unknown:
        raise ValueError(
            f"no data-quality suite for {', '.join(unknown)}; suites: {', '.join(sorted(known))}"
        )
    root = quality_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    results: list[QualityResult] = []
    with open(root / ".lock", "w") as lock:  # one writer of the project at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        context = _context(root)
        run_id = _run_id(stage)
        for table, rows in batches.items():
            result = run_suite(context, known[table], rows, run_id)
            results.append(result)
            log.info("data quality", stage=stage, **result.as_dict())
        _publish(context, run_id)
    _report(settings, results, stage, health)
    return results


KEPT_RESULTS = 200
"""Validation results kept in the project (the newest; Data Docs' index lists them): a DAG that
runs hourly would otherwise grow the store, and each index build, without end."""


def _run_id(stage: str) -> Any:
    from great_expectations.core.run_identifier import RunIdentifier

    now = datetime.now(UTC)
    return RunIdentifier(run_name=f"{stage}-{now:%Y%m%dT%H%M%S%f}", run_time=now)


def _publish(context: Any, run_id: Any) -> None:
    """This run's results rendered into Data Docs (not every result ever stored) and the index
    rebuilt, after dropping the stored results beyond ``KEPT_RESULTS``."""
    store = context.validation_results_store
    keys = store.list_keys()
    newest_first = sorted(keys, key=lambda k: str(k.run_id.run_time), reverse=True)
    for old in newest_first[KEPT_RESULTS:]:
        store.remove_key(old)
    own = [k for k in keys if k.run_id.run_name == run_id.run_name]
    context.build_data_docs(resource_identifiers=own)


def enforce(results: Sequence[QualityResult]) -> None:
    """Raise ``QualityError`` naming every failed critical expectation, if any."""
    if not all(r.passed for r in results):
        raise QualityError(results)


def _report(
    settings: Settings, results: Sequence[QualityResult], stage: str, health: HealthReporter | None
) -> None:
    reporter = health or HealthReporter(settings, "quality")
    for r in results:
        critical = sum(1 for f in r.failures if f.severity == "critical")
        reporter.emit(
            {
                "rows_checked": r.rows,
                "expectations_failed": critical,
                "expectations_warned": len(r.failures) - critical,
            },
            {"stage": stage, "table": r.table},
        )
    undelivered = reporter.flush(5.0)
    if undelivered:
        log.warning("data quality health samples not delivered", undelivered=undelivered)


def gate(settings: Settings, stage: str) -> Callable[[str, pa.Table], None]:
    """A check for ``batch.live_load.load_live``: the table's suite over the rows about to be
    loaded, raising ``QualityError`` on a critical failure (warnings are recorded only)."""

    def run(table: str, rows: pa.Table) -> None:
        enforce(check(settings, {table: rows.to_pandas()}, stage=stage))

    return run


def check_history(
    settings: Settings, catalog: Catalog, partitions: Sequence[tuple[str, str]] | None, *, stage: str
) -> list[QualityResult]:
    """The history suites over the loaded seasons (all when None) as the lake holds them."""
    from batch.warehouse import read_history

    parts = None if partitions is None else tuple(sorted(set(partitions)))
    batches = {
        td.name: read_history(catalog, td.identifier, parts).to_pandas()
        for td in (FOOTBALL_DATA_MATCHES, FOOTBALL_DATA_ODDS)
    }
    return check(settings, batches, stage=stage)


def check_lake(
    settings: Settings, catalog: Catalog, *, days: int = 1, health: HealthReporter | None = None
) -> list[QualityResult]:
    """Every silver and gold table's suite over its last ``days`` days (by its time partition),
    as the ``data_quality`` schedule runs it; tables not created yet are skipped."""
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    batches = {}
    for td in (*SILVER_FEEDS.values(), *GOLD_TABLES.values()):
        if not catalog.table_exists(td.identifier):
            continue
        column = td.partition[0][0]  # the day-partitioned time column
        rows = catalog.load_table(td.identifier).scan(row_filter=f"{column} >= '{since}'").to_arrow()
        batches[f"{td.namespace}_{td.name}"] = rows.to_pandas()
    return check(settings, batches, stage="schedule", health=health)
