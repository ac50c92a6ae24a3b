"""Run DAGs one after another with ``dag.test()``, in one process that migrated the metadata DB.

``python -m infra.stack.dag_runs EVENTS RUNS``: ``RUNS`` is a JSON list of ``[dag_id, conf]``
and of ``"wait"``, which holds the runs after it until a line arrives on standard input (end of
input stops them): the demo starts the batch layer's backfill beside the speed layer and lets the
warehouse load follow once the streams have drained.  Each step's start and end are appended to
the ``EVENTS`` file as JSON lines, for a caller that shows progress.  It exits 1 at the first run
that does not succeed.

Why not ``airflow db migrate`` then one ``airflow dags test`` per DAG: each of those processes
imports Airflow and parses the DAG folder again, about 15 s each on a 2-core machine.  Airflow
must be configured by the environment before this starts
(``infra.stack.airflow.airflow_environment``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

MIGRATE = "metadata database"
"""The first step's name: `airflow db migrate`."""
WAIT = "wait"
"""A run list's barrier: what follows waits for a line on standard input."""

Run = tuple[str, dict[str, Any]] | str


def _event(out: TextIO, **fields: Any) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


def run(events: Path, runs: list[Run]) -> bool:
    """Migrate, then test each DAG; False at the first run that ends other than success."""
    with events.open("a") as out:
        _event(out, step=MIGRATE, event="started")
        started = time.monotonic()
        from airflow.configuration import conf
        from airflow.dag_processing.dagbag import DagBag
        from airflow.utils import db

        db.upgradedb()
        _event(out, step=MIGRATE, event="finished", state="success", seconds=time.monotonic() - started)
        bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
        for item in runs:
            if isinstance(item, str):  # WAIT
                _event(out, step=WAIT, event="started")
                if not sys.stdin.readline():
                    _event(out, step=WAIT, event="finished", state="stopped (end of input)")
                    return False
                _event(out, step=WAIT, event="finished", state="success")
                continue
            dag_id, run_conf = item
            _event(out, step=dag_id, event="started")
            started = time.monotonic()
            dag = bag.get_dag(dag_id)
            if dag is None:
                errors = "; ".join(f"{k}: {v}" for k, v in bag.import_errors.items())
                _event(out, step=dag_id, event="finished", state=f"not found ({errors or 'no such DAG'})")
                return False
            state = str(dag.test(run_conf=run_conf).state)
            _event(out, step=dag_id, event="finished", state=state, seconds=time.monotonic() - started)
            if state != "success":
                return False
    return True


def main(argv: list[str]) -> int:
    events, runs = Path(argv[0]), json.loads(argv[1])
    return 0 if run(events, [WAIT if r == WAIT else (r[0], dict(r[1])) for r in runs]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
