"""model_training: refit the match models walk-forward and backtest the strategies on new marts.

Scheduled on the marts' Asset, so it runs after every successful ``dbt_build``: reads the
warehouse's marts, fits the Elo ordered logit and Dixon–Coles per league so each prediction sees
only earlier days, plays the strategies through a bankroll and replaces ``raw.model_predictions``,
``raw.model_scores``, ``raw.backtest_results``
and ``raw.backtest_bets``. ``leagues`` narrows the run; the staking
params are those of ``lakehouse backtest``. Then ``dbt build --select tag:models`` refreshes the
marts over them (``mart_model_predictions``, ``mart_model_scores``, ``mart_backtest_results``,
``mart_bet_candidates``). Logic: ``batch.models``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from batch.assets import WAREHOUSE_MARTS


@dag(
    dag_id="model_training",
    schedule=[Asset(*WAREHOUSE_MARTS)],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["batch", "models", "warehouse"],
    default_args={
        "owner": "analytics-engineering",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=2),
    },
    params={
        "leagues": Param([], type="array", items={"type": "string"}, description="empty: every league"),
        "min_edge": Param(0.03, type="number", exclusiveMinimum=0, exclusiveMaximum=1),
        "kelly": Param(0.25, type="number", exclusiveMinimum=0, maximum=1),
        "kelly_cap": Param(0.05, type="number", exclusiveMinimum=0, maximum=1),
        "refit_days": Param(7, type="integer", minimum=1),
        "window_days": Param(730, type="integer", minimum=1),
        "half_life_days": Param(365.0, type="number", exclusiveMinimum=0),
    },
    doc_md=__doc__,
)
def model_training() -> None:
    @task
    def train_models_and_backtest(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fails at once (no retry) when the warehouse has no marts or no played match."""
        from batch.connections import task_settings
        from batch.models import NoHistory, train_and_backtest
        from lakehouse.models.strategies import Staking
        from lakehouse.models.walk_forward import WalkForward

        params = params or {}
        plan = WalkForward(
            refit_days=int(params.get("refit_days", 7)),
            window_days=int(params.get("window_days", 730)),
            xi=math.log(2) / float(params.get("half_life_days", 365.0)),
        )
        staking = Staking(
            min_edge=float(params.get("min_edge", 0.03)),
            kelly_multiplier=float(params.get("kelly", 0.25)),
            kelly_cap=float(params.get("kelly_cap", 0.05)),
        )
        try:
            run, written = train_and_backtest(task_settings(), params.get("leagues") or None, plan, staking)
        except NoHistory as exc:
            raise AirflowFailException(str(exc)) from exc
        return {
            "matches": run.matches,
            "predicted": {m: len(p.match_id) for m, p in run.predictions.items()},
            "written": written,
            "arbitrages": run.arbitrages,
            "results": [
                {"strategy": r.strategy, "staking": r.staking, "bets": r.bets, "profit": round(r.profit, 4)}
                for r in run.results
            ],
            "seconds": run.seconds,
        }

    @task
    def refresh_model_marts(trained: dict[str, Any]) -> dict[str, Any]:
        """`dbt build --select tag:models`: the model marts read what the training just landed."""
        from batch.connections import task_settings
        from batch.dbt_build import DbtBuildFailed, DbtProjectMissing, dbt_build, is_final

        try:
            result = dbt_build(task_settings(), select=["tag:models"])
        except (DbtProjectMissing, DbtBuildFailed) as exc:
            if is_final(exc):
                raise AirflowFailException(str(exc)) from exc
            raise
        return {"trained": trained["written"], "dbt": result.as_dict()}

    refresh_model_marts(train_models_and_backtest())  # type: ignore[arg-type]  # XComArgs resolve at run time


model_training()
