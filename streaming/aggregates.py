"""Real-time market aggregates: live prices, 1-minute windows, fair probabilities, margins,
cross-book arbitrage and steam moves -> gold Iceberg tables and Kafka topics for Druid.

Each micro-batch of valid odds quotes updates a board of the latest quote per (game, market,
bookmaker, selection) held by the driver (boards are small: one row per live quote) and
rebuilt from `gold.market_prices_live` on start.  The touched markets are summarised with the
shared odds math (`streaming.market`).  A batch publishes its rows to the Kafka aggregate
topics (at-least-once: a replay may resend a row; consumers key on the same columns) and
journals them for gold (`streaming.gold`): the gold MERGEs on each aggregate's key run in the
background, so the next batch, and the dashboards' freshness, never wait for an Iceberg commit.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from confluent_kafka import Producer

from iceberg.tables import GOLD_TABLES
from lakehouse.config import Settings
from lakehouse.health import HealthReporter
from lakehouse.kafka import producer_config
from lakehouse.log import get_logger
from lakehouse.schemas import get_event_type
from lakehouse.schemas.aggregates import (
    ARBITRAGE_OPPORTUNITIES,
    MARKET_AGG_1M,
    MARKET_PRICES_LIVE,
    STEAM_MOVES,
    AggregateType,
)
from lakehouse.schemas.timestamps import format_timestamp
from lakehouse.topics import feed_topic
from streaming.bronze import kafka_source
from streaming.gold import GoldJournal
from streaming.market import ArbitrageTracker, Quote, detect_steam, summarise_market
from streaming.parse import VALID, parse_feed

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = get_logger(__name__)

GOLD = {
    agg.name: GOLD_TABLES[agg.name].identifier
    for agg in (MARKET_PRICES_LIVE, MARKET_AGG_1M, ARBITRAGE_OPPORTUNITIES, STEAM_MOVES)
}
BoardKey = tuple[str, str, str, str]  # game, market, bookmaker, selection
WindowKey = tuple[str, str, str, float | None, str, str]  # window_start, game, market, point, book, selection


def _ts(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _floor(at: datetime, seconds: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


class AggregatesBatch:
    def __init__(self, settings: Settings, name: str = "aggregates") -> None:
        self.settings = settings
        self.catalog = settings.catalog.name
        self.gold = gold_journal(settings, name)
        self.health = HealthReporter(settings, f"stream:{name}")
        self.window = timedelta(seconds=settings.streaming.window_s)
        self.board: dict[BoardKey, dict[str, Any]] = {}
        self.markets: dict[tuple[str, str], set[BoardKey]] = defaultdict(set)  # (game, market) -> board keys
        self.windows: dict[WindowKey, dict[str, Any]] = {}
        self.tracker = ArbitrageTracker()
        self.steam_seen: set[tuple] = set()
        self.restored = False
        self.producer = Producer(
            producer_config(settings.kafka, client_id=f"stream-{name}", **{"linger.ms": 5, "log_level": 2})
        )

    # -- state ---------------------------------------------------------------------------
    def _restore(self, spark: SparkSession) -> None:
        """Rebuild the board from gold after a restart, once gold holds every journalled batch."""
        self.restored = True
        self.gold.drain(spark)
        for row in spark.table(f"{self.catalog}.{GOLD['market_prices_live']}").collect():
            r = row.asDict()
            key = (r["game_id"], r["market"], r["bookmaker"], r["selection"])
            self.markets[key[:2]].add(key)
            self.board[key] = {
                **r,
                "last_update": format_timestamp(_ts(r["last_update"])),
                "commence_time": format_timestamp(_ts(r["commence_time"])),
            }

    # -- one micro-batch -------------------------------------------------------------------
    def __call__(self, batch: Any, batch_id: int) -> None:
        from pyspark.sql import functions as F

        spark = batch.sparkSession
        if not self.restored:
            self._restore(spark)
        started = time.monotonic()
        parsed = parse_feed(
            batch.select(F.col("value").cast("string").alias("value"), "offset", "partition", "timestamp"),
            get_event_type("odds"),
        )
        fields = [f.name for f in get_event_type("odds").fields]
        # Sorted here, not by Spark: a global sort samples its input first, a second read of the
        # batch (and the Kafka source would count every record twice).  Filtered here too: a
        # Spark filter on `_valid` is pushed below the parse and re-parses the JSON per field.
        selected = parsed.select(
            *fields, "partition", "offset", F.col("timestamp").alias("_produced_at"), VALID
        )
        collected = [r for r in selected.collect() if r[VALID]]
        if not collected:
            return
        in_order = sorted(collected, key=lambda r: (r["event_time"], r["partition"], r["offset"]))
        rows = [r.asDict() for r in in_order]
        oldest_produced = min(r.pop("_produced_at") for r in rows)
        for r in rows:
            del r["partition"], r["offset"], r[VALID]
        now = datetime.now(UTC)
        live = self._update_board(rows, now)
        touched = {(r["game_id"], r["market"]) for r in rows}
        summaries = {
            key: summarise_market([Quote.from_record(q) for q in self._quotes(*key)]) for key in touched
        }
        windows = self._update_windows(rows, summaries, now)
        arbs = self.tracker.update([s for ss in summaries.values() for s in ss], now, scope=touched)
        steam = self._steam(windows, now)
        outputs = {
            MARKET_PRICES_LIVE.name: live,
            MARKET_AGG_1M.name: windows,
            ARBITRAGE_OPPORTUNITIES.name: arbs,
            STEAM_MOVES.name: steam,
        }
        for agg in (MARKET_PRICES_LIVE, MARKET_AGG_1M, ARBITRAGE_OPPORTUNITIES, STEAM_MOVES):
            self._publish(agg, outputs[agg.name])
        self.producer.flush(30)
        self.gold.append(batch_id, outputs)
        self.gold.start(spark)
        published = datetime.now(UTC)
        self.health.emit(
            {
                # Produce time of the batch's oldest quote to its aggregates on Kafka: the worst
                # produce-to-dashboard delay of the batch, before Druid's own ingestion.
                "freshness_s": (published - oldest_produced.astimezone(UTC)).total_seconds(),
                "quotes": len(rows),
                "arbitrages": len(arbs),
                "steam_moves": len(steam),
                "gold_pending_batches": len(self.gold.pending()),
            }
        )
        log.info(
            "aggregates batch",
            batch_id=batch_id,
            quotes=len(rows),
            live=len(live),
            windows=len(windows),
            arbitrage=len(arbs),
            steam=len(steam),
            seconds=round(time.monotonic() - started, 3),
        )

    def _quotes(self, game_id: str, market: str) -> Iterable[dict[str, Any]]:
        return [self.board[key] for key in self.markets.get((game_id, market), ())]

    def _update_board(self, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        changed: dict[BoardKey, dict[str, Any]] = {}
        for r in rows:
            key = (r["game_id"], r["market"], r["bookmaker"], r["selection"])
            current = self.board.get(key)
            if current is not None and _ts(current["last_update"]) > _ts(r["last_update"]):
                continue
            live = {
                "game_id": r["game_id"],
                "sport": r["sport"],
                "market": r["market"],
                "bookmaker": r["bookmaker"],
                "selection": r["selection"],
                "point": r["point"],
                "price": r["price"],
                "previous_price": r["previous_price"]
                if r["previous_price"] is not None
                else (current or {}).get("price"),
                "is_exchange": r["is_exchange"],
                "last_update": format_timestamp(_ts(r["last_update"])),
                "event_id": r["event_id"],
                "updated_at": format_timestamp(now),
                "home_team": r["home_team"],
                "away_team": r["away_team"],
                "commence_time": format_timestamp(_ts(r["commence_time"])),
            }
            self.board[key] = changed[key] = live
            self.markets[key[:2]].add(key)
        return list(changed.values())

    def _update_windows(
        self, rows: list[dict[str, Any]], summaries: dict, now: datetime
    ) -> list[dict[str, Any]]:
        touched: dict[WindowKey, dict[str, Any]] = {}
        for r in rows:
            start = _floor(_ts(r["event_time"]), int(self.window.total_seconds()))
            key = (
                format_timestamp(start),
                r["game_id"],
                r["market"],
                r["point"],
                r["bookmaker"],
                r["selection"],
            )
            w = self.windows.get(key)
            if w is None:
                w = {
                    "window_start": key[0],
                    "window_end": format_timestamp(start + self.window),
                    "game_id": r["game_id"],
                    "sport": r["sport"],
                    "market": r["market"],
                    "point": r["point"],
                    "bookmaker": r["bookmaker"],
                    "selection": r["selection"],
                    "open_price": r["price"],
                    "last_price": r["price"],
                    "min_price": r["price"],
                    "max_price": r["price"],
                    "quotes": 0,
                }
                self.windows[key] = w
            w["last_price"] = r["price"]
            w["min_price"] = min(w["min_price"], r["price"])
            w["max_price"] = max(w["max_price"], r["price"])
            w["quotes"] += 1
            touched[key] = w
        out = []
        for w in touched.values():
            summary = self._summary_for(summaries.get((w["game_id"], w["market"]), []), w)
            best = summary.best_prices.get(w["selection"]) if summary else None
            out.append(
                {
                    **w,
                    "best_price": best,
                    "best_bookmaker": summary.best_bookmakers.get(w["selection"]) if summary else None,
                    "fair_prob_shin": (summary.fair_shin or {}).get(w["selection"]) if summary else None,
                    "fair_prob_multiplicative": (summary.fair_multiplicative or {}).get(w["selection"])
                    if summary
                    else None,
                    "bookmaker_margin": summary.margins.get(w["bookmaker"]) if summary else None,
                    "updated_at": format_timestamp(now),
                }
            )
        # Forget windows two windows behind the newest one seen.
        if self.windows:
            horizon = max(_ts(k[0]) for k in self.windows) - 2 * self.window
            self.windows = {k: v for k, v in self.windows.items() if _ts(k[0]) >= horizon}
        return out

    @staticmethod
    def _summary_for(summaries: list, window: dict[str, Any]) -> Any:
        for s in summaries:
            if window["selection"] in s.selections and s.point_for(window["selection"]) == window["point"]:
                return s
        return None

    def _steam(self, windows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for w in windows:
            groups[
                (w["window_start"], w["window_end"], w["game_id"], w["sport"], w["market"], w["point"])
            ].append(w)
        found = []
        s = self.settings.streaming
        for (start, end, game, sport, market, point), rows in groups.items():
            everything = [
                w for k, w in self.windows.items() if (k[0], k[1], k[2], k[3]) == (start, game, market, point)
            ]
            for move in detect_steam(everything or rows, s.steam_threshold_pct, s.steam_min_books):
                key = (start, game, market, point, move.selection, move.direction)
                if key in self.steam_seen:
                    continue
                self.steam_seen.add(key)
                found.append(
                    move.to_record(
                        window_start=_ts(start),
                        window_end=_ts(end),
                        game_id=game,
                        sport=sport,
                        market=market,
                        point=point,
                        detected_at=now,
                    )
                )
        return found

    # -- sinks -----------------------------------------------------------------------------
    def _publish(self, agg: AggregateType, records: list[dict[str, Any]]) -> None:
        for record in records:
            key = "|".join(str(record.get(k)) for k in agg.key)
            while True:
                try:
                    self.producer.produce(agg.topic, key=key.encode(), value=json.dumps(record).encode())
                    break
                except BufferError:
                    self.producer.poll(0.1)
            self.producer.poll(0)


def gold_journal(settings: Settings, name: str = "aggregates") -> GoldJournal:
    """The journal of the aggregates job `name` (live prices applied last)."""
    order = (MARKET_AGG_1M, ARBITRAGE_OPPORTUNITIES, STEAM_MOVES, MARKET_PRICES_LIVE)
    tables = {a: GOLD[a.name] for a in order}
    return GoldJournal(settings.checkpoint_dir / name / "gold-journal", settings.catalog.name, tables)


def aggregates_query(
    spark: SparkSession, settings: Settings, available_now: bool = False, name: str = "aggregates"
) -> StreamingQuery:
    writer = (
        kafka_source(
            spark,
            settings,
            [feed_topic("odds")],
            settings.streaming.aggregates_max_offsets_per_trigger,
            headers=False,
        )
        .writeStream.queryName(name)
        .option("checkpointLocation", str(settings.checkpoint_dir / name))
        .foreachBatch(AggregatesBatch(settings, name))
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=settings.streaming.trigger_interval)
    )
    return writer.start()
