"""Pieces of the learning scheme shared by the iterative models.

Plain functions over an estimator's progress counters, so that every model
counts epochs, updates and rates the same way:

- ``n_iter_``: epochs run, cumulative over ``warm_start`` fits (scikit-learn's
  ``MLPClassifier`` convention); ``t_``: parameter updates (minibatches) run,
  cumulative over ``fit`` and ``partial_fit``;
- ``history_``: one dict per epoch of ``fit`` (``epoch``, ``t``,
  ``learning_rate``, ``seconds`` and whatever the model adds, e.g. a
  validation score);
- the epoch learning-rate schedules.
"""

__all__ = [
    "epoch_learning_rate",
    "next_epoch_rate",
    "record_epoch",
    "reset_progress",
    "warm_started",
]


def epoch_learning_rate(schedule, base, epoch, horizon):
    """Learning rate of (1-based) epoch ``epoch``.

    Parameters
    ----------
    schedule : {"constant", "linear", "invscaling"}
        "constant": ``base``; "linear": ``base * (1 - (epoch - 1) / horizon)``,
        which reaches ``base / horizon`` in the last epoch; "invscaling":
        ``base / epoch``.
    base : float
    epoch : int
        Epochs counted over the whole training run (``warm_start`` fits go on
        counting), so that "invscaling" continues where it stopped.
    horizon : int
        The epoch the linear schedule decays towards: the last epoch of the
        current ``fit``.
    """
    if schedule == "linear":
        return base * (1.0 - (epoch - 1) / max(1, horizon))
    if schedule == "invscaling":
        return base / epoch
    return base


def next_epoch_rate(estimator, horizon):
    """The rate of the estimator's next epoch (its ``n_iter_ + 1``-th)."""
    return epoch_learning_rate(
        estimator.learning_rate_schedule,
        estimator.learning_rate,
        estimator.n_iter_ + 1,
        horizon,
    )


def warm_started(estimator, fitted_attribute):
    """True when ``fit`` is to continue a previous fit (``warm_start=True``)."""
    return bool(getattr(estimator, "warm_start", False)) and hasattr(
        estimator, fitted_attribute
    )


def reset_progress(estimator):
    """Zero the counters and the history (a fit from scratch)."""
    estimator.n_iter_ = 0
    estimator.t_ = 0
    estimator.history_ = []


def record_epoch(estimator, learning_rate, seconds, **extra):
    """Count one finished epoch and append its line to ``history_``."""
    estimator.n_iter_ = getattr(estimator, "n_iter_", 0) + 1
    if not hasattr(estimator, "history_"):
        estimator.history_ = []
    estimator.history_.append(
        {
            "epoch": estimator.n_iter_,
            "t": getattr(estimator, "t_", 0),
            "learning_rate": float(learning_rate),
            "seconds": float(seconds),
            **extra,
        }
    )
