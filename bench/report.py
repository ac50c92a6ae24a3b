"""Measured figures live in docs/benchmarks.md, one section per bench command, written by the command.

Every bench takes ``--record``: what it prints is also written into its own section of
``docs/benchmarks.md`` (between ``<!-- bench:<name> -->`` markers), with the command line, the
date and the machine, so the figures the README links to are regenerated, never retyped.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import platform
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from lakehouse.config import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "docs" / "benchmarks.md"
_HEADER = """# Measured figures

Written by the bench commands (`.venv/bin/python -m bench.<name> --record`); each section is
replaced by the command that owns it. Ratios are against a baseline measured in the same run.
"""


def bench_command(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Give a bench's ``main`` the ``--record`` flag (taken off ``sys.argv`` before its own parser)."""

    def wrap(main: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(main)
        def run() -> None:
            record = "--record" in sys.argv[1:]
            if record:
                sys.argv.remove("--record")
            with recorded(name, record):
                main()

        return run

    return wrap


class _Tee(io.StringIO):
    """Keeps what is written, and passes it on to the real stdout."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text)
        return super().write(text)

    def flush(self) -> None:
        self.out.flush()


@contextlib.contextmanager
def recorded(name: str, enabled: bool, path: Path | None = None) -> Iterator[None]:
    """Print as usual; with ``enabled``, also record what was printed as section ``name``."""
    if not enabled:
        yield
        return
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    write_section(name, " ".join(["python -m", f"bench.{name}", *sys.argv[1:]]), tee.getvalue(), path)


def machine() -> str:
    system = f"{platform.system()} {platform.machine()}"
    return f"{os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def write_section(name: str, command: str, output: str, path: Path | None = None) -> None:
    """Replace (or append) the section of ``name`` in ``path`` (default: docs/benchmarks.md)."""
    path = path or RESULTS
    body = (
        f"<!-- bench:{name} -->\n## {name}\n\n"
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d} ({machine()}):\n\n"
        f"```\n{output.rstrip()}\n```\n<!-- /bench:{name} -->"
    )
    text = path.read_text() if path.exists() else _HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: body, text) if pattern.search(text) else f"{text.rstrip()}\n\n{body}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n")
