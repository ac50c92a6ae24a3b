"""Match-outcome models, staking and the walk-forward backtest (pure functions, no engines).

One implementation, used by the training DAG, the ``lakehouse backtest`` command and the tests:
``ordered_logit`` maps an Elo rating difference to 1X2 probabilities, ``dixon_coles`` is the
time-decayed Poisson goals model, ``walk_forward`` refits either so a prediction sees only
matches played before its day, ``staking`` sizes bets (Kelly), ``backtest`` plays strategies
through a bankroll and ``scoring`` grades probabilities (Brier, log-loss).
"""

from lakehouse.models.scoring import OUTCOMES, brier_score, log_loss

__all__ = ["OUTCOMES", "brier_score", "log_loss"]
