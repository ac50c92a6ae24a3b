"""Structured logging for every layer (structlog over the standard library)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_configured = False

SECRET_QUERY = re.compile(
    r"(?i)([?&](?:api[_-]?key|apikey|appid|access[_-]?token|token|key|password|secret|signature)=)[^&\s'\"]+"
)
"""A secret in a URL's query string (The Odds API's apiKey, OpenWeather's appid, ...)."""


def redact(text: str) -> str:
    """Text with every secret-looking query parameter's value replaced by ***."""
    return SECRET_QUERY.sub(r"\1***", text) if "=" in text else text


class _RedactingFilter(logging.Filter):
    """Blanks URL secrets in every standard-library record (httpx logs each request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """The same for structlog events, whatever field a URL ends up in."""
    return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Configure structlog once: key=value on a terminal, JSON lines for machines."""
    global _configured
    if _configured:
        return
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactingFilter())
    # A request line per call is noise at INFO (kept at DEBUG, redacted by the filter above).
    debug = logging.getLevelName(level.upper()) == logging.DEBUG
    for chatty in ("httpx", "httpcore", "py4j"):  # py4j: a line per call between Python and the JVM
        logging.getLogger(chatty).setLevel(logging.DEBUG if debug else logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact_event,  # last before rendering: tracebacks too
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
