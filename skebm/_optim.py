"""Pieces of the learning scheme shared by the iterative models.

Plain functions over an estimator's progress counters, so that every model
counts epochs, updates and rates the same way:

- ``n_iter_``: epochs run, cumulative over ``warm_start`` fits (scikit-learn's
  ``MLPClassifier`` convention); ``t_``: parameter updates (minibatches) run,
  cumulative over ``fit`` and ``partial_fit``;
- ``history_``: one dict per epoch of ``fit`` (``epoch``, ``t``,
  ``learning_rate``, ``seconds`` and whatever the model adds, e.g. a
  validation score);
- the epoch learning-rate schedules;
- :func:`run_epochs`, the epoch loop every iterative model trains with: one
  minibatch policy (:func:`minibatch_slices`, optional reshuffling), the
  thread policy, the schedule, the history and verbose lines and early
  stopping live there; models supply an update step and two small hooks;
- :class:`EarlyStopping`, the held-out monitor behind every model's
  ``early_stopping`` (the model supplies its score and its parameters).
"""

import numpy as np
from sklearn.utils import gen_even_slices

from ._base import Timer, check_finite_state
from ._sampling import make_generator
from ._threads import blas_threads_for

__all__ = [
    "EarlyStopping",
    "IterateAverage",
    "decayed_rate",
    "fold_into_mean_",
    "publish_means_",
    "resume_from_live_",
    "epoch_learning_rate",
    "minibatch_slices",
    "next_epoch_rate",
    "record_epoch",
    "reset_progress",
    "run_epochs",
    "scheduled_momentum",
    "sgd_step_",
    "start_progress",
    "training_generator",
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


def decayed_rate(base, decay, updates, floor):
    """The per-update exponential schedule: ``base / decay**updates`` after
    ``updates`` parameter updates, never below ``floor`` (the rate schedule of
    Salakhutdinov & Hinton's DBM code)."""
    return max(base / decay**updates, floor)


def scheduled_momentum(momentum, final, switch_epoch, epoch):
    """The momentum of (1-based) epoch ``epoch``: ``momentum``, then ``final``
    (when set) after ``switch_epoch`` epochs."""
    if final is not None and epoch > switch_epoch:
        return final
    return momentum


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


def training_generator(estimator, warm):
    """The ``random_state_`` of a fit: a new one, or on a warm start the
    stream the last fit left off at."""
    if not warm or not hasattr(estimator, "random_state_"):
        estimator.random_state_ = make_generator(estimator.random_state)
    return estimator.random_state_


def start_progress(estimator, warm):
    """Counters for a fit: zeroed, or on a warm start kept (if there are any)."""
    if not warm or not hasattr(estimator, "n_iter_"):
        reset_progress(estimator)


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


def minibatch_slices(n_samples, batch_size):
    """The minibatches of one epoch: ``ceil(n / batch_size)`` slices in order,
    all ``batch_size`` rows long but the last (scikit-learn's BernoulliRBM)."""
    n_batches = int(np.ceil(n_samples / batch_size))
    return list(gen_even_slices(n_batches * batch_size, n_batches, n_samples=n_samples))


def run_epochs(
    estimator, X, n_epochs, step, *, work, begin_epoch, end_epoch=None, library="numpy"
):
    """Train ``estimator`` for ``n_epochs`` more epochs over ``X``.

    Parameters
    ----------
    estimator
        Has ``batch_size``, ``verbose``, the progress counters of this module
        and ``_print_progress(X, epoch, seconds)``; with a true ``shuffle``
        attribute the rows are visited in a new order (drawn from
        ``estimator.random_state_``) every epoch.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    n_epochs : int
    step : callable
        ``step(minibatch, **settings)``: one parameter update.
    work : float
        Multiply-adds of the largest product of a step (thread policy).
    begin_epoch : callable
        ``begin_epoch(horizon)`` -> dict of the epoch's settings for ``step``;
        its ``"lr"`` is recorded; ``horizon`` is the last epoch of this run.
    end_epoch : callable, optional
        ``end_epoch(settings, seconds)`` -> (dict of extra history fields,
        whether to stop early).
    library : {"numpy", "scipy"}, default="numpy"
        Whose BLAS the step's products run in (thread policy).
    """
    n = X.shape[0]
    slices = minibatch_slices(n, estimator.batch_size)
    horizon = estimator.n_iter_ + n_epochs
    shuffle = bool(getattr(estimator, "shuffle", False))
    timer = Timer()
    with blas_threads_for(work, library):
        for _ in range(n_epochs):
            settings = begin_epoch(horizon)
            # rows of this epoch's order (a gathered copy when shuffled)
            order = estimator.random_state_.permutation(n) if shuffle else None
            for s in slices:
                step(X[s] if order is None else X[order[s]], **settings)
            # once per epoch: cheap, and atomic_fit puts the model back
            check_finite_state(estimator, settings["lr"])
            seconds = timer.lap()
            extra, stop = (
                ({}, False) if end_epoch is None else end_epoch(settings, seconds)
            )
            record_epoch(estimator, settings["lr"], seconds, **extra)
            if estimator.verbose:
                estimator._print_progress(X, estimator.n_iter_, seconds)
            if stop:
                break


def sgd_step_(
    params, grads, lr, *, velocities=None, momentum=0.0, weight_decay=0.0, decayed=None
):
    """One stochastic-gradient *ascent* step, in place.

    For each parameter ``p`` with gradient ``g``: ``d = lr (g - wd p)`` (the
    decay only for the parameters ``decayed`` marks, weights by convention,
    taken at ``p`` before the step), then with momentum ``u <- momentum u + d``
    and ``p += u``, else ``p += d``.

    Parameters
    ----------
    params, grads : list of ndarray
        Updated in place / overwritten with the step.
    lr : float
    velocities : list of ndarray, optional
        Momentum buffers (updated in place); needed when ``momentum > 0``.
    momentum, weight_decay : float
    decayed : list of bool, optional
        Which parameters weight decay applies to (default: all).
    """
    for k, (p, g) in enumerate(zip(params, grads, strict=True)):
        d = g
        if weight_decay and (decayed is None or decayed[k]):
            d -= p.dtype.type(weight_decay) * p
        d *= p.dtype.type(lr)
        if momentum:
            u = velocities[k]
            u *= p.dtype.type(momentum)
            u += d
            d = u
        p += d


def fold_into_mean_(mean, p, count, scratch=None):
    """``mean += (p - mean) / count``, in place: the running mean of ``count``
    iterates after folding in ``p`` (``scratch``, the shape of ``mean``, saves
    the temporary in hot loops).

    The one running-mean update of every model's iterate averaging.
    """
    d = np.subtract(p, mean, out=scratch)
    d *= 1.0 / count
    mean += d


class IterateAverage:
    """Running mean of parameter arrays (Polyak-Ruppert averaging), in float64.

    The one iterate average of the library (RBM, DBM, Gaussian RBM): the
    model folds its parameters in after every update (:meth:`update`),
    shows the mean after a fit (:meth:`publish`, which hands back the last
    iterate) and, before training on, goes back to that iterate when its
    parameters still show the mean (:func:`resume_from_live_`).

    Parameters
    ----------
    start : int
        Training samples to see before averaging starts (0: from the first
        update), so that the early, far-from-converged iterates are left out.
    """

    def __init__(self, start=0):
        self.start = int(start)
        self.n_seen = 0
        self.count = 0
        self.mean = None

    def update(self, params, n_samples, scratch=None):
        """Fold the current iterate (a list of arrays) in after ``n_samples``
        more training samples. ``scratch(i, shape)``, optional, gives a
        float64 work array for parameter ``i`` (hot loops reuse one)."""
        self.n_seen += n_samples
        if self.n_seen < self.start:
            return
        self.count += 1
        if self.mean is None:
            # float64: a float32 running mean over 1e5 updates would drift
            self.mean = [np.array(p, dtype=np.float64) for p in params]
            return
        for i, (m, p) in enumerate(zip(self.mean, params, strict=True)):
            fold_into_mean_(
                m, p, self.count, None if scratch is None else scratch(i, m.shape)
            )

    @classmethod
    def from_legacy_state(cls, state, n_seen):
        """The average of a model pickled before session 38, which kept
        ``state = [means, count]`` (or None) and ``n_seen`` instead."""
        avg = cls()
        avg.n_seen = n_seen
        if state is not None:
            avg.mean, avg.count = state
        return avg

    def publish(self, params):
        """Show the average: see :func:`publish_means_`."""
        return None if self.mean is None else publish_means_(params, self.mean)


def publish_means_(params, means):
    """Write ``means`` into ``params`` (in place, cast to their dtype) and
    return copies of the values they held (the last iterate)."""
    live = [p.copy() for p in params]
    for p, m in zip(params, means, strict=True):
        p[...] = m
    return live


def resume_from_live_(params, live, means):
    """Before more training: put the last iterate ``live`` back into
    ``params`` if they still show ``means`` (as :func:`publish_means_` left
    them); returns False, and changes nothing, when they do not (the user set
    other parameters since: training goes on from those, and the caller
    starts its average afresh)."""
    shown = means is not None and len(params) == len(means)
    shown = shown and all(
        p.shape == m.shape and np.array_equal(p, m.astype(p.dtype))
        for p, m in zip(params, means, strict=True)
    )
    if shown:
        for p, x in zip(params, live, strict=True):
            p[...] = x
    return shown


class EarlyStopping:
    """Held-out score after each epoch; stop after ``n_iter_no_change`` epochs
    without an improvement above ``tol``; keep the best parameters.

    The one early-stopping monitor of the library (hmmlearn's
    ``ConvergenceMonitor`` in spirit): a model supplies what it scores and
    what it keeps, and passes :meth:`end_epoch` to :func:`run_epochs`.

    Parameters
    ----------
    estimator
        Has ``tol`` and ``n_iter_no_change``; gets ``validation_scores_`` (one
        score per epoch) and, from :meth:`restore_best`,
        ``best_validation_score_``.
    score : callable
        ``score()`` -> float, the held-out score of the current parameters
        (higher is better).
    params : callable
        ``params()`` -> list of the live parameter arrays (written back in
        place by :meth:`restore_best`).
    """

    def __init__(self, estimator, score, params):
        self.estimator, self.score, self.params = estimator, score, params
        self.best, self.best_params, self.bad_epochs = -np.inf, None, 0
        estimator.validation_scores_ = []

    def should_stop(self):
        """Score the current parameters; True when patience has run out."""
        est = self.estimator
        score = float(self.score())
        est.validation_scores_.append(score)
        if score > self.best + est.tol:
            self.best, self.bad_epochs = score, 0
            self.best_params = [p.copy() for p in self.params()]
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= est.n_iter_no_change

    def end_epoch(self, settings, seconds):
        """The ``end_epoch`` hook of :func:`run_epochs`."""
        stop = self.should_stop()
        return {"validation_score": self.estimator.validation_scores_[-1]}, stop

    def restore_best(self):
        """Put the best-scoring parameters back (after the last epoch)."""
        if self.best_params is not None:
            for p, best in zip(self.params(), self.best_params, strict=True):
                p[...] = best
        self.estimator.best_validation_score_ = self.best
