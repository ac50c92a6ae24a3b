"""What a command prints: lines for a person by default, one JSON document with ``--json``.

Scripts and schedulers read the JSON (``lakehouse stack status --json | jq``); logs and progress
bars go to stderr either way, so stdout holds only the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(command: F) -> F:
    """The ``--json`` flag, passed to the command as ``as_json``."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text (for scripts)."
    )(command)


def emit(as_json: bool, data: Mapping[str, Any], lines: Iterable[str]) -> None:
    """``data`` as JSON (dates and paths as strings), or the human ``lines``."""
    if as_json:
        click.echo(json.dumps(data, default=str))
        return
    for line in lines:
        click.echo(line)
