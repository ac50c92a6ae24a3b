"""``adapter.dispatch`` for sqlfluff's jinja templater (lint-only; see dbt.py here)."""

from collections.abc import Callable


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    """Dispatched macros render as nothing: they only add engine hints (e.g. DuckDB's `materialized`)."""
    return lambda *args, **kwargs: ""
