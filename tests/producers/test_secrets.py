"""An API key set in the environment appears in no byte the producers write: stdout and stderr
at every log level and format, files under the state directory, and the Kafka topics (values,
keys and headers as a consumer reads them, decompressed), even when the source echoes it back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from infra.stack.kafka import KafkaBroker

pytestmark = pytest.mark.integration

SECRET = "odds-" + uuid.uuid4().hex
TOPICS = ("odds.quotes", "odds.quotes.dlq", "pipeline.health")


@pytest.mark.parametrize(("level", "fmt"), [("DEBUG", "json"), ("INFO", "console")])
def test_the_api_key_is_nowhere(
    api, kafka_broker: KafkaBroker, topic_reader, shared_data: Path, tmp_path: Path, level: str, fmt: str
) -> None:
    server, base = api
    path = "/v4/sports/soccer_epl/odds"
    echo = f"upstream error for GET {path}?regions=eu&apiKey={SECRET}".encode()
    server.respond(
        path,
        (500, {}, echo),  # retried: the echo reaches logs only
        (200, {"Content-Type": "text/html"}, b"<html>bad key " + SECRET.encode() + b"</html>"),  # dead letter
        (
            200,
            {"Content-Type": "application/json"},
            (shared_data / "odds-api" / "soccer_epl_odds_2024-03-27.json").read_bytes(),
        ),
    )
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(
        "sources:\n"
        "  the_odds_api:\n"
        "    rate: {per_second: 20, burst: 5}\n"
        f"    jobs: [{{name: epl, interval_s: 0.5, options: {{sports: [soccer_epl], base_url: '{base}'}}}}]\n"
    )
    starts = {t: topic_reader.end_offsets(t) for t in TOPICS}
    env = {
        **os.environ,
        "LAKEHOUSE_ODDS_API_KEY": SECRET,
        "LAKEHOUSE_LOG_LEVEL": level,
        "LAKEHOUSE_LOG_FORMAT": fmt,
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),
        "LAKEHOUSE_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
    }
    command = [sys.executable, "-m", "cli.main", "produce", "run", "--schedule", str(schedule)]
    proc = subprocess.run(
        [*command, "--duration", "6", "--health-port", "0"], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The key was used: every request carried it.
    requests = [q for p, q in server.log if p == path]
    assert len(requests) >= 3 and all(q["apiKey"] == [SECRET] for q in requests)
    written = proc.stdout + proc.stderr
    assert b"apiKey=***" in written or level != "DEBUG"  # httpx's request lines, redacted
    files = [f for f in (tmp_path / "state").rglob("*") if f.is_file()]
    # Keys, headers and values as a consumer reads them (decompressed).
    topics = json.dumps([topic_reader.read(t, starts[t]) for t in TOPICS], default=str).encode()
    assert b"bad key" in topics  # the dead letter with the echoing body is there...
    leaks = [name for name, data in [("output", written), ("topics", topics)] if SECRET.encode() in data]
    leaks += [str(f) for f in files if SECRET.encode() in f.read_bytes()]
    assert leaks == []  # ...with the key blanked
