"""A query that dies ends the run non-zero and shows in `stream status`; restarts are bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import streaming.runner as runner
from cli.main import main
from lakehouse.config import get_settings
from streaming.runner import StreamingQueryFailed, run_jobs
from tests.streaming.harness import isolated_run

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_a_dead_query_fails_the_run_and_the_status(spark, runs_broker, tmp_path: Path, monkeypatch) -> None:
    with isolated_run(spark, runs_broker, tmp_path, query_restarts=2) as run:
        settings = run.settings
        # A checkpoint no Spark can read: the query dies on every start, as a poison record once did.
        offsets = Path(settings.checkpoint_location("bronze")) / "offsets"
        offsets.mkdir(parents=True)
        (offsets / "0").write_text("v999\n{}\n")
        builds: list[str] = []
        builders = runner._builders()

        def counted(job: str):
            def build(*args, **kwargs):
                builds.append(job)
                return builders[job](*args, **kwargs)

            return build

        monkeypatch.setattr(runner, "_builders", lambda: {job: counted(job) for job in builders})
        with pytest.raises(StreamingQueryFailed, match=r"streaming query bronze failed: .*v999"):
            run_jobs(settings, ["bronze"], available_now=True)
        assert builds == ["bronze"] * 3  # the first start and the two restarts allowed

        status = json.loads((settings.state_dir / "streaming" / "metrics.json").read_text())
        assert "v999" in status["bronze"]["error"]
        monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(settings.state_dir))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(main, ["stream", "status"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1
        assert "bronze      FAILED at" in result.output and "v999" in result.output
        assert "Traceback" not in result.output
