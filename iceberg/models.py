"""The match models' output as an Iceberg table: walk-forward predictions, replaced whole per run.

Written by ``batch.models`` (pyiceberg) beside the warehouse copy, so the lake keeps every run's
predictions in its snapshots (time travel: what did the models say before the last refit?).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.types import DateType, DoubleType, LongType, StringType

from iceberg.history import BATCH_PROPERTIES
from iceberg.tables import Outcome, TableDef, _schema, ensure_tables

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

NAMESPACE = "models"

MODEL_PREDICTIONS = TableDef(
    NAMESPACE,
    "model_predictions",
    _schema(
        ("match_id", StringType(), True, "Canonical game id YYYY-MM-DD:home:away."),
        ("model", StringType(), True, "elo_ordered_logit or dixon_coles."),
        ("fit_date", DateType(), True, "Day of the fit; it saw only the league's matches before it."),
        ("training_matches", LongType(), True, "Matches the fit learnt from."),
        ("p_home", DoubleType(), True, "Probability of a home win."),
        ("p_draw", DoubleType(), True, "Probability of a draw."),
        ("p_away", DoubleType(), True, "Probability of an away win."),
    ),
    partition=(("model", "identity", "model"),),
    properties=BATCH_PROPERTIES,
    doc="Walk-forward 1X2 predictions of the match models (lakehouse.models), one row per match and model.",
)

MODEL_TABLES: dict[str, TableDef] = {MODEL_PREDICTIONS.identifier: MODEL_PREDICTIONS}


def ensure_model_tables(catalog: Catalog) -> dict[str, Outcome]:
    """Create or evolve the model tables (idempotent)."""
    return ensure_tables(catalog, tables=MODEL_TABLES)
