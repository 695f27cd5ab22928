"""Estimator machinery shared by every skebm model.

The base class owns the public evaluation and generation methods (``score``,
``sample``, ``log_partition``, ``log_likelihood``); concrete models fill small
hooks: ``_chain_model``, ``_annealing_path``, ``_log_partition_exact``,
``_exact_size`` and ``free_energy``.
"""

import copy
import functools
import hashlib
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sklearn.utils.validation import check_is_fitted, validate_data

from ._partition import ais_betas, ais_summary, logmeanexp
from ._sampling import run_ais, run_chains, seed_sequence

# Enumerate exactly up to this many units in the smaller layer ("auto").
EXACT_MAX_UNITS = 24

# No Boltzmann-machine gradient step is sensible beyond this rate (the
# gradients are differences of probabilities): larger values are a typo or a
# unit mistake, refused up front rather than left to overflow.
MAX_LEARNING_RATE = 1e3
LEARNING_RATE = Interval(Real, 0, MAX_LEARNING_RATE, closed="right")


# ------------------------------------------------------ fitting safely
def _snapshot(estimator):
    """A deep copy of the estimator's state as a pickle would keep it."""
    getstate = getattr(estimator, "__getstate__", None)
    state = getstate() if getstate is not None else dict(estimator.__dict__)
    state = {k: v for k, v in state.items() if k not in _VERSION_KEYS}
    return copy.deepcopy(state)


_VERSION_KEYS = ("_skebm_version", "_sklearn_version")


def atomic_fit(method):
    """Make a ``fit``/``partial_fit`` method all or nothing.

    The estimator's state is copied before the call; if the call raises
    anything (a rejected input, diverged training, ``KeyboardInterrupt``) the
    copy is put back, so a previously fitted model is left exactly as it was
    and a first fit leaves an unfitted estimator. ``partial_fit`` also
    re-validates the parameters on every call (scikit-learn validates them on
    the first call only, so a ``set_params`` in between would go unchecked).
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if method.__name__ == "partial_fit":
            self._validate_params()
        saved = _snapshot(self)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def _float_arrays(value):
    """The float arrays in a fitted attribute (an array, a list/tuple of
    them, or fitted skebm sub-estimators)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _float_arrays(item)
    elif isinstance(value, SafeFitMixin):
        for name in value._fitted_attributes:
            yield from _float_arrays(getattr(value, name, None))


def check_finite_state(estimator, learning_rate=None):
    """Raise ``ValueError`` if a fitted parameter array (one of the
    estimator's ``_fitted_attributes``) became NaN or infinite.

    Called after updates, inside :func:`atomic_fit`, so the error leaves the
    last finite model in place.
    """
    bad = [
        name
        for name in estimator._fitted_attributes
        if any(
            not np.isfinite(a).all()
            for a in _float_arrays(getattr(estimator, name, None))
        )
    ]
    if bad:
        if learning_rate is None:
            learning_rate = getattr(estimator, "learning_rate", None)
        rate = "" if learning_rate is None else f" (learning_rate={learning_rate:g})"
        raise ValueError(
            f"{type(estimator).__name__}: training diverged: "
            f"{', '.join(bad)} became NaN or infinite after update "
            f"{getattr(estimator, 't_', '?')}. The learning rate{rate} is most "
            "likely too large: lower it (or add weight_decay). The model is "
            "left as it was before this call."
        )


def reject_bool_numbers(estimator):
    """``InvalidParameterError`` for True/False given to a numeric parameter
    (scikit-learn's ``Interval`` counts bools as integers)."""
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        value = params.get(name)
        if not isinstance(value, (bool, np.bool_)):
            continue
        takes_bool = any(isinstance(c, str) and c == "boolean" for c in constraints)
        if takes_bool or not any(isinstance(c, Interval) for c in constraints):
            continue
        raise InvalidParameterError(
            f"The {name!r} parameter of {type(estimator).__name__} must be a "
            f"number, not the boolean {value!r}."
        )


class SafeFitMixin:
    """``__sklearn_is_fitted__`` from ``_fitted_attributes`` and parameter
    validation that refuses booleans for numbers."""

    _fitted_attributes = ()

    def __sklearn_is_fitted__(self):
        return bool(self._fitted_attributes) and all(
            hasattr(self, name) for name in self._fitted_attributes
        )

    def _validate_params(self):
        super()._validate_params()
        reject_bool_numbers(self)
        params = getattr(self, "log_partition_params", None)
        if params:
            try:
                check_log_partition_args(**params)
            except ValueError as e:
                raise ValueError(f"log_partition_params: {e}") from None


def check_unit_interval(X, name="X", estimator=None):
    """Raise ``ValueError`` unless every value of ``X`` lies in [0, 1]."""
    data = X.data if sp.issparse(X) else X
    if data.size == 0:
        return
    lo, hi = data.min(), data.max()
    if sp.issparse(X) and X.nnz < np.prod(X.shape):
        lo = min(lo, 0.0)
    if lo < 0 or hi > 1:
        who = type(estimator).__name__ if estimator is not None else "This model"
        raise ValueError(
            f"{who} models binary units: {name} must contain probabilities in "
            f"[0, 1], got values in [{lo:g}, {hi:g}]. Scale the data first, e.g. "
            "with sklearn.preprocessing.MinMaxScaler(clip=True) (clip=True "
            "keeps new data scaled by the training range inside [0, 1])."
        )


def validate_unit_interval_X(estimator, X, *, reset, min_samples=None):
    """Validate training data of Bernoulli visible units: CSR or dense, [0, 1].

    ``min_samples`` defaults to 2 when fitting anew (``reset``) and 1 when
    continuing (``partial_fit``).
    """
    if min_samples is None:
        min_samples = 2 if reset else 1
    X = validate_data(
        estimator,
        X,
        accept_sparse=("csr", "csc", "coo", "lil", "bsr", "dia"),
        dtype=(np.float64, np.float32),
        reset=reset,
        ensure_min_samples=min_samples,
    )
    if sp.issparse(X):
        X = X.tocsr()
    check_unit_interval(X, "X", estimator)
    return X


def check_binary(X, name="X", estimator=None):
    """Raise ``ValueError`` unless every value of ``X`` is 0 or 1."""
    data = X.data if sp.issparse(X) else np.asarray(X)
    if data.size and not np.all((data == 0) | (data == 1)):
        who = type(estimator).__name__ if estimator is not None else "This model"
        raise ValueError(f"{who} needs binary data: {name} must contain only 0 and 1.")


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def check_sample_args(n_samples, n_steps=0, thin=None, n_jobs=None):
    """Raise ``ValueError`` for nonsensical arguments of a ``sample`` method."""
    if not _is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    if not _is_int(n_steps) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    if thin is not None and (not _is_int(thin) or thin < 1):
        raise ValueError(f"thin must be None or an integer >= 1, got {thin!r}")
    if n_jobs is not None and (not _is_int(n_jobs) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a nonzero integer, got {n_jobs!r}")


_LOG_PARTITION_ARGS = (
    "method",
    "n_betas",
    "n_runs",
    "init",
    "n_burn",
    "n_jobs",
    "random_state",
)


def check_log_partition_args(
    method="auto", n_betas=None, n_runs=100, n_burn=1000, n_jobs=None, **others
):
    """Raise ``ValueError`` for a nonsensical argument of ``log_partition``
    (also used on ``log_partition_params`` dicts, whose keys it checks)."""
    unknown = sorted(set(others) - set(_LOG_PARTITION_ARGS))
    if unknown:
        raise ValueError(
            f"Unknown log_partition argument(s) {unknown}; the arguments are "
            f"{list(_LOG_PARTITION_ARGS)}."
        )
    valid = ("auto", "exact", "ais", "reverse_ais")
    if not isinstance(method, str) or method not in valid:
        raise ValueError(f"method must be one of {valid}, got {method!r}")
    if n_betas is not None and np.ndim(n_betas) != 1:
        if not _is_int(n_betas) or n_betas < 3:
            raise ValueError(
                "n_betas must be None, an integer >= 3 or a schedule (a 1-D "
                f"array rising from 0 to 1), got {n_betas!r}"
            )
    if not _is_int(n_runs) or n_runs < 1:
        raise ValueError(f"n_runs must be an integer >= 1, got {n_runs!r}")
    if not _is_int(n_burn) or n_burn < 0:
        raise ValueError(f"n_burn must be an integer >= 0, got {n_burn!r}")
    if n_jobs is not None and (not _is_int(n_jobs) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a nonzero integer, got {n_jobs!r}")


def params_digest(*arrays):
    """A short digest of parameter arrays: invalidates cached log Z on change."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def print_epoch(estimator, iteration, label, value, elapsed):
    """One verbose line per epoch, in scikit-learn's format."""
    print(
        f"[{type(estimator).__name__}] Iteration {iteration}, "
        f"{label} = {value:.2f}, time = {elapsed:.2f}s",
        flush=True,
    )


class Timer:
    """Elapsed time between successive ``lap`` calls."""

    def __init__(self):
        self.t = time.time()

    def lap(self):
        now = time.time()
        dt, self.t = now - self.t, now
        return dt


class SkebmVersionWarning(UserWarning):
    """A model pickled by one skebm version is loaded by another."""


class BoltzmannBase(SafeFitMixin, TransformerMixin, BaseEstimator):
    """Base class of skebm's energy-based models.

    Subclasses provide ``free_energy(X)``, ``_chain_model()`` (see
    :mod:`skebm._sampling`), ``_exact_size()`` (units to enumerate for exact
    log Z), ``_log_partition_exact(n_jobs)`` and ``_annealing_path()``.
    """

    def __getstate__(self):
        from . import __version__

        # a copy: object.__getstate__ returns the live __dict__ itself, and
        # popping from that would drop the buffers of the model being pickled
        state = dict(super().__getstate__())
        state.pop("_ws", None)  # work buffers are not model state
        state["_skebm_version"] = __version__
        return state

    def __setstate__(self, state):
        from . import __version__

        pickled = state.pop("_skebm_version", "unknown")
        if pickled != __version__:
            warnings.warn(
                f"This {type(self).__name__} was pickled by skebm {pickled} and is "
                f"loaded by skebm {__version__}; its parameters load as they were, "
                "but refit if its results look wrong.",
                SkebmVersionWarning,
                stacklevel=2,
            )
        # skebm's fitted state is plain numpy arrays: a model pickled under
        # another supported scikit-learn version loads unchanged, so
        # scikit-learn's own version check (which warns for its own
        # estimators only) is not needed here.
        state.pop("_sklearn_version", None)
        self.__dict__.update(state)
        # A model pickled before a parameter existed loads with its default.
        for name, default in self._param_defaults().items():
            if name not in self.__dict__:
                setattr(self, name, default)

    @classmethod
    def _param_defaults(cls):
        import inspect

        sig = inspect.signature(cls.__init__)
        return {
            name: p.default
            for name, p in sig.parameters.items()
            if name != "self" and p.default is not inspect.Parameter.empty
        }

    def _validate_eval_X(self, X, *, reset=False, check_values=True, name="X"):
        """Validated rows of ``X`` for an evaluation method.

        Values outside the visible units' domain (``_check_visible_values``)
        are refused, so that no method returns a figure for data the model
        cannot have produced (e.g. a log-probability above 0 for unscaled
        binary data); ``check_values=False`` is for the one method that
        scikit-learn's BernoulliRBM defines for any real input.
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if check_values:
            self._check_visible_values(X, name)
        return X

    def _check_visible_values(self, X, name):
        """Raise ``ValueError`` for visible values outside the units' domain
        (binary units by default; real-valued models override it)."""
        check_unit_interval(X, name, self)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over ``X`` (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(
        self,
        n_samples=1,
        *,
        n_steps=1000,
        init=None,
        thin=None,
        probabilities=False,
        n_jobs=None,
        random_state=None,
    ):
        """Draw visible vectors from the model with independent Gibbs chains.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, one returned vector each.
        n_steps : int, default=1000
            Full Gibbs sweeps per chain.
        init : {array-like, sparse matrix} of shape (n_init, n_features), default=None
            Starting states; chain ``i`` starts at ``init[i % n_init]``. By
            default each chain starts from independent fair coin flips.
        thin : int, default=None
            If given, keep every ``thin``-th state of each chain.
        probabilities : bool, default=False
            Return the probabilities p(v | rest) of the last step instead of
            binary states (a less noisy picture of the same samples).
        n_jobs : int, default=None
            Joblib workers; blocks of chains run in parallel. The output does
            not depend on ``n_jobs``.
        random_state : int, RandomState, Generator or None, default=None
            Seed of the chains (through one ``SeedSequence``).

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features), or
            (n_samples, n_steps // thin, n_features) when ``thin`` is given.
        """
        check_is_fitted(self)
        check_sample_args(n_samples, n_steps, thin, n_jobs)
        model = self._chain_model()
        if init is not None:
            init = self._validate_eval_X(init, name="init")
            if sp.issparse(init):
                init = init.toarray()
            init = np.asarray(init, dtype=model.dtype)
        timer = Timer()
        out = run_chains(
            model,
            int(n_samples),
            int(n_steps),
            init=init,
            thin=thin,
            probabilities=probabilities,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=getattr(self, "verbose", 0),
        )
        if getattr(self, "verbose", 0):
            print(
                f"[{type(self).__name__}] sample: {n_samples} chains x {n_steps} "
                f"Gibbs steps, time = {timer.lap():.2f}s",
                flush=True,
            )
        return out

    def log_partition(
        self,
        *,
        method="auto",
        n_betas=None,
        n_runs=100,
        init=None,
        n_burn=1000,
        n_jobs=None,
        random_state=None,
        return_details=False,
    ):
        """Logarithm of the partition function Z of the fitted model.

        Parameters
        ----------
        method : {"auto", "exact", "ais", "reverse_ais"}, default="auto"
            "exact" enumerates the smaller layer (feasible up to ~24 units
            there); "ais" is annealed importance sampling from a base-rate
            model (Salakhutdinov & Murray 2008), an estimate that tends to be
            *low*; "reverse_ais" anneals from model samples back to the base
            model, a stochastic *upper* estimate (exact when the starting
            states are exact model samples). "auto" is "exact" when the
            smaller layer has at most 24 units, else "ais".
        n_betas : int or array-like, default=None
            Number of inverse temperatures (the paper's three segments scaled
            to that total), or the schedule itself (rising strictly from 0 to
            1); None is the paper's 14 500.
        n_runs : int, default=100
            Independent annealing runs (importance weights).
        init : array-like of shape (n, n_features), default=None
            "reverse_ais" only: starting visible states (e.g. training data),
            refined by ``n_burn`` Gibbs sweeps; by default random states.
        n_burn : int, default=1000
            "reverse_ais" only: Gibbs sweeps before annealing back.
        n_jobs : int, default=None
            Joblib workers; the result does not depend on it.
        random_state : int, RandomState, Generator or None, default=None
        return_details : bool, default=False
            Return a dict with the estimate, the interval
            log(mean w +- 3 std(w)/sqrt(M)) (``log_z_low``, ``log_z_high``),
            the effective sample size ``ess`` and the settings.

        Returns
        -------
        log_z : float, or dict when ``return_details`` is True.

        Notes
        -----
        The last result is cached in ``log_partition_info_`` with the
        settings behind it and reused while the parameters are unchanged and
        the same deterministic settings are asked for.
        """
        check_is_fitted(self)
        check_log_partition_args(method, n_betas, n_runs, n_burn, n_jobs)
        if method == "auto":
            method = "exact" if self._exact_size() <= EXACT_MAX_UNITS else "ais"
        settings = {"method": method}
        if method != "exact":
            if np.ndim(n_betas) == 1:  # a custom schedule: cache by its content
                settings["schedule"] = params_digest(ais_betas(n_betas))
            settings.update(
                n_betas=len(ais_betas(n_betas)),
                n_runs=int(n_runs),
                random_state=random_state
                if isinstance(random_state, Integral)
                else None,
            )
        digest = self._params_digest()
        cached = getattr(self, "log_partition_info_", None)
        cacheable = method == "exact" or settings.get("random_state") is not None
        if (
            cacheable
            and init is None
            and cached is not None
            and cached.get("digest") == digest
            and cached.get("settings") == settings
        ):
            info = cached
        else:
            timer = Timer()
            info = self._compute_log_partition(
                method, n_betas, n_runs, init, n_burn, n_jobs, random_state
            )
            if getattr(self, "verbose", 0):
                extra = (
                    ""
                    if method == "exact"
                    else f" ({settings['n_betas']} betas x {n_runs} runs, "
                    f"interval [{info['log_z_low']:.3f}, {info['log_z_high']:.3f}], "
                    f"ESS {info['ess']:.1f})"
                )
                print(
                    f"[{type(self).__name__}] log_partition {method}: "
                    f"log Z = {info['log_z']:.3f}{extra}, time = {timer.lap():.2f}s",
                    flush=True,
                )
            info["settings"] = settings
            info["digest"] = digest
            self.log_partition_info_ = info
        if return_details:
            return {k: v for k, v in info.items() if k != "digest"}
        return info["log_z"]

    def _compute_log_partition(
        self, method, n_betas, n_runs, init, n_burn, n_jobs, random_state
    ):
        if method == "exact":
            if self._exact_size() > 30:
                raise ValueError(
                    f"Exact enumeration needs 2**{self._exact_size()} states; use "
                    "method='ais'."
                )
            log_z = self._log_partition_exact(n_jobs)
            return {"log_z": log_z, "log_z_low": log_z, "log_z_high": log_z}
        betas = ais_betas(n_betas)
        path = self._annealing_path()
        seq = seed_sequence(random_state)
        if method == "ais":
            log_w = run_ais(
                path,
                betas,
                n_runs,
                n_jobs=n_jobs,
                random_state=seq,
                verbose=getattr(self, "verbose", 0),
            )
            info = ais_summary(log_w, path.log_z0)
        else:
            v0 = self.sample(
                n_runs,
                n_steps=n_burn,
                init=init,
                n_jobs=n_jobs,
                random_state=seq.spawn(1)[0],
            )
            log_w = run_ais(
                path, betas[::-1], n_runs, init=v0, n_jobs=n_jobs, random_state=seq
            )
            info = ais_summary(log_w, path.log_z0, reverse=True)
        info["log_w"] = log_w
        info["log_mean_w"] = logmeanexp(log_w)
        return info

    def log_likelihood(
        self, X, *, return_details=False, reverse_ais=False, **log_partition_params
    ):
        """Log-probability log p(x) = -F(x) - log Z of each row of ``X`` in nats.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        return_details : bool, default=False
            Also return the log Z behind the figures and the interval it
            gives: a dict with ``log_likelihood``, ``log_likelihood_low`` and
            ``log_likelihood_high`` (the rows' values at the two ends of the
            log Z interval of :meth:`log_partition`), ``log_z``, ``log_z_low``,
            ``log_z_high``, ``ess`` (None when exact) and ``method``.
        reverse_ais : bool, default=False
            With ``return_details``: also run reverse AIS with the same
            settings (chains started at ``X``) and add ``log_z_reverse`` and
            ``log_likelihood_reverse``. Forward AIS tends to underestimate
            log Z and reverse AIS to overestimate it, so the true
            log-likelihood is most likely between ``log_likelihood`` and
            ``log_likelihood_reverse`` (the sandwich).
        **log_partition_params
            Passed to :meth:`log_partition` (e.g. ``method``, ``n_runs``).
            Without them, the last :meth:`log_partition` result is reused
            while the parameters are unchanged (so that a log Z estimated
            once, with the settings chosen then, serves every later call);
            with none cached, :meth:`log_partition` runs with its defaults.

        Returns
        -------
        log_p : ndarray of shape (n_samples,), or dict when ``return_details``.
        """
        check_log_partition_args(**log_partition_params)
        X = self._validate_eval_X(X)
        info = None if log_partition_params else self._cached_log_partition()
        if info is None:
            info = self.log_partition(return_details=True, **log_partition_params)
        neg_f = -self._free_energy_validated(X)
        log_p = neg_f - info["log_z"]
        if not return_details:
            if reverse_ais:
                raise ValueError("reverse_ais=True needs return_details=True.")
            return log_p
        exact = info["settings"]["method"] == "exact"
        details = {
            "log_likelihood": log_p,
            "log_likelihood_low": neg_f - info["log_z_high"],
            "log_likelihood_high": neg_f - info["log_z_low"],
            "log_z": info["log_z"],
            "log_z_low": info["log_z_low"],
            "log_z_high": info["log_z_high"],
            "ess": None if exact else info.get("ess"),
            "method": info["settings"]["method"],
        }
        if reverse_ais:
            settings = info["settings"]
            n_runs = settings.get("n_runs", log_partition_params.get("n_runs", 100))
            init = X[np.arange(n_runs) % X.shape[0]]
            init = init.toarray() if sp.issparse(init) else init
            rev = self._compute_log_partition(
                "reverse_ais",
                settings.get("n_betas", log_partition_params.get("n_betas")),
                n_runs,
                init,
                log_partition_params.get("n_burn", 1000),
                log_partition_params.get("n_jobs"),
                log_partition_params.get("random_state"),
            )
            details["log_z_reverse"] = rev["log_z"]
            details["log_likelihood_reverse"] = neg_f - rev["log_z"]
        return details

    def _cached_log_partition(self, method=None):
        """The last :meth:`log_partition` result if it is of these parameters
        (and of ``method``; by default any but the reverse-AIS upper estimate)."""
        cached = getattr(self, "log_partition_info_", None)
        if cached is None or "settings" not in cached:
            return None
        if cached.get("digest") != self._params_digest():
            return None
        got = cached["settings"]["method"]
        wanted = got == method if method is not None else got != "reverse_ais"
        return cached if wanted else None

    def free_energy(self, X):
        """Free energy F(x), with p(x) = exp(-F(x)) / Z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples,)
        """
        return self._free_energy_validated(self._validate_eval_X(X))
