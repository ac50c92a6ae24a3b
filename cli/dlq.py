"""`lakehouse dlq`: what the dead-letter topics hold, and releasing what now goes through."""

from __future__ import annotations

from collections import Counter

import click

from lakehouse.config import get_settings
from lakehouse.topics import FEED_TOPICS

_FEEDS = click.Choice(sorted(FEED_TOPICS))


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: records a source sent that could not become canonical, with the reason."""


@dlq_group.command("list")
@click.option("--feed", "feeds", multiple=True, type=_FEEDS, help="Repeatable; default: every feed.")
@click.option("--top", default=10, show_default=True, help="Reasons and names shown per feed.")
def dlq_list(feeds: tuple[str, ...], top: int) -> None:
    """Pending dead letters per feed, grouped by reason, and every team name that did not resolve."""
    from producers.dead_letters import pending, unknown_names

    letters, released = pending(get_settings(), feeds or sorted(FEED_TOPICS))
    click.echo(f"{len(letters)} pending, {released} released")
    for feed in sorted({letter.feed for letter in letters}):
        mine = [letter for letter in letters if letter.feed == feed]
        kinds = Counter(_kind(letter.reason) for letter in mine)
        click.echo(f"{feed}: {len(mine)} pending")
        for kind, n in kinds.most_common(top):
            click.echo(f"  {n:6}  {kind}")
        names = Counter(name for letter in mine for name in unknown_names(letter.reason))
        if names:
            click.echo(f"  unknown teams ({len(names)}; add aliases, then `lakehouse dlq replay`):")
            for (name, source), n in names.most_common(top):
                click.echo(f"  {n:6}  {name!r} from {source}")


def _kind(reason: str) -> str:
    """A reason without its particulars, so letters group: the text before the first quote or colon."""
    cut = min((i for i in (reason.find("'"), reason.find(":")) if i > 0), default=len(reason))
    return reason[:cut].strip()[:120] or "(no reason)"


@dlq_group.command("replay")
@click.option("--feed", "feeds", multiple=True, type=_FEEDS, help="Repeatable; default: every feed.")
@click.option("--dry-run", is_flag=True, help="Count what would be released; publish nothing.")
def dlq_replay(feeds: tuple[str, ...], dry_run: bool) -> None:
    """Read every pending dead letter again and publish the records that now go through."""
    from producers.app import make_publisher
    from producers.dead_letters import release

    settings = get_settings()
    publisher = make_publisher(settings, client_id="dlq-replay")
    try:
        outcome = release(settings, publisher, feeds or sorted(FEED_TOPICS), dry_run=dry_run)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if dry_run:
            publisher.close()
    verb = "would release" if dry_run else "released"
    click.echo(
        f"{outcome.pending} pending: {verb} {outcome.released} ({outcome.records} records), "
        f"{sum(outcome.still_failing.values())} still failing"
    )
    for reason, n in outcome.still_failing.most_common(10):
        click.echo(f"  {n:6}  {reason}")
