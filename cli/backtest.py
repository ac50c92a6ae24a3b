"""`lakehouse backtest`: refit the match models walk-forward on the warehouse's history, play the
strategies through a bankroll, print the figures, land them in the warehouse and draw the chart."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from batch.models import Backtest


@click.command("backtest")
@click.option("--league", "leagues", multiple=True, help="E0, SP1 ... (repeatable); default: every league.")
@click.option("--min-edge", default=0.03, show_default=True, help="Bet when p x price - 1 is above this.")
@click.option("--kelly", "kelly_multiplier", default=0.25, show_default=True, help="Fraction of full Kelly.")
@click.option("--kelly-cap", default=0.05, show_default=True, help="Most of the bankroll on one bet.")
@click.option("--refit-days", default=7, show_default=True, help="Refit the models this often.")
@click.option("--window-days", default=730, show_default=True, help="Fit on this many days of history.")
@click.option("--half-life-days", default=365.0, show_default=True, help="A match this old weighs half.")
@click.option("--bankroll", default=100.0, show_default=True, help="Starting bankroll (units).")
@click.option(
    "--warehouse", type=click.Choice(["duckdb", "snowflake"]), default=None, help="Default: settings."
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Bankroll-over-time chart (PNG); default: <state dir>/backtest.png.",
)
@click.option("--no-land", is_flag=True, help="Do not write the results to the warehouse.")
def backtest_command(
    leagues: tuple[str, ...],
    min_edge: float,
    kelly_multiplier: float,
    kelly_cap: float,
    refit_days: int,
    window_days: int,
    half_life_days: float,
    bankroll: float,
    warehouse: str | None,
    chart: Path | None,
    no_land: bool,
) -> None:
    """Model value bets (Elo ordered logit, Dixon–Coles), Pinnacle-against-soft-book value bets and
    pre-match arbitrages over every season in the warehouse, flat and Kelly staked; each model's
    Brier score and log-loss against Pinnacle's close. Needs the backfill and `dbt build` first."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from batch.models import NoHistory, train_and_backtest
    from batch.pipeline import with_warehouse
    from batch.warehouse import WarehouseTimeout, WarehouseUnavailable
    from lakehouse.config import get_settings
    from lakehouse.models.strategies import Staking
    from lakehouse.models.walk_forward import MODELS, WalkForward

    if not (0 < min_edge < 1 and 0 < kelly_multiplier <= 1 and 0 < kelly_cap <= 1 and bankroll > 0):
        raise click.BadParameter("--min-edge in (0, 1), --kelly and --kelly-cap in (0, 1], --bankroll > 0")
    if refit_days < 1 or window_days < refit_days or half_life_days <= 0:
        raise click.BadParameter("--refit-days >= 1, --window-days >= --refit-days, --half-life-days > 0")
    settings = with_warehouse(get_settings(), warehouse)
    plan = WalkForward(refit_days=refit_days, window_days=window_days, xi=math.log(2) / half_life_days)
    staking = Staking(min_edge=min_edge, kelly_multiplier=kelly_multiplier, kelly_cap=kelly_cap)

    def advance(model: str, _league: str) -> None:
        progress.advance(tasks[model])

    columns = (TextColumn("{task.description:18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:  # stdout holds the answer
        tasks = {m: progress.add_task(m, total=None) for m in MODELS}
        try:
            run, written = train_and_backtest(
                settings, leagues or None, plan, staking, bankroll, write=not no_land, progress=advance
            )
        except (NoHistory, WarehouseUnavailable, WarehouseTimeout) as exc:
            raise click.ClickException(str(exc)) from None
    _report(run)
    if written:
        raw = settings.warehouse.raw_schema
        tables = {t: n for t, n in written.items() if "." not in t}
        click.echo(f"{settings.warehouse.kind}: " + ", ".join(f"{raw}.{t} {n}" for t, n in tables.items()))
        click.echo("iceberg: " + ", ".join(f"{t} {n}" for t, n in written.items() if t not in tables))
    path = chart or settings.state_dir / "backtest.png"
    _chart(run, path, bankroll)
    click.echo(f"chart: {path}")


def _report(run: Backtest) -> None:
    predicted = ", ".join(f"{m} {len(p.match_id)}" for m, p in run.predictions.items())
    click.echo(f"{run.matches} matches; predicted: {predicted}; {run.seconds} s")
    click.echo("\nBrier / log-loss, matches every model and Pinnacle's close priced (lower is better):")
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for s in run.scores:
        t = totals[(s.league, s.model)]
        t[0] += s.matches
        t[1] += s.matches * s.brier
        t[2] += s.matches * s.log_loss
    for (league, model), (n, brier, ll) in sorted(totals.items()):
        click.echo(
            f"  {league:5} {model:18} {int(n):6} matches  brier {brier / n:.4f}  log-loss {ll / n:.4f}"
        )
    windows = ", ".join(f"{n} {status}" for status, n in sorted(run.arbitrages.items())) or "none"
    click.echo(f"\narbitrage windows at the best opening prices: {windows}")
    click.echo(
        f"\n{'strategy':22} {'staking':7} {'bets':>6} {'turnover':>10} {'profit':>9} {'ROI':>8} "
        f"{'yield':>7} {'CLV':>7} {'max DD':>7}"
    )
    for r in run.results:
        clv = "-" if math.isnan(r.clv) else f"{r.clv:+.2%}"
        click.echo(
            f"{r.strategy:22} {r.staking:7} {r.bets:6} {r.turnover:10.1f} {r.profit:+9.2f} {r.roi:+8.1%} "
            f"{r.yield_:+7.2%} {clv:>7} {r.max_drawdown:7.1%}"
        )


def _chart(run: Backtest, path: Path, bankroll: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 5), sharex=True)
    for (strategy, staking), line in sorted(run.paths.items()):
        ax = axes[0 if staking == "flat" else 1]
        ax.plot(line.dates, line.bankroll, label=strategy, linewidth=1)
    for ax, title in zip(axes, ("flat stakes (1 unit)", "fractional Kelly"), strict=True):
        ax.axhline(bankroll, color="grey", linewidth=0.5)
        ax.set_title(title)
        ax.set_ylabel("bankroll (units)")
        ax.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
