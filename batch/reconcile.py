"""The Lambda check: the speed layer's aggregates recomputed from silver and compared with gold.

The batch side replays each game's silver quotes, all at once in event-time order, through the
shared market engine (``lakehouse.market``): the odds math the stream runs, which gives the same
rows whatever the batching (the engine's determinism is held to an independent oracle by the
tests). Only final rows are compared, which no late quote can change any more: 1-minute windows
and steam moves ending, arbitrage windows closed, and live prices last quoted, at least the
allowed lateness before the newest quote in silver. A row missing on either side,
or any value that differs (numbers by more than ``TOLERANCE``), is a mismatch. Results go to the
log and ``pipeline.health`` (component ``reconciliation``); the ``lambda_reconciliation`` DAG
fails on a mismatch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from iceberg.tables import GOLD_TABLES, SILVER_FEEDS
from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.log import get_logger
from lakehouse.market import EngineSettings, GameMeta, GameState, Tick
from lakehouse.schemas import AGGREGATE_TYPES, format_timestamp

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

log = get_logger(__name__)


def _window_closed(row: Mapping[str, Any], cutoff: str) -> bool:
    return bool(row["window_end"] <= cutoff)


def _arbitrage_closed(row: Mapping[str, Any], cutoff: str) -> bool:
    return row["status"] == "closed" and row["closed_at"] is not None and row["closed_at"] <= cutoff


def _price_settled(row: Mapping[str, Any], cutoff: str) -> bool:
    return bool(row["updated_at"] <= cutoff)


FINAL: dict[str, Callable[[Mapping[str, Any], str], bool]] = {
    "market_agg_1m": _window_closed,
    "steam_moves": _window_closed,
    "arbitrage_opportunities": _arbitrage_closed,
    "market_prices_live": _price_settled,
}
"""When a row is final, so both layers must hold the same: a window ended by the cutoff, an
arbitrage window closed by it, a live price whose latest quote is no later than it."""

COMPARED = tuple(FINAL)

TOLERANCE = 1e-9

Rows = dict[tuple[str, str], dict[str, Any]]  # (aggregate, key) -> record, timestamps as text


@dataclass(frozen=True)
class Mismatch:
    """One row the two layers disagree on."""

    aggregate: str
    key: str
    reason: str  # "missing in gold", "missing in the batch", or "<field>: gold <v>, batch <v>"
    difference: float | None = None  # the numeric difference, when a number differs


@dataclass
class Reconciliation:
    """What a run compared and what it found."""

    closed_before: str | None  # windows ending at or before this instant were compared
    games: int = 0
    quotes: int = 0
    compared: dict[str, int] = field(default_factory=dict)  # rows per aggregate
    mismatches: list[Mismatch] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def worst_difference(self) -> float:
        return max((m.difference for m in self.mismatches if m.difference is not None), default=0.0)

    def as_dict(self, examples: int = 5) -> dict[str, Any]:
        return {
            "closed_before": self.closed_before,
            "games": self.games,
            "quotes": self.quotes,
            "compared": self.compared,
            "mismatches": len(self.mismatches),
            "worst_difference": self.worst_difference,
            "examples": [f"{m.aggregate} {m.key}: {m.reason}" for m in self.mismatches[:examples]],
            "seconds": self.seconds,
        }


def recompute(quotes: Iterable[Mapping[str, Any]], engine: EngineSettings) -> Rows:
    """Every game's aggregates from its quotes in one pass: the latest row per key, retracted
    keys dropped (what gold and a topic's consumer hold)."""
    games: dict[str, list[Mapping[str, Any]]] = {}
    for q in quotes:
        games.setdefault(q["game_id"], []).append(q)
    rows: Rows = {}
    for game_id, records in games.items():
        ticks = sorted((Tick.from_record(dict(r)) for r in records), key=lambda t: t.order)
        newest = max(records, key=lambda r: (r["event_time"], r["event_id"]))
        outputs, _ = GameState(game_id).apply(ticks, GameMeta.from_record(dict(newest)), engine, lambda _: ())
        for out in outputs:
            rows[(out.aggregate, out.key)] = out.record
    return {k: _plain(r) for k, r in rows.items() if not r.get("retracted")}


def compare(gold: Rows, batch: Rows, closed_before: str) -> tuple[dict[str, int], list[Mismatch]]:
    """Rows per aggregate compared, and the mismatches, over the rows final by ``closed_before``.

    Whether a key is final is judged on the batch's row (silver is the truth), on gold's when the
    batch has none: a live price gold has not caught up with yet is skipped, not reported."""

    def final(key: tuple[str, str]) -> bool:
        row = batch.get(key) or gold[key]
        return key[0] in FINAL and FINAL[key[0]](row, closed_before)

    keys = sorted(k for k in gold.keys() | batch.keys() if final(k))
    mismatches: list[Mismatch] = []
    for key in keys:
        if key not in gold:
            mismatches.append(Mismatch(*key, "missing in gold"))
        elif key not in batch:
            mismatches.append(Mismatch(*key, "missing in the batch"))
        else:
            mismatches += _differences(key, gold[key], batch[key])
    compared = {agg: sum(1 for k in keys if k[0] == agg) for agg in COMPARED}
    return compared, mismatches


def _differences(key: tuple[str, str], gold: Mapping[str, Any], batch: Mapping[str, Any]) -> list[Mismatch]:
    out = []
    for name in sorted(gold.keys() | batch.keys()):
        a, b = gold.get(name), batch.get(name)
        if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
            diff = abs(float(a) - float(b))
            if diff > TOLERANCE or math.isnan(diff):
                out.append(Mismatch(*key, f"{name}: gold {a}, batch {b}", diff))
        elif a != b:
            out.append(Mismatch(*key, f"{name}: gold {a!r}, batch {b!r}"))
    return out


def reconcile(
    settings: Settings,
    catalog: Catalog,
    *,
    days: float = 2.0,
    closed_before: datetime | None = None,
    health: HealthReporter | None = None,
) -> Reconciliation:
    """Gold's final rows of the games quoted in the last ``days`` (of silver's event time)
    against their recomputation from every silver quote of those games.

    A row is final by ``closed_before`` (see ``FINAL``): by default the newest quote in silver
    less the allowed lateness; later when the stream is known to have drained its input (a
    replay, a backfill of the stream), so every row is final.
    """
    started = time.perf_counter()
    engine = EngineSettings.of(settings)
    silver = catalog.load_table(SILVER_FEEDS["odds"].identifier)
    newest = _newest_event_time(silver)
    if newest is None:
        return Reconciliation(None)
    since = newest - timedelta(days=days)
    cutoff = format_timestamp(closed_before or newest - timedelta(seconds=engine.lateness_s))
    recent = silver.scan(row_filter=f"event_time >= '{since.isoformat()}'", selected_fields=("game_id",))
    games = sorted(set(recent.to_arrow()["game_id"].to_pylist()))
    quotes = silver.scan(row_filter=_one_of("game_id", games)).to_arrow().to_pylist()
    batch = recompute(quotes, engine)
    gold: Rows = {}
    aggregates = {t.name: t for t in AGGREGATE_TYPES.values()}
    for name in COMPARED:
        table = catalog.load_table(GOLD_TABLES[name].identifier)
        key = aggregates[name].key
        for record in table.scan(row_filter=_one_of("game_id", games)).to_arrow().to_pylist():
            plain = _plain(record)
            gold[(name, "|".join(str(plain.get(c)) for c in key))] = plain
    result = Reconciliation(cutoff, games=len(games), quotes=len(quotes))
    result.compared, result.mismatches = compare(gold, batch, cutoff)
    result.seconds = round(time.perf_counter() - started, 3)
    log.info("lambda reconciliation", **result.as_dict())
    _report(settings, result, health)
    return result


def _newest_event_time(silver: Any) -> datetime | None:
    """The newest quote's event time from the data files' column bounds: no data file is read."""
    files = silver.inspect.files().to_pylist()
    bounds = [f["readable_metrics"]["event_time"]["upper_bound"] for f in files]
    newest = max((b for b in bounds if b is not None), default=None)
    return None if newest is None else newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest


def _one_of(column: str, values: Sequence[str]) -> str:
    """An Iceberg row filter (its SQL-like text form) for ``column`` in ``values``."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """Timestamps as canonical text (the engine's own spelling), no ``retracted``."""
    return {
        k: format_timestamp(v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC))
        if isinstance(v, datetime)
        else v
        for k, v in record.items()
        if k != "retracted"
    }


def _report(settings: Settings, result: Reconciliation, health: HealthReporter | None) -> None:
    reporter = health or HealthReporter(settings, "reconciliation")
    for aggregate in COMPARED:
        wrong = [m for m in result.mismatches if m.aggregate == aggregate]
        reporter.emit(
            {
                "rows_compared": result.compared.get(aggregate, 0),
                "mismatches": len(wrong),
                "worst_difference": max((m.difference or 0.0 for m in wrong), default=0.0),
            },
            {"aggregate": aggregate, "examples": "; ".join(f"{m.key}: {m.reason}" for m in wrong[:3])},
        )
    if reporter.flush(5.0):
        log.warning("reconciliation health samples not delivered")


def mismatch_summary(result: Reconciliation, examples: int = 3) -> str:
    """One line for a failed run: how many, the worst difference, a few keys."""
    shown: Sequence[Mismatch] = result.mismatches[:examples]
    return (
        f"{len(result.mismatches)} mismatches between gold and the batch recomputation "
        f"(worst difference {result.worst_difference:.3g}), e.g. "
        + "; ".join(f"{m.aggregate} {m.key}: {m.reason}" for m in shown)
    )
