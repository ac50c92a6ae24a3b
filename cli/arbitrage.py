"""`lakehouse arbitrage`: the arbitrage windows of a captured odds body, judged as a trader would."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from lakehouse.market.board import MarketSummary, Quote
    from lakehouse.trading import ArbitrageRules


@click.command("arbitrage")
@click.option(
    "--file", "files", multiple=True, required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A captured The Odds API /v4/sports/{sport}/odds body (repeatable).",
)  # fmt: skip
@click.option(
    "--max-quote-age",
    type=float,
    default=None,
    help="Seconds behind the line's newest quote.  [default: trading.max_quote_age_s, 120]",
)
@click.option(
    "--suspect-edge",
    type=float,
    default=None,
    help="Price x consensus fair probability - 1 above this.  [default: trading.suspect_edge, 0.10]",
)
@click.option("--stake", default=100.0, show_default=True, help="Total stake per window.")
@click.option("--increment", type=float, default=None, help="Stakes round to this.  [default: trading, 1]")
@click.option(
    "--max-per-bookmaker", type=float, default=None, help="Cap on one bookmaker's stake.  [default: trading]"
)
@click.option("--all", "show_all", is_flag=True, help="List every window, not only the actionable ones.")
def arbitrage_command(
    files: tuple[Path, ...],
    max_quote_age: float | None,
    suspect_edge: float | None,
    stake: float,
    increment: float | None,
    max_per_bookmaker: float | None,
    show_all: bool,
) -> None:
    """Best-price arbitrages per game and market, each with its status (actionable, stale,
    suspect, commission_eaten), gross and net return and the stakes to place; then back/lay
    pairs (a back price against an exchange's lay of the same selection) that lock a profit.
    Defaults come from the trading settings (LAKEHOUSE_TRADING__*), by which the live aggregates
    judge their windows too."""
    from lakehouse.config import get_settings
    from lakehouse.market.board import Quote, arbitrage_window, summarise_market
    from producers.replay import odds_api_capture

    overrides = {
        "max_quote_age_s": max_quote_age,
        "suspect_edge": suspect_edge,
        "stake_increment": increment,
        "max_stake_per_bookmaker": max_per_bookmaker,
    }
    trading = get_settings().trading
    rules = trading.model_copy(update={k: v for k, v in overrides.items() if v is not None}).rules()
    quotes = []
    for path in files:
        try:
            parsed = odds_api_capture(path)
        except ValueError as exc:
            raise click.ClickException(f"{path}: {exc}") from None
        quotes += [Quote.from_record(record) for record in parsed.events]
    summaries = summarise_market(quotes)
    windows = [(s, w) for s in summaries if (w := arbitrage_window(s, rules, stake)) is not None]
    games = {s.game_id for s in summaries}
    by_status: Counter[str] = Counter(w.status for _, w in windows)
    click.echo(
        f"{len(games)} games, {len(summaries)} complete lines, {len(windows)} raw best-price arbitrages "
        f"in {len({s.game_id for s, _ in windows})} games: "
        + ", ".join(f"{by_status[k]} {k}" for k in ("actionable", "stale", "suspect", "commission_eaten"))
    )
    for summary, window in sorted(windows, key=lambda sw: -sw[1].net_return):
        if not (show_all or window.actionable):
            continue
        legs = ", ".join(
            f"{leg.selection} {leg.price:.2f}@{leg.bookmaker} x{stake_:g}"
            for leg, stake_ in zip(window.legs, window.stakes, strict=True)
        )
        flags = window.suspect or window.stale
        line = "" if summary.line is None else f" {summary.line:+g}"
        click.echo(
            f"  {window.status:16} {summary.game_id} {summary.market}{line}: "
            f"gross {window.gross_return:+.2%}, net {window.net_return:+.2%}, "
            f"worst {window.worst_profit:+.2f} on {window.total_stake:g}: {legs}"
            + (f" ({', '.join(flags)})" if flags else "")
        )

    _back_lay_report(quotes, summaries, rules, stake)


def _back_lay_report(
    quotes: list[Quote], summaries: list[MarketSummary], rules: ArbitrageRules, stake: float
) -> None:
    """Back/lay pairs per selection that lock a profit net of commission, flagged like windows."""
    from lakehouse.trading import best_back_lay

    backs: dict[tuple[str, str], dict[str, float]] = {}
    lays: dict[tuple[str, str], dict[str, float]] = {}
    for q in quotes:  # latest per book: the capture holds one quote per book and selection
        if q.market == "h2h":
            backs.setdefault((q.game_id, q.selection), {})[q.bookmaker] = q.price
        elif q.market == "h2h_lay":
            lays.setdefault((q.game_id, q.selection), {})[q.bookmaker] = q.price
    pairs = [
        (key, found)
        for key in sorted(lays)
        if key in backs
        and (found := best_back_lay(backs[key], lays[key], stake, rules.commission)) is not None
    ]
    locked = [(key, f) for key, f in pairs if min(f[2].profit_if_wins, f[2].profit_if_loses) > 0]
    h2h = {s.game_id: s for s in summaries if s.market == "h2h"}
    click.echo(
        f"back/lay: {len(pairs)} selections with a lay price, {len(locked)} lock a profit net of commission"
    )
    for (game_id, selection), (book, exchange, bet) in locked:
        notes: list[str] = []
        line = h2h.get(game_id)
        if line is not None and line.fair_shin is not None:
            if bet.back_price * line.fair_shin[selection] - 1 > rules.suspect_edge:
                notes.append("suspect back price")
            at = next(at for at, q in line.quotes if (q.bookmaker, q.selection) == (book, selection))
            if (line.as_of - at).total_seconds() > rules.max_quote_age_s:
                notes.append("stale back price")
        status = ", ".join(notes) or "actionable"
        click.echo(
            f"  {status}: {game_id} {selection}: back {bet.back_stake:g} "
            f"at {bet.back_price:.2f}@{book}, lay {bet.lay_stake:.2f} at {bet.lay_price:.2f}@{exchange} "
            f"(liability {bet.liability:.2f}): {bet.profit_if_wins:+.2f} either way"
        )
