"""Hopfield network: the deterministic limit of the fully visible Boltzmann machine.

Energy E(x) = -1/2 x^T W x - b^T x over x in {-1, +1}^D (MATH.md), with the
same ``coef_`` / ``intercept_`` as :class:`skebm._boltzmann.BoltzmannMachine`.
Patterns are stored by the Hebbian, Storkey or pseudo-inverse (projection)
rule; recall sets x_i <- sign(a_i), a = W x + b, asynchronously (one unit at a
time, which never raises E) or synchronously.

Recall functions keep states transposed, ``xT`` of shape (D, n_probes): they
loop over units (asynchronous updates are sequential) and are vectorised over
probes.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import SafeFitMixin, atomic_fit, check_sample_args
from ._boltzmann import bm_log_weight, spins_to_binary, to_spins
from ._sampling import make_generator
from ._threads import blas_threads_for

# Residual norm below which a new pattern counts as already in the span of the
# stored ones (pseudo-inverse rule), relative to its norm sqrt(D).
_SPAN_TOL = 1e-8


# ---------------------------------------------------------------- storage
# Couplings beyond this magnitude mean an overloaded Storkey network (they are
# O(1) within capacity).
_STORKEY_OVERLOAD = 1e3


def hebbian_update(W, patterns):
    """Hebbian storage W += (1/D) sum_mu xi xi^T with zero diagonal; returns W."""
    D = W.shape[0]
    W += (patterns.T @ patterns) / D
    np.fill_diagonal(W, 0)
    return W


def storkey_update(W, patterns):
    """Storkey's (1997) incremental rule, one pattern at a time; returns W.

    w_ij += (1/D) (xi_i xi_j - xi_i h_ji - h_ij xi_j), with the local field
    h_ij = sum_{k != i, j} w_ik xi_k. With f = W xi (zero diagonal) and
    xi_i^2 = 1 this is W += (1/D) (xi xi^T - xi f^T - f xi^T + 2 W).
    """
    D = W.shape[0]
    for xi in patterns:
        f = W @ xi
        W += (np.outer(xi, xi) - np.outer(xi, f) - np.outer(f, xi) + 2 * W) / D
        np.fill_diagonal(W, 0)
    return W


def projection_update(P, patterns):
    """Grow the orthogonal projector ``P`` onto the span of the patterns.

    Gram-Schmidt, one pattern at a time: with r = xi - P xi, P += r r^T / r^T r
    (patterns already in the span are skipped). The pseudo-inverse rule's
    couplings are W = P with its diagonal set to zero.
    """
    D = P.shape[0]
    for xi in patterns:
        r = xi - P @ xi
        rr = float(r @ r)
        if rr > (_SPAN_TOL**2) * D:
            P += np.outer(r, r) / rr
    return P


# ----------------------------------------------------------------- recall
def hopfield_energy(x, W, b):
    """Energy E(x) = -1/2 x^T W x - b^T x of each row of ``x`` (±1)."""
    return -bm_log_weight(x, W, b)


def async_sweep_(xT, W, b, order):
    """Update units ``order`` one at a time: x_i <- sign(a_i), in place.

    A unit with a_i = 0 keeps its value, so no update raises the energy
    (the change is -2 |a_i| when unit i flips).

    Parameters
    ----------
    xT : ndarray of shape (D, n)
        ±1 states, one probe per column.
    order : sequence of int
        Units to update, in order.

    Returns
    -------
    changed : ndarray of bool of shape (n,), whether any unit of a probe flipped.
    """
    changed = np.zeros(xT.shape[1], dtype=bool)
    for i in order:
        a = W[i] @ xT
        a += b[i]
        s = np.sign(a, out=a)
        flip = s == -xT[i]
        changed |= flip
        xT[i][flip] = s[flip]
    return changed


def sync_step_(xT, W, b):
    """Update all units at once: x <- sign(W x + b), in place (ties keep x_i).

    May raise the energy and may cycle with period 2.

    Returns
    -------
    changed : ndarray of bool of shape (n,)
    """
    a = W @ xT
    a += b[:, None]
    s = np.sign(a, out=a)
    flip = s == -xT
    xT[flip] = s[flip]
    return flip.any(axis=0)


def hopfield_recall(
    x, W, b, *, update="async", max_sweeps=100, rng=None, history=False
):
    """Run recall from probes ``x`` until fixed points or ``max_sweeps`` sweeps.

    Parameters
    ----------
    x : ndarray of shape (n, D)
        ±1 probes.
    W : ndarray of shape (D, D); b : ndarray of shape (D,)
    update : {"async", "sync"}
        "async": each sweep updates every unit once, in a random order drawn
        per sweep (shared by all probes); "sync": all units at once.
    max_sweeps : int
        Maximum sweeps.
    rng : numpy.random.Generator
        Draws the asynchronous orders.
    history : bool
        Also return the states and energies after every sweep.

    Returns
    -------
    x : ndarray of shape (n, D), final ±1 states.
    n_sweeps : ndarray of int of shape (n,)
        Sweeps run on each probe, counting the last one, which found it
        unchanged when it converged.
    converged : ndarray of bool of shape (n,)
        Whether a probe reached a fixed point (a sweep changed nothing).
    trace : dict, only when ``history``: "states" of shape (T + 1, n, D) and
        "energy" of shape (T + 1, n) after each of the T sweeps run, the
        start included.
    """
    xT = np.ascontiguousarray(x.T)
    n, D = x.shape
    n_sweeps = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    states, energy = [x.copy()], [hopfield_energy(x, W, b)]
    for _ in range(max_sweeps):
        if converged.all():
            break
        if update == "async":
            changed = async_sweep_(xT, W, b, rng.permutation(D))
        else:
            changed = sync_step_(xT, W, b)
        n_sweeps[~converged] += 1
        converged |= ~changed
        if history:
            states.append(xT.T.copy())
            energy.append(hopfield_energy(xT.T, W, b))
    out = np.ascontiguousarray(xT.T)
    if history:
        trace = {"states": np.stack(states), "energy": np.stack(energy)}
        return out, n_sweeps, converged, trace
    return out, n_sweeps, converged


# -------------------------------------------------------------- estimator
class HopfieldNetwork(
    SafeFitMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Hopfield network: content-addressable memory of binary patterns.

    Patterns (rows of ``X``) are stored in symmetric couplings ``coef_``
    with zero diagonal; recall (:meth:`predict` / :meth:`transform`) runs the
    deterministic dynamics x_i <- sign(sum_j W_ij x_j + b_i) from a probe to a
    fixed point, a local minimum of the energy E(x) = -1/2 x^T W x - b^T x.
    Data are accepted in {0, 1} (mapped to x = 2 v - 1) or in {-1, +1};
    outputs are in {0, 1}.

    Parameters
    ----------
    rule : {"hebbian", "storkey", "pseudo_inverse"}, default="hebbian"
        Storage rule. "hebbian": W = (1/D) sum_mu xi xi^T (capacity about
        0.14 D random patterns). "storkey": Storkey's rule, local and
        incremental like Hebb's but storing more (D / sqrt(2 ln D) against
        Hebb's D / (2 ln D) patterns in Storkey's analysis; about twice as
        many in benchmarks/bench_hopfield_capacity.py). "pseudo_inverse":
        W is the orthogonal projector onto the span of the patterns (the
        projection rule of Personnaz et al.), diagonal removed; every linearly
        independent pattern set of size < D is stored, correlated patterns
        (such as digits) included.
    update : {"async", "sync"}, default="async"
        Recall dynamics. "async": one unit at a time, every unit once per
        sweep in a random order (energy never increases, always converges).
        "sync": all units at once (faster per sweep, may cycle).
    max_sweeps : int, default=100
        Maximum recall sweeps.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the asynchronous update orders (and :meth:`sample`'s starts
        when its own ``random_state`` is None). With an int, recall is
        deterministic.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_features)
        Couplings W (symmetric, zero diagonal), ±1 convention.
    intercept_ : ndarray of shape (n_features,)
        Biases b (zero: the storage rules set none).
    n_patterns_ : int
        Number of patterns stored (over :meth:`fit` and :meth:`partial_fit`).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    See Also
    --------
    skebm.BoltzmannMachine : The stochastic version, p(x) ∝ exp(-E(x)).

    References
    ----------
    Hopfield, J. J. (1982). Neural networks and physical systems with emergent
    collective computational abilities. PNAS 79, 2554-2558.

    Amit, D. J., Gutfreund, H. and Sompolinsky, H. (1985). Storing infinite
    numbers of patterns in a spin-glass model of neural networks. Physical
    Review Letters 55, 1530-1533.

    Storkey, A. (1997). Increasing the capacity of a Hopfield network without
    sacrificing functionality. ICANN.

    Personnaz, L., Guyon, I. and Dreyfus, G. (1986). Collective computational
    properties of neural networks: new learning mechanisms. Physical Review A
    34, 4217-4228.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm._hopfield import HopfieldNetwork
    >>> patterns = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0, 1, 0]])
    >>> net = HopfieldNetwork(random_state=0).fit(patterns)
    >>> net.predict([[1, 1, 1, 0, 0, 0, 0, 0]]).astype(int)
    array([[1, 1, 1, 1, 0, 0, 0, 0]])
    """

    _fitted_attributes = ("coef_", "intercept_")

    _parameter_constraints: dict = {
        "rule": [StrOptions({"hebbian", "storkey", "pseudo_inverse"})],
        "update": [StrOptions({"async", "sync"})],
        "max_sweeps": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self, rule="hebbian", *, update="async", max_sweeps=100, random_state=None
    ):
        self.rule = rule
        self.update = update
        self.max_sweeps = max_sweeps
        self.random_state = random_state

    def _validate_X(self, X, reset):
        X = validate_data(
            self,
            X,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        return to_spins(X, "X", self)

    def _validate_eval_X(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def _store(self, x):
        if self.rule == "hebbian":
            hebbian_update(self.coef_, x)
        elif self.rule == "storkey":
            storkey_update(self.coef_, x)
        else:
            projection_update(self._projection, x)
            self.coef_[...] = self._projection
            np.fill_diagonal(self.coef_, 0)
        self.n_patterns_ += x.shape[0]
        if self.rule == "storkey":
            self._warn_overload()

    def _warn_overload(self):
        # Overloaded, Storkey's rule feeds the couplings back into themselves
        # (the + 2 W / D term) and they grow without bound: say so.
        peak = float(np.abs(self.coef_).max(initial=0.0))
        if peak > _STORKEY_OVERLOAD or not np.isfinite(peak):
            D = self.coef_.shape[0]
            warnings.warn(
                f"HopfieldNetwork: the Storkey couplings have grown to |w| = "
                f"{peak:.3g} after {self.n_patterns_} stored patterns of "
                f"{D} units: the network is overloaded (the rule holds about "
                f"D / sqrt(2 ln D) = {D / np.sqrt(2 * np.log(max(D, 2))):.0f} "
                "patterns) and recall is unreliable. Store fewer patterns or use "
                "rule='pseudo_inverse'.",
                UserWarning,
                stacklevel=3,
            )

    def _initialize(self, D, dtype):
        self.coef_ = np.zeros((D, D), dtype=dtype)
        self.intercept_ = np.zeros(D, dtype=dtype)
        self.n_patterns_ = 0
        if self.rule == "pseudo_inverse":
            self._projection = np.zeros((D, D), dtype=np.float64)

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the rows of ``X`` as patterns (forgetting earlier ones).

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Binary patterns in {0, 1} (or in {-1, +1}).
        y : Ignored

        Returns
        -------
        self : HopfieldNetwork
            The fitted network.
        """
        x = self._validate_X(X, reset=True)
        self._initialize(x.shape[1], x.dtype)
        self._store(x)
        return self

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Store more patterns, keeping the ones already stored.

        All three rules are incremental: storing patterns in several calls
        gives the same couplings as one :meth:`fit` on all of them (up to
        rounding).

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Binary patterns in {0, 1} (or in {-1, +1}).
        y : Ignored

        Returns
        -------
        self : HopfieldNetwork
            The fitted network.
        """
        first = not hasattr(self, "coef_")
        x = self._validate_X(X, reset=first)
        if first:
            self._initialize(x.shape[1], x.dtype)
        elif self.rule == "pseudo_inverse" and not hasattr(self, "_projection"):
            raise ValueError(
                "partial_fit with rule='pseudo_inverse' cannot continue a network "
                "stored with another rule; call fit first."
            )
        self._store(x)
        return self

    # ------------------------------------------------------------- recall
    def recall(self, X, *, return_info=False, return_history=False):
        """Run the recall dynamics from the probes ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary probes.
        return_info : bool, default=False
            Also return a dict with "n_sweeps" (sweeps per probe, shape
            (n_samples,)) and "converged" (bool per probe: a fixed point was
            reached within ``max_sweeps`` sweeps).
        return_history : bool, default=False
            Add "states" (T + 1, n_samples, n_features) in {0, 1} and
            "energy" (T + 1, n_samples) after each of the T sweeps run, the probes
            first, to the info dict (implies ``return_info``).

        Returns
        -------
        X_recalled : ndarray of shape (n_samples, n_features), in {0, 1}.
        info : dict, when ``return_info`` or ``return_history``.
        """
        x = self._validate_eval_X(X)
        with blas_threads_for(self._recall_work(x)):
            out = hopfield_recall(
                x,
                self.coef_,
                self.intercept_,
                update=self.update,
                max_sweeps=self.max_sweeps,
                rng=make_generator(self.random_state),
                history=return_history,
            )
        states = spins_to_binary(out[0])
        if not (return_info or return_history):
            return states
        info = {"n_sweeps": out[1], "converged": out[2]}
        if return_history:
            info["states"] = spins_to_binary(out[3]["states"])
            info["energy"] = out[3]["energy"]
        return states, info

    def _recall_work(self, x):
        # Asynchronous recall loops over units (small products): one thread.
        return None if self.update == "async" else x.size * x.shape[1]

    def predict(self, X):
        """Recalled patterns: the fixed points reached from the probes ``X``.

        Use :meth:`recall` with ``return_info=True`` for the number of sweeps
        and per-probe convergence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary probes.

        Returns
        -------
        X_recalled : ndarray of shape (n_samples, n_features), in {0, 1}.
        """
        return self.recall(X)

    def transform(self, X):
        """Same as :meth:`predict` (recall), for use in pipelines.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary probes.

        Returns
        -------
        X_recalled : ndarray of shape (n_samples, n_features), in {0, 1}.
        """
        return self.recall(X)

    def energy(self, X):
        """Energy E(x) = -1/2 x^T W x - b^T x of each row, with x = 2 v - 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary states.

        Returns
        -------
        E : ndarray of shape (n_samples,)
        """
        x = self._validate_eval_X(X)
        return hopfield_energy(x, self.coef_, self.intercept_)

    def score_samples(self, X):
        """Negative energy -E(x) of each row (higher: closer to a memory).

        This is log p(x) + log Z of the Boltzmann machine with the same
        couplings at temperature 1; the network itself defines no
        normalised probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary states.

        Returns
        -------
        score : ndarray of shape (n_samples,)
        """
        return -self.energy(X)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (mean negative energy) over ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, *, init=None, random_state=None):
        """Attractors reached by recall from random starting states.

        This is *not* sampling from a probability distribution: each start
        (independent fair coin flips, or ``init``) is run to a fixed point,
        so the output shows the stored patterns, their negatives and the
        spurious mixture states in proportion to their basins of attraction.
        For samples of p(x) ∝ exp(-E(x)) use
        :class:`skebm.BoltzmannMachine` with the same ``coef_``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of starting states.
        init : array-like of shape (n_init, n_features), default=None
            Binary starting states instead of random ones; start ``i`` is
            ``init[i % n_init]``.
        random_state : int, RandomState, Generator or None, default=None
            Seeds the random starts and the asynchronous orders; None gives
            fresh randomness, as every skebm ``sample`` method (the
            estimator's ``random_state`` seeds :meth:`recall`, which has no
            argument of its own).

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features), in {0, 1}.
        """
        check_is_fitted(self)
        check_sample_args(n_samples)
        rng = make_generator(random_state)
        D = self.coef_.shape[0]
        if init is None:
            x = np.where(rng.random((n_samples, D)) < 0.5, 1.0, -1.0)
            x = x.astype(self.coef_.dtype)
        else:
            x = self._validate_eval_X(init)
            x = np.array(x[np.arange(n_samples) % x.shape[0]])
        with blas_threads_for(self._recall_work(x)):
            x, _, _ = hopfield_recall(
                x,
                self.coef_,
                self.intercept_,
                update=self.update,
                max_sweeps=self.max_sweeps,
                rng=rng,
            )
        return spins_to_binary(x)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
