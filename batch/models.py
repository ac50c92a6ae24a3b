"""Train the match models on the warehouse's history, backtest the strategies, land the results.

Reads the marts dbt builds (``fct_match``, ``mart_team_elo``, ``fct_odds``,
``mart_fair_probabilities``), refits the core's models walk-forward (``lakehouse.models``) and
plays every strategy through a bankroll; writes ``raw.model_predictions``, ``raw.model_scores``,
``raw.backtest_results`` and ``raw.backtest_bets`` back to the warehouse for SQL analysts.
The Elo difference is read back from the mart's own expected score (``400 * log10(E / (1 - E))``,
home advantage included), so the rating rule and its constants live in dbt alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue

from batch.iceberg_load import replace_rows
from batch.warehouse import Target, open_target
from iceberg.models import MODEL_PREDICTIONS, ensure_model_tables
from lakehouse.catalog import load_catalog
from lakehouse.config import Settings
from lakehouse.log import get_logger
from lakehouse.models.backtest import BankrollPath, Bets, Result, StakeSizing, evaluate
from lakehouse.models.scoring import OUTCOMES, brier_scores, log_losses
from lakehouse.models.strategies import Market, Staking, arbitrage_bets, value_bets
from lakehouse.models.walk_forward import (
    History,
    Predictions,
    Progress,
    WalkForward,
    dixon_coles,
    elo_ordered_logit,
)

log = get_logger(__name__)

MARTS = "marts"
PREDICTIONS_TABLE = "model_predictions"
RESULTS_TABLE = "backtest_results"
SCORES_TABLE = "model_scores"
BETS_TABLE = "backtest_bets"
STAKINGS: tuple[StakeSizing, ...] = ("flat", "kelly")
PREDICTIONS_SCHEMA = MODEL_PREDICTIONS.schema.as_arrow()

Query = Callable[[str], Sequence[tuple[Any, ...]]]
"""A warehouse's SQL (``Target.query``, or any connection's): the marts are read through it."""


def _where_leagues(column: str, leagues: Sequence[str] | None) -> str:
    if not leagues:
        return ""
    quoted = ", ".join("'" + league.replace("'", "''") + "'" for league in leagues)
    return f" and {column} in ({quoted})"


def load_history(query: Query, leagues: Sequence[str] | None = None) -> tuple[History, list[str]]:
    """Every played match of ``leagues`` (all when None) with its pre-match Elo; and its season."""
    rows = query(
        "select m.match_id, m.league, m.season, m.match_date, m.home_team_id, m.away_team_id, "
        "m.home_goals, m.away_goals, e.expected_score "
        f"from {MARTS}.fct_match m join {MARTS}.mart_team_elo e "
        "on e.match_id = m.match_id and e.is_home "
        f"where m.home_goals is not null and m.away_goals is not null{_where_leagues('m.league', leagues)} "
        "order by m.match_date, m.match_id"
    )
    expected = np.array([float(r[8]) for r in rows], dtype=np.float64)
    history = History(
        match_id=[str(r[0]) for r in rows],
        league=[str(r[1]) for r in rows],
        date=np.array([r[3] for r in rows], dtype="datetime64[D]"),
        home_team=[str(r[4]) for r in rows],
        away_team=[str(r[5]) for r in rows],
        home_goals=np.array([int(r[6]) for r in rows], dtype=np.int64),
        away_goals=np.array([int(r[7]) for r in rows], dtype=np.int64),
        elo_diff=400.0 * np.log10(expected / (1.0 - expected)),
    )
    return history, [str(r[2]) for r in rows]


def _best(
    rows: Sequence[tuple[Any, ...]], where: dict[str, int], n: int
) -> tuple[np.ndarray, list[list[str]]]:
    """n x 3 best prices (NaN where no book priced the selection) and who offers each."""
    prices = np.full((n, 3), np.nan)
    books = [["", "", ""] for _ in range(n)]
    column = {s: k for k, s in enumerate(OUTCOMES)}
    for match_id, selection, bookmaker, price in rows:
        i = where.get(str(match_id))
        if i is not None:
            prices[i, column[str(selection)]] = float(price)
            books[i][column[str(selection)]] = str(bookmaker)
    return prices, books


def _fair(query: Query, phase: str, where: dict[str, int], n: int) -> np.ndarray:
    rows = query(
        f"select match_id, shin_home, shin_draw, shin_away from {MARTS}.mart_fair_probabilities "
        f"where probability_source = 'pinnacle' and phase = '{phase}'"
    )
    out = np.full((n, 3), np.nan)
    for match_id, *shin in rows:
        i = where.get(str(match_id))
        if i is not None and None not in shin:
            out[i] = [float(v) for v in shin]
    return out


@dataclass
class Markets:
    """What could be taken at the opening prices, and the sharp lines, per match of a history."""

    all_books: Market  # best opening price among the individual bookmakers
    soft_books: Market  # the same without Pinnacle: what the sharp-against-soft bets take
    pinnacle_opening: np.ndarray  # n x 3 Shin-fair probabilities (NaN when missing)


def load_markets(query: Query, history: History) -> Markets:
    where = {m: i for i, m in enumerate(history.match_id)}
    n = len(history)
    # the best opening price per selection, the alphabetically first bookmaker on a tie
    best = (
        "select match_id, selection, bookmaker, opening_price from ("
        "select match_id, selection, bookmaker, opening_price, row_number() over ("
        "partition by match_id, selection order by opening_price desc, bookmaker) as price_rank "
        "from {marts}.fct_odds where market = 'h2h' and bookmaker_kind = 'bookmaker' "
        "and opening_price is not null{extra}) ranked where price_rank = 1"
    )
    closing = _fair(query, "closing", where, n)
    outcome = history.outcomes

    def market(extra: str) -> Market:
        prices, books = _best(query(best.format(marts=MARTS, extra=extra)), where, n)
        return Market(
            history.match_id, history.date, outcome, prices, closing, [(b[0], b[1], b[2]) for b in books]
        )

    return Markets(market(""), market(" and bookmaker <> 'pinnacle'"), _fair(query, "opening", where, n))


@dataclass(frozen=True, slots=True)
class Score:
    """A model's (or Pinnacle's close's) Brier score and log-loss on one league-season."""

    league: str
    season: str
    model: str
    matches: int
    brier: float
    log_loss: float


@dataclass
class Backtest:
    """One run: the predictions, their scores, each strategy's bets, figures and bankroll path."""

    matches: int
    predictions: dict[str, Predictions]
    scores: list[Score]
    results: list[Result]
    paths: dict[tuple[str, str], BankrollPath]
    seconds: float = 0.0
    bets: dict[str, Bets] = field(default_factory=dict)
    arbitrages: dict[str, int] = field(default_factory=dict)  # windows per status


def score(
    history: History, seasons: list[str], markets: Markets, predictions: Sequence[Predictions]
) -> list[Score]:
    """Per league-season, on the matches every model and Pinnacle's close all priced."""
    where = {m: i for i, m in enumerate(history.match_id)}
    closing = markets.all_books.closing_fair
    probabilities: dict[str, np.ndarray] = {"pinnacle_closing": closing}
    for p in predictions:
        full = np.full((len(history), 3), np.nan)
        full[[where[m] for m in p.match_id]] = p.probabilities
        probabilities[p.model] = full
    common = np.all([~np.isnan(v).any(axis=1) for v in probabilities.values()], axis=0)
    outcomes = history.outcomes
    out: list[Score] = []
    groups: dict[tuple[str, str], list[int]] = {}
    for i in np.flatnonzero(common).tolist():
        groups.setdefault((history.league[i], seasons[i]), []).append(i)
    for (league, season), rows in sorted(groups.items()):
        for model, values in probabilities.items():
            b = brier_scores(values[rows], outcomes[rows])
            ll = log_losses(values[rows], outcomes[rows])
            out.append(Score(league, season, model, len(rows), float(b.mean()), float(ll.mean())))
    return out


def backtest(
    history: History,
    seasons: list[str],
    markets: Markets,
    plan: WalkForward | None = None,
    staking: Staking | None = None,
    bankroll: float = 100.0,
    progress: Progress | None = None,
) -> Backtest:
    """Fit both models walk-forward, grade them, and play every strategy flat and Kelly."""
    started = time.perf_counter()
    plan, staking = plan or WalkForward(), staking or Staking()
    predictions = {
        p.model: p for p in (elo_ordered_logit(history, plan, progress), dixon_coles(history, plan, progress))
    }
    bets: dict[str, Bets] = {}
    for name, p in predictions.items():
        rows = markets.all_books.rows(p.match_id)
        bets[f"{name}_value"] = value_bets(markets.all_books, rows, p.probabilities, staking)
    sharp = np.flatnonzero(~np.isnan(markets.pinnacle_opening).any(axis=1))
    bets["sharp_vs_soft_value"] = value_bets(
        markets.soft_books, sharp, markets.pinnacle_opening[sharp], staking
    )
    bets["arbitrage"], arbitrages = arbitrage_bets(markets.all_books, staking, markets.pinnacle_opening)
    results: list[Result] = []
    paths: dict[tuple[str, str], BankrollPath] = {}
    for strategy, placed in bets.items():
        for how in STAKINGS:
            result, path = evaluate(placed, strategy, how, bankroll)
            results.append(result)
            paths[(strategy, how)] = path
    scores = score(history, seasons, markets, list(predictions.values()))
    seconds = round(time.perf_counter() - started, 3)
    log.info("backtest done", matches=len(history), strategies=len(bets), seconds=seconds)
    return Backtest(len(history), predictions, scores, results, paths, seconds, bets, dict(arbitrages))


def predictions_table(predictions: dict[str, Predictions]) -> pa.Table:
    """The predictions in the Iceberg table's schema (``iceberg.models.MODEL_PREDICTIONS``)."""
    ids, models, fit_dates, trained, p = [], [], [], [], []
    for name, pred in predictions.items():
        ids += pred.match_id
        models += [name] * len(pred.match_id)
        fit_dates += [d.astype("datetime64[D]").item() for d in pred.fit_date]
        trained += pred.training_matches
        p.append(pred.probabilities)
    probs = np.vstack(p) if p else np.empty((0, 3))
    columns = {
        "match_id": ids,
        "model": models,
        "fit_date": fit_dates,
        "training_matches": trained,
        "p_home": probs[:, 0],
        "p_draw": probs[:, 1],
        "p_away": probs[:, 2],
    }
    return pa.table(columns, schema=PREDICTIONS_SCHEMA)


def results_table(results: Sequence[Result]) -> pa.Table:
    rows = [asdict(r) for r in results]
    for r in rows:
        r["yield_on_turnover"] = r.pop("yield_")
    return pa.Table.from_pylist(rows)


def bets_table(bets: dict[str, Bets]) -> pa.Table:
    """Every bet each strategy placed: what, at which price, won or not, its Kelly fraction."""
    columns: dict[str, list[Any]] = {k: [] for k in ("strategy", "match_id", "match_date", "selection")}
    numbers: dict[str, list[np.ndarray]] = {
        k: [] for k in ("price", "won", "kelly_fraction", "unit_stake", "closing_fair")
    }
    for strategy, placed in bets.items():
        columns["strategy"] += [strategy] * len(placed)
        columns["match_id"] += placed.match_id
        columns["match_date"] += [d.astype("datetime64[D]").item() for d in placed.date]
        columns["selection"] += placed.selection
        for name, values in (
            ("price", placed.price),
            ("won", placed.won),
            ("kelly_fraction", placed.fraction),
            ("unit_stake", placed.unit),
            ("closing_fair", placed.closing_fair),
        ):
            numbers[name].append(values)

    def joined(name: str) -> np.ndarray:
        return np.concatenate(numbers[name]) if numbers[name] else np.array([])

    return pa.table(
        {
            "strategy": pa.array(columns["strategy"], pa.string()),
            "match_id": pa.array(columns["match_id"], pa.string()),
            "match_date": pa.array(columns["match_date"], pa.date32()),
            "selection": pa.array(columns["selection"], pa.string()),
            "price": pa.array(joined("price"), pa.float64()),
            "won": pa.array(joined("won").astype(bool), pa.bool_()),
            "kelly_fraction": pa.array(joined("kelly_fraction"), pa.float64()),
            "unit_stake": pa.array(joined("unit_stake"), pa.float64()),
            # NaN (no closing line) lands as NULL
            "closing_fair_probability": pa.array(joined("closing_fair"), pa.float64(), from_pandas=True),
        }
    )


def scores_table(scores: Sequence[Score]) -> pa.Table:
    return pa.Table.from_pylist([asdict(s) for s in scores])


def land(target: Target, run: Backtest) -> dict[str, int]:
    """Replace the result tables in the warehouse's raw schema; rows written per table."""
    written = {}
    for name, table in (
        (PREDICTIONS_TABLE, predictions_table(run.predictions)),
        (RESULTS_TABLE, results_table(run.results)),
        (SCORES_TABLE, scores_table(run.scores)),
        (BETS_TABLE, bets_table(run.bets)),
    ):
        target.replace(name, table, None)
        written[name] = table.num_rows
    return written


class NoHistory(LookupError):
    """The warehouse has no marts, or no played match of the asked-for leagues."""


def train_and_backtest(
    settings: Settings,
    leagues: Sequence[str] | None = None,
    plan: WalkForward | None = None,
    staking: Staking | None = None,
    bankroll: float = 100.0,
    *,
    write: bool = True,
    progress: Progress | None = None,
) -> tuple[Backtest, dict[str, int]]:
    """The whole job: read the warehouse's marts, fit, backtest, land the tables in the warehouse
    and the predictions in the lake (``models.model_predictions``, replaced whole each run)."""
    target = open_target(settings)
    try:
        try:
            history, seasons = load_history(target.query, leagues)
            markets = load_markets(target.query, history)
        except Exception as exc:  # the engines' "no such table" errors differ; say what to run
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise NoHistory(
                f"cannot read the marts ({first}); run `lakehouse batch backfill` and `dbt build` first"
            ) from exc
        if not len(history):
            which = f" of {', '.join(leagues)}" if leagues else ""
            raise NoHistory(f"the warehouse holds no played match{which}; backfill first")
        run = backtest(history, seasons, markets, plan, staking, bankroll, progress)
        if not write:
            return run, {}
        written = land(target, run)
    finally:
        target.close()
    catalog = load_catalog(settings)
    ensure_model_tables(catalog)
    predictions = predictions_table(run.predictions)
    replace_rows(catalog, MODEL_PREDICTIONS.identifier, predictions, AlwaysTrue())
    written[MODEL_PREDICTIONS.identifier] = predictions.num_rows
    return run, written
