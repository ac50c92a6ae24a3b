"""URL secrets are blanked in every log line: structlog fields, tracebacks, standard-library records."""

from __future__ import annotations

import subprocess
import sys

from lakehouse.log import redact

SCRIPT = """
import logging
from lakehouse.log import configure_logging, get_logger
configure_logging("DEBUG", "{fmt}")
log = get_logger("t")
log.info("fetch", url="https://api.example/v4/odds?regions=eu&apiKey=K3Y-1&markets=h2h")
logging.getLogger("httpx").info("HTTP Request: GET https://api.example/odds?apiKey=K3Y-2 200")
try:
    raise RuntimeError("Server error for url https://api.example/weather?appid=K3Y-3")
except RuntimeError:
    log.exception("poll crashed")
"""


def test_redact_blanks_secret_query_values_only() -> None:
    assert (
        redact("GET /odds?regions=eu&apiKey=abc&markets=h2h") == "GET /odds?regions=eu&apiKey=***&markets=h2h"
    )
    assert redact("x?access_token=t0k&page=2") == "x?access_token=***&page=2"
    assert redact("no secrets here: a=b") == "no secrets here: a=b"


def test_no_secret_reaches_stderr_in_either_format() -> None:
    for fmt in ("console", "json"):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(fmt=fmt)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        written = out.stdout + out.stderr
        assert "K3Y" not in written, written
        assert written.count("***") == 3 and "RuntimeError" in written
