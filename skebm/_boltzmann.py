"""Fully visible Boltzmann machine with ±1 units; Gibbs and Metropolis samplers.

The model (MATH.md) is p(x) = exp(1/2 x^T W x + b^T x) / Z over x in {-1, +1}^D,
W symmetric with zero diagonal. Data arrive as {0, 1} (mapped by x = 2 v - 1)
or as ±1; every output is in {0, 1}.

The maths are module-level functions on arrays. Chains keep their states
transposed, ``xT`` of shape (D, n_chains), so that updating one unit of every
chain touches one contiguous row: the samplers loop over units (the algorithm
is sequential there) and are vectorised over chains.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.base import OneToOneFeatureMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    LEARNING_RATE,
    BoltzmannBase,
    Timer,
    atomic_fit,
    check_finite_state,
    check_sample_args,
    params_digest,
    print_epoch,
)
from ._gibbs import log_sigmoid
from ._optim import (
    next_epoch_rate,
    record_epoch,
    run_epochs,
    sgd_step_,
    start_progress,
    training_generator,
    warm_started,
)
from ._partition import _ENUM_CHUNK, binary_states, logsumexp_over_states
from ._sampling import make_generator, run_chains
from ._threads import blas_threads_for

# Exact-gradient training enumerates all 2**D states at every iteration.
EXACT_FIT_MAX_UNITS = 20
# Rows of the training data the per-epoch pseudo-likelihood is measured on (PCD).
_CURVE_ROWS = 1000


# --------------------------------------------------------------------- data
def to_spins(X, name="X", estimator=None):
    """Map binary data to ±1 spins: {0, 1} by x = 2 v - 1, ±1 unchanged.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Values all in {0, 1}, or all in {-1, +1} (a 1 means +1 either way).

    Returns
    -------
    x : ndarray of shape (n_samples, n_features), dense, dtype of ``X``.

    Raises
    ------
    ValueError
        If a value is not binary, or 0 and -1 are mixed.
    """
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    if X.size == 0:
        return np.array(X)
    zero_one = (X == 0) | (X == 1)
    if zero_one.all():
        return 2 * X - 1
    if ((X == -1) | (X == 1)).all():
        return np.array(X)
    who = type(estimator).__name__ if estimator is not None else "This model"
    odd = X[~(zero_one | (X == -1))]
    detail = (
        f"got e.g. {odd[0].item():g}"
        if odd.size
        else "got both 0 and -1 (mixed encodings)"
    )
    raise ValueError(
        f"{who} needs binary data: {name} must contain only 0 and 1, or only -1 "
        f"and +1; {detail}. Binarize the data first, e.g. with "
        "sklearn.preprocessing.Binarizer."
    )


def spins_to_binary(x):
    """The {0, 1} coding v = (x + 1) / 2 of ±1 spins (same dtype)."""
    return (x + 1) / 2


# ------------------------------------------------------------ model maths
def bm_activation(x, W, b):
    """Local fields a = x W + b of each unit, shape (n_samples, D)."""
    a = x @ W
    a += b
    return a


def bm_log_weight(x, W, b):
    """Unnormalised log-probability 1/2 x^T W x + b^T x = -F(x), per row."""
    xw = x @ W
    return 0.5 * np.einsum("ij,ij->i", xw, x) + x @ b


def bm_conditionals(x, W, b):
    """p(x_i = +1 | x_{-i}) = sigmoid(2 a_i) for each unit, shape (n_samples, D)."""
    a = bm_activation(x, W, b)
    a *= 2
    return expit(a, out=a)


def bm_pseudo_likelihood(x, W, b):
    """Exact pseudo-log-likelihood sum_i log sigmoid(2 x_i a_i) of each row."""
    a = bm_activation(x, W, b)
    a *= 2 * x
    return log_sigmoid(a).sum(axis=1)


def bm_pseudo_likelihood_grad(x, W, b):
    """Mean pseudo-log-likelihood of the rows of ``x`` and its gradient.

    With g_i = 2 x_i sigmoid(-2 x_i a_i) = d PL / d a_i, the coupling W_ij
    (= W_ji) enters a_i through x_j and a_j through x_i, so
    d PL / d W_ij = g_i x_j + g_j x_i and d PL / d b_i = g_i.

    Returns
    -------
    pl : float
    gW : ndarray of shape (D, D), symmetric, zero diagonal
    gb : ndarray of shape (D,)
    """
    n = x.shape[0]
    z = bm_activation(x, W, b)
    z *= 2 * x
    pl = float(log_sigmoid(z).sum(dtype=np.float64)) / n
    np.negative(z, out=z)
    g = expit(z, out=z)
    g *= 2 * x
    gW = g.T @ x
    gW += gW.T
    gW /= n
    np.fill_diagonal(gW, 0)
    return pl, gW, g.mean(axis=0)


def _states_log_weight(s, W, b):
    return bm_log_weight(2 * s - 1, W, b)


def bm_log_partition_exact(W, b, *, n_jobs=None):
    """Exact log Z by enumerating the 2**D states (float64)."""
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    return logsumexp_over_states(_states_log_weight, b.size, (W, b), n_jobs=n_jobs)


def bm_exact_moments(W, b):
    """log Z, E[x] and E[x x^T] under the model, by enumeration (float64).

    One pass over chunks of states; each chunk's moments are weighted by its
    share of Z, so nothing overflows.

    Returns
    -------
    log_z : float
    mean : ndarray of shape (D,)
    second : ndarray of shape (D, D)
    """
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    D = b.size
    total = 2**D
    lses, means, seconds = [], [], []
    for start in range(0, total, _ENUM_CHUNK):
        x = 2 * binary_states(start, min(total, start + _ENUM_CHUNK), D) - 1
        lw = bm_log_weight(x, W, b)
        lse = logsumexp(lw)
        p = np.exp(lw - lse)
        lses.append(lse)
        means.append(p @ x)
        seconds.append((x * p[:, None]).T @ x)
    lses = np.array(lses)
    log_z = float(logsumexp(lses))
    share = np.exp(lses - log_z)
    mean = np.tensordot(share, np.array(means), axes=1)
    second = np.tensordot(share, np.array(seconds), axes=1)
    return log_z, mean, second


def bm_log_likelihood_grad(x, W, b):
    """Mean exact log-likelihood of the rows of ``x`` and its gradient.

    d/dW_ij = E_data[x_i x_j] - E_model[x_i x_j];  d/db = E_data[x] - E_model[x].

    Returns
    -------
    ll : float
    gW : ndarray of shape (D, D), symmetric, zero diagonal
    gb : ndarray of shape (D,)
    """
    x = np.asarray(x, np.float64)
    log_z, mean, second = bm_exact_moments(W, b)
    ll = float(np.mean(bm_log_weight(x, np.asarray(W, np.float64), b))) - log_z
    gW = x.T @ x / x.shape[0] - second
    np.fill_diagonal(gW, 0)
    return ll, gW, x.mean(axis=0) - mean


# --------------------------------------------------------------- samplers
def gibbs_sweep_(xT, W, b, rng, beta=1.0):
    """One sequential-scan Gibbs sweep over units 0..D-1 of every chain, in place.

    Unit i is redrawn as +1 with probability sigmoid(2 a_i), where
    a_i = beta (W x)_i + b_i uses the current values of the other units
    (``beta`` < 1 tempers the couplings, for AIS).

    Parameters
    ----------
    xT : ndarray of shape (D, n_chains)
        ±1 states, one chain per column (C-contiguous).
    W : ndarray of shape (D, D); b : ndarray of shape (D,)
    rng : numpy.random.Generator
    """
    D = xT.shape[0]
    # float64 uniforms whatever the dtype: float32 and float64 chains share a stream.
    u = rng.random(xT.shape)
    one = xT.dtype.type(1)
    for i in range(D):
        a = W[i] @ xT
        if beta != 1.0:
            a *= beta
        a += b[i]
        a *= 2
        expit(a, out=a)
        xT[i] = np.where(u[i] < a, one, -one)
    return xT


def random_subsets(rng, D, k, shape):
    """Uniform random ``k``-subsets of range(D), one per cell of ``shape``.

    Floyd's algorithm, vectorised over cells: k draws whatever D is.

    Returns
    -------
    idx : ndarray of int of shape (*shape, k), distinct within each cell.
    """
    idx = np.empty((*shape, k), dtype=np.intp)
    for m, j in enumerate(range(D - k, D)):
        t = rng.integers(0, j + 1, size=shape)
        dup = (idx[..., :m] == t[..., None]).any(axis=-1)
        idx[..., m] = np.where(dup, j, t)
    return idx


def flip_log_ratio(xT, aT, W, idx, mask=None):
    """log p(x_hat) - log p(x) for flipping units ``idx`` of each chain.

    With d = x_hat - x (= -2 x_i on the flipped units, 0 elsewhere) and
    a = W x + b: f(x_hat) - f(x) = d^T a + 1/2 d^T W d. No Z is needed.

    Parameters
    ----------
    xT, aT : ndarray of shape (D, n), C-contiguous
        States and local fields, one chain per column.
    W : ndarray of shape (D, D)
    idx : ndarray of shape (n, k)
        Distinct units to flip in each chain.
    mask : ndarray of bool of shape (n, k), default=None
        Flip only the units of ``idx`` where ``mask`` is True (all if None).

    Returns
    -------
    delta : ndarray of shape (n,)
    d : ndarray of shape (n, k), the changes of the flipped units.
    flat : ndarray of shape (n, k), the positions of those units in ``xT.ravel()``.
    """
    n, k = idx.shape
    # Flat positions: one gather instead of 2-D fancy indexing (3x cheaper here).
    flat = idx * n + np.arange(n)[:, None]
    d = np.take(xT, flat)
    d *= -2
    if mask is not None:
        d *= mask
    delta = np.einsum("nk,nk->n", d, np.take(aT, flat))
    if k > 1:
        Wsub = np.take(W, idx[:, :, None] * W.shape[0] + idx[:, None, :])
        delta += 0.5 * np.einsum("nk,nkl,nl->n", d, Wsub, d)
    return delta, d, flat


def metropolis_step_(xT, aT, W, idx, u, mask=None):
    """One Metropolis-Hastings proposal per chain, applied in place.

    The proposal flips units ``idx`` (symmetric, so the Hastings correction
    is 1); it is accepted with probability min(1, p(x_hat) / p(x)), i.e. when
    ``u < exp(min(delta, 0))``. ``aT`` is updated for accepted moves.

    Parameters
    ----------
    xT, aT : ndarray of shape (D, n), C-contiguous
    W : ndarray of shape (D, D)
    idx : ndarray of shape (n, k)
    u : ndarray of shape (n,), uniforms on [0, 1)
    mask : ndarray of bool of shape (n, k), default=None
        Units of ``idx`` actually flipped (all if None).

    Returns
    -------
    accepted : ndarray of bool of shape (n,)
    """
    delta, d, flat = flip_log_ratio(xT, aT, W, idx, mask)
    accepted = u < np.exp(np.minimum(delta, 0.0))
    d *= accepted[:, None]
    xT.reshape(-1)[flat] += d
    # a += W d, with W symmetric: sum over the flipped units of d_u W[u].
    if idx.shape[1] == 1:
        aT += (W[idx[:, 0]] * d).T
    else:
        aT += np.einsum("nk,nkd->dn", d, W[idx])
    return accepted


def metropolis_sweep_(xT, W, b, rng, n_flips=1):
    """D Metropolis-Hastings proposals per chain (one "sweep"), in place.

    Each proposal flips m distinct units chosen uniformly at random, with m
    uniform on {1, ..., n_flips}, independently for every chain and proposal.
    The proposal is symmetric (its probability depends only on the set
    flipped). A fixed even m would keep the parity of the number of +1 units
    and the chain would not be irreducible; mixing in single flips avoids
    that. The local fields are
    recomputed from scratch at the start of every sweep, so rounding errors
    of their incremental updates never accumulate.

    Returns
    -------
    n_accepted : ndarray of int of shape (n_chains,)
    """
    D, n = xT.shape
    aT = W @ xT
    aT += b[:, None]
    n_accepted = np.zeros(n, dtype=np.int64)
    u = rng.random((D, n))
    units = random_subsets(rng, D, n_flips, (D, n))
    mask = [None] * D
    if n_flips > 1:
        m = rng.integers(1, n_flips + 1, size=(D, n, 1))
        mask = np.arange(n_flips) < m
    for t in range(D):
        n_accepted += metropolis_step_(xT, aT, W, units[t], u[t], mask[t])
    return n_accepted


class GibbsChain:
    """Sequential-scan Gibbs chains of a fully visible BM (chain-model protocol)."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.dtype = W.dtype

    def random_visible(self, n, rng):
        return (rng.random((n, self.b.size)) < 0.5).astype(self.dtype)

    def init_state(self, v0):
        return {"xT": np.ascontiguousarray((2 * np.asarray(v0, self.dtype) - 1).T)}

    def step_(self, state, rng):
        gibbs_sweep_(state["xT"], self.W, self.b, rng)

    def visible(self, state, probabilities):
        x = state["xT"].T
        if probabilities:
            return bm_conditionals(x, self.W, self.b)
        return spins_to_binary(x)


class MetropolisChain(GibbsChain):
    """Metropolis-Hastings chains (one step = D proposals of ``n_flips`` flips).

    ``visible`` appends one column: the chain's running count of accepted
    proposals, so that the counts travel back through :func:`run_chains`
    (which returns only what ``visible`` gives) from every worker.
    """

    def __init__(self, W, b, n_flips=1):
        super().__init__(W, b)
        self.n_flips = n_flips

    def init_state(self, v0):
        state = super().init_state(v0)
        state["accepted"] = np.zeros(state["xT"].shape[1], dtype=np.int64)
        return state

    def step_(self, state, rng):
        state["accepted"] += metropolis_sweep_(
            state["xT"], self.W, self.b, rng, self.n_flips
        )

    def visible(self, state, probabilities):
        v = super().visible(state, probabilities)
        return np.hstack([v, state["accepted"][:, None].astype(v.dtype)])


class BMAnnealingPath:
    """AIS path from the independent model (biases ``b``) to the full BM.

    log p*_beta(x) = b^T x + beta 1/2 x^T W x: at beta = 0 the units are
    independent, with log Z_0 = sum_i log(2 cosh b_i); the couplings are scaled
    in by beta. Transitions are sequential Gibbs sweeps at beta.
    """

    def __init__(self, W, b):
        self.W, self.b = W, b

    @property
    def log_z0(self):
        # log(2 cosh b) = |b| + log1p(exp(-2 |b|)), overflow-free.
        b = np.abs(np.asarray(self.b, np.float64))
        return float(np.sum(b + np.log1p(np.exp(-2 * b))))

    def sample_base(self, n, rng):
        p = expit(2 * np.asarray(self.b, np.float64))
        x = np.where(rng.random((self.b.size, n)) < p[:, None], 1.0, -1.0)
        return {"xT": np.ascontiguousarray(x, dtype=self.W.dtype)}

    def from_visible(self, v):
        v = np.asarray(v, self.W.dtype)
        return {"xT": np.ascontiguousarray((2 * v - 1).T)}

    def delta_log_f(self, state, beta0, beta1):
        xT = state["xT"]
        quad = 0.5 * np.einsum("in,in->n", self.W @ xT, xT, dtype=np.float64)
        return (beta1 - beta0) * quad

    def step_(self, state, beta, rng):
        gibbs_sweep_(state["xT"], self.W, self.b, rng, beta=beta)


# -------------------------------------------------------------- estimator
class BoltzmannMachine(OneToOneFeatureMixin, BoltzmannBase):
    """Fully visible Boltzmann machine with ±1 units.

    p(x) = exp(1/2 x^T W x + b^T x) / Z over x in {-1, +1}^D, with
    ``W = coef_`` symmetric with zero diagonal and ``b = intercept_``. Data
    are accepted in {0, 1} (mapped to spins by x = 2 v - 1) or in {-1, +1};
    samples and probabilities are returned in the {0, 1} coding, like every
    skebm estimator.

    Parameters
    ----------
    method : {"pcd", "pseudo_likelihood", "exact"}, default="pcd"
        Training objective and algorithm.

        - "pcd": maximum likelihood by stochastic gradient ascent, the model
          term from persistent sequential-Gibbs chains (Tieleman 2008).
        - "pseudo_likelihood": maximises the exact mean pseudo-log-likelihood
          sum_i log p(x_i | x_{-i}) with L-BFGS. The objective is convex (a sum
          of logistic regressions), smooth and deterministic, so a
          quasi-Newton method reaches the optimum in tens of iterations with
          no learning rate to tune; the estimator is consistent for this model.
        - "exact": maximises the exact log-likelihood (also convex) with
          L-BFGS, enumerating all 2**D states at each iteration (D <= 20).
    learning_rate : float, default=0.1
        Step size of gradient ascent ("pcd", and every :meth:`partial_fit`).
    batch_size : int, default=100
        Examples per minibatch ("pcd").
    n_iter : int, default=50
        Epochs over the data ("pcd").
    n_chains : int, default=None
        Persistent chains ("pcd"); None uses ``batch_size``.
    n_gibbs_steps : int, default=1
        Sequential Gibbs sweeps of the persistent chains per update ("pcd").
    learning_rate_schedule : {"constant", "linear", "invscaling"}, default="constant"
        "linear" decays the rate linearly towards zero over ``n_iter`` epochs;
        "invscaling" uses ``learning_rate / epoch`` ("pcd").
    weight_decay : float, default=0.0
        L2 penalty (weight_decay / 2) sum_{i<j} W_ij^2 on the couplings, for
        every method.
    max_iter : int, default=1000
        Maximum L-BFGS iterations ("pseudo_likelihood", "exact").
    tol : float, default=1e-6
        L-BFGS stops when the largest gradient component is below ``tol`` or
        an iteration lowers the objective by less than ``tol`` relative to
        its value (at 1e-6 the parameters are within ~1e-3 of the optimum in
        our tests, far below their sampling error).
    verbose : int, default=0
        If > 0, print one line per epoch / L-BFGS iteration with the mean
        training pseudo-log-likelihood.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the persistent chains ("pcd"). The L-BFGS methods are
        deterministic.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model goes on from its parameters:
        "pcd" continues bit for bit (chains, schedule position, random
        stream) for ``n_iter`` more epochs; the L-BFGS methods start from the
        last optimum.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_features)
        Couplings W (symmetric, zero diagonal), ±1 convention.
    intercept_ : ndarray of shape (n_features,)
        Biases b, ±1 convention.
    persistent_chains_ : ndarray of shape (n_chains, n_features)
        States of the persistent chains in {0, 1} ("pcd" only).
    n_iter_ : int
        Epochs ("pcd", counted over warm starts) or L-BFGS iterations run by
        the last :meth:`fit`.
    t_ : int
        Parameter updates: minibatch steps ("pcd", :meth:`partial_fit`) and
        L-BFGS iterations.
    history_ : list of dict
        One entry per epoch / L-BFGS iteration: ``epoch``, ``t``,
        ``learning_rate`` (0 for L-BFGS), ``seconds``, ``pseudo_likelihood``.
    score_curve_ : list of float
        Mean training pseudo-log-likelihood (:meth:`score`) after each epoch /
        L-BFGS iteration; for "pcd" on at most the first 1000 rows.
    acceptance_rate_ : float
        Set by :meth:`sample` with ``sampler="metropolis"``: the fraction of
        Metropolis-Hastings proposals accepted.
    log_partition_info_ : dict
        Set by :meth:`log_partition`.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    See Also
    --------
    skebm.HopfieldNetwork : The deterministic limit, with the same ``coef_``.
    skebm.BernoulliRBM : Adds hidden units.

    Notes
    -----
    In the {0, 1} coding v the same distribution reads
    p(v) ∝ exp(2 v^T W v + 2 (b - W 1)^T v) (the diagonal of W is zero).
    Initial biases are the maximum-likelihood independent model
    b_i = atanh(mean x_i) (data smoothed by one pseudo-count each way);
    initial couplings are zero (the log-likelihood is concave: no symmetry to
    break). With the L-BFGS methods, a unit that is constant in the training
    data (a blank border pixel) keeps zero couplings and that smoothed bias:
    its couplings are not identifiable and its optimal bias is infinite.

    References
    ----------
    Ackley, D. H., Hinton, G. E. and Sejnowski, T. J. (1985). A learning
    algorithm for Boltzmann machines. Cognitive Science 9, 147-169.

    Besag, J. (1975). Statistical analysis of non-lattice data. The
    Statistician 24, 179-195.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm._boltzmann import BoltzmannMachine
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 1, 1], [1, 1, 0]])
    >>> bm = BoltzmannMachine(method="pseudo_likelihood", weight_decay=0.1)
    >>> bm.fit(X).coef_.shape
    (3, 3)
    >>> bm.sample(5, n_steps=100, random_state=0).shape
    (5, 3)
    """

    _fitted_attributes = ("coef_", "intercept_")

    _parameter_constraints: dict = {
        "method": [StrOptions({"pcd", "pseudo_likelihood", "exact"})],
        "learning_rate": [LEARNING_RATE],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear", "invscaling"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state", np.random.Generator],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        method="pcd",
        *,
        learning_rate=0.1,
        batch_size=100,
        n_iter=50,
        n_chains=None,
        n_gibbs_steps=1,
        learning_rate_schedule="constant",
        weight_decay=0.0,
        max_iter=1000,
        tol=1e-6,
        verbose=0,
        random_state=None,
        warm_start=False,
    ):
        self.method = method
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_chains = n_chains
        self.n_gibbs_steps = n_gibbs_steps
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.warm_start = warm_start

    # ------------------------------------------------------------ inputs
    def _validate_train_X(self, X, reset, min_samples=None):
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            reset=reset,
            # a fit needs two rows; a first partial_fit step may take one
            ensure_min_samples=(2 if reset else 1)
            if min_samples is None
            else min_samples,
        )
        return to_spins(X, "X", self)

    def _validate_eval_X(self, X, *, reset=False):
        """Validated rows of ``X`` as ±1 spins (dense)."""
        # to_spins checks the values (binary or spins)
        X = super()._validate_eval_X(X, reset=reset, check_values=False)
        return to_spins(X, "X", self)

    # --------------------------------------------------------------- fit
    def _initialize(self, x):
        n, D = x.shape
        dtype = x.dtype
        self.coef_ = np.zeros((D, D), dtype=dtype)
        p = (np.sum(x > 0, axis=0) + 1.0) / (n + 2.0)
        self.intercept_ = (0.5 * (np.log(p) - np.log1p(-p))).astype(dtype)
        if self.method == "pcd":
            self._init_chains(D, dtype)

    def _init_chains(self, D, dtype):
        # Start the persistent chains in the independent model of the biases.
        m = self.batch_size if self.n_chains is None else self.n_chains
        p_on = expit(2 * self.intercept_.astype(np.float64))
        v = self.random_state_.random((m, D)) < p_on
        self.persistent_chains_ = v.astype(dtype)

    def _gradient(self, x):
        """The method's ascent direction on minibatch ``x`` (PCD advances chains)."""
        W, b = self.coef_, self.intercept_
        if self.method == "exact":
            _, gW, gb = bm_log_likelihood_grad(x, W, b)
        elif self.method == "pseudo_likelihood":
            _, gW, gb = bm_pseudo_likelihood_grad(x, W, b)
        else:
            xT = np.ascontiguousarray(2 * self.persistent_chains_.T - 1)
            for _ in range(self.n_gibbs_steps):
                gibbs_sweep_(xT, W, b, self.random_state_)
            self.persistent_chains_ = spins_to_binary(xT.T)
            m = xT.shape[1]
            gW = x.T @ x / x.shape[0] - xT @ xT.T / m
            np.fill_diagonal(gW, 0)
            gb = x.mean(axis=0) - xT.mean(axis=1)
        return gW, gb

    def _step(self, x, lr):
        self.t_ = getattr(self, "t_", 0) + 1
        gW, gb = self._gradient(x)
        dtype = self.coef_.dtype
        sgd_step_(
            [self.coef_, self.intercept_],
            [gW.astype(dtype, copy=False), gb.astype(dtype, copy=False)],
            lr,
            weight_decay=self.weight_decay,
            decayed=[True, False],
        )

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to binary data ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data in {0, 1} (or in {-1, +1}).
        y : Ignored

        Returns
        -------
        self : BoltzmannMachine
            The fitted model.
        """
        warm = warm_started(self, "coef_")
        x = self._validate_train_X(X, reset=not warm)
        if self.method == "exact" and x.shape[1] > EXACT_FIT_MAX_UNITS:
            raise ValueError(
                f"method='exact' enumerates 2**n_features states per iteration; "
                f"n_features={x.shape[1]} > {EXACT_FIT_MAX_UNITS}. Use "
                "method='pcd' or 'pseudo_likelihood'."
            )
        training_generator(self, warm)
        if warm:
            x = x.astype(self.coef_.dtype, copy=False)
            if self.method == "pcd" and not hasattr(self, "persistent_chains_"):
                self._init_chains(x.shape[1], self.coef_.dtype)
        else:
            self._initialize(x)
        if not warm or not hasattr(self, "score_curve_"):
            self.score_curve_ = []
        start_progress(self, warm)
        # PCD is a Python loop over units of small products (one row of W
        # times the chains): one BLAS thread, as fast and robust under load.
        # L-BFGS multiplies the whole data set by W at each evaluation.
        work = None if self.method == "pcd" else x.shape[0] * x.shape[1] ** 2
        with blas_threads_for(work):
            if self.method == "pcd":
                self._fit_pcd(x)
            else:
                self._fit_lbfgs(x)
        check_finite_state(self)
        return self

    def _record(self, x, lr, elapsed, pl=None):
        if pl is None:
            pl = float(np.mean(bm_pseudo_likelihood(x, self.coef_, self.intercept_)))
        self.score_curve_.append(pl)
        record_epoch(self, lr, elapsed, pseudo_likelihood=pl)
        if self.verbose:
            self._print_progress(x, self.n_iter_, elapsed)

    def _fit_pcd(self, x):
        rows = x[:_CURVE_ROWS]

        def end_epoch(settings, seconds):
            pl = float(np.mean(bm_pseudo_likelihood(rows, self.coef_, self.intercept_)))
            self.score_curve_.append(pl)
            return {"pseudo_likelihood": pl}, False

        # the caller's thread policy holds (see fit)
        run_epochs(
            self,
            x,
            self.n_iter,
            self._step,
            work=None,
            begin_epoch=lambda horizon: {"lr": next_epoch_rate(self, horizon)},
            end_epoch=end_epoch,
        )

    def _print_progress(self, x, epoch, elapsed):
        pl = self.history_[-1]["pseudo_likelihood"]
        print_epoch(self, epoch, "pseudo-likelihood", pl, elapsed)

    def _fit_lbfgs(self, x):
        D = x.shape[1]
        x64 = np.asarray(x, np.float64)
        grad_fn = (
            bm_log_likelihood_grad
            if self.method == "exact"
            else bm_pseudo_likelihood_grad
        )
        wd = self.weight_decay
        # A unit constant in the data has no identifiable couplings (they act
        # as extra biases of the others) and an infinite optimal bias: it keeps
        # zero couplings and its smoothed initial bias, and the optimisation
        # runs over the units that vary (it would crawl along those flat
        # directions otherwise).
        varying = np.flatnonzero(np.ptp(x64, axis=0) > 0)
        iu = np.triu_indices(D, 1)
        free = np.isin(iu[0], varying) & np.isin(iu[1], varying)
        iu = (iu[0][free], iu[1][free])
        n_w = iu[0].size
        W = np.zeros((D, D))
        b = np.asarray(self.intercept_, np.float64).copy()
        # from the current couplings: zero for a new fit, the last fit's
        # optimum for a warm start
        w0 = np.asarray(self.coef_, np.float64)[iu]

        def unpack(theta):
            W[iu] = theta[:n_w]
            W.T[iu] = theta[:n_w]
            b[varying] = theta[n_w:]
            return W, b

        last = {}

        def fun(theta):
            obj, gW, gb = grad_fn(x64, *unpack(theta))
            last["theta"], last["obj"] = theta.copy(), obj
            wt = theta[:n_w]
            loss = -obj + 0.5 * wd * float(wt @ wt)
            grad = -np.concatenate([gW[iu], gb[varying]])
            grad[:n_w] += wd * wt
            return loss, grad

        timer = Timer()
        iteration = [0]

        def callback(theta):
            iteration[0] += 1
            self.t_ = getattr(self, "t_", 0) + 1
            self.coef_[...], self.intercept_[...] = unpack(theta)
            # The accepted point is normally the last one evaluated: reuse its
            # pseudo-likelihood instead of recomputing it.
            pl = None
            if self.method == "pseudo_likelihood" and np.array_equal(
                theta, last.get("theta")
            ):
                pl = last["obj"]
            self._record(x, 0.0, timer.lap(), pl)

        # L-BFGS iterations of this fit (scikit-learn's LogisticRegression
        # convention); the history goes on over warm starts
        self.n_iter_ = 0
        if varying.size == 0:
            return
        res = minimize(
            fun,
            np.concatenate([w0, b[varying]]),
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": self.tol},
        )
        self.coef_[...], self.intercept_[...] = unpack(res.x)
        self.n_iter_ = int(res.nit)
        if not res.success:
            warnings.warn(
                f"L-BFGS did not converge in {self.n_iter_} iterations "
                f"({res.message}); increase max_iter, or weight_decay if the "
                "data make the optimum infinite.",
                ConvergenceWarning,
                stacklevel=3,
            )

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One gradient-ascent step of the chosen objective on minibatch ``X``.

        For "pcd" this is one PCD update (the chains advance
        ``n_gibbs_steps`` sweeps); for "exact" and "pseudo_likelihood" one
        step of size ``learning_rate`` along the exact gradient of the
        minibatch's objective (L-BFGS needs the whole data set, so only
        :meth:`fit` uses it).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data in {0, 1} (or in {-1, +1}).
        y : Ignored

        Returns
        -------
        self : BoltzmannMachine
            The fitted model.
        """
        first = not hasattr(self, "coef_")
        x = self._validate_train_X(X, reset=first, min_samples=1)
        if self.method == "exact" and x.shape[1] > EXACT_FIT_MAX_UNITS:
            raise ValueError(
                f"method='exact' needs n_features <= {EXACT_FIT_MAX_UNITS}, got "
                f"{x.shape[1]}."
            )
        if not hasattr(self, "random_state_"):
            self.random_state_ = make_generator(self.random_state)
        if first:
            self._initialize(x)
        elif self.method == "pcd" and not hasattr(self, "persistent_chains_"):
            self._init_chains(x.shape[1], self.coef_.dtype)
        work = None if self.method == "pcd" else x.shape[0] * x.shape[1] ** 2
        with blas_threads_for(work):
            self._step(x, self.learning_rate)
        check_finite_state(self)
        return self

    # --------------------------------------------------------- evaluation
    def transform(self, X):
        """Conditional probabilities p(v_i = 1 | v_{-i}) of each unit given the rest.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data.

        Returns
        -------
        p : ndarray of shape (n_samples, n_features)
            sigmoid(2 a_i) with a = W x + b; the terms the pseudo-likelihood
            scores.
        """
        x = self._validate_eval_X(X)
        return bm_conditionals(x, self.coef_, self.intercept_)

    def score_samples(self, X):
        """Exact pseudo-log-likelihood sum_i log p(x_i | x_{-i}) of each row (nats).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
        """
        x = self._validate_eval_X(X)
        return bm_pseudo_likelihood(x, self.coef_, self.intercept_)

    def free_energy(self, X):
        """Free energy F(x) = -(1/2 x^T W x + b^T x), with x = 2 v - 1.

        p(x) = exp(-F(x)) / Z; with no hidden units this is the energy.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Binary data.

        Returns
        -------
        F : ndarray of shape (n_samples,)
        """
        return super().free_energy(X)

    def _free_energy_validated(self, x):
        return -bm_log_weight(x, self.coef_, self.intercept_)

    def sample(
        self,
        n_samples=1,
        *,
        sampler="gibbs",
        n_steps=1000,
        n_flips=1,
        init=None,
        thin=None,
        probabilities=False,
        n_jobs=None,
        random_state=None,
    ):
        """Draw binary vectors from the model with independent Markov chains.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, one returned vector each.
        sampler : {"gibbs", "metropolis"}, default="gibbs"
            "gibbs": sequential-scan Gibbs sampling, each unit redrawn from
            p(x_i | x_{-i}) in turn. "metropolis": Metropolis-Hastings; each
            proposal flips m distinct random units, m uniform on
            {1, ..., n_flips}, and is accepted with probability
            min(1, p(x_hat) / p(x)); the fraction accepted is stored in
            ``acceptance_rate_``.
        n_steps : int, default=1000
            Sweeps per chain: D unit updates (Gibbs) or D proposals
            (Metropolis-Hastings) each. The default mixes small models well.
        n_flips : int, default=1
            Maximum number of units flipped per Metropolis-Hastings proposal
            (1 <= n_flips <= D). Each proposal flips between 1 and
            ``n_flips`` units: a fixed even number would preserve the parity
            of the number of active units, and the chain would not be
            ergodic.
        init : array-like of shape (n_init, n_features), default=None
            Binary starting states; chain ``i`` starts at ``init[i % n_init]``.
            By default each chain starts from independent fair coin flips.
        thin : int, default=None
            If given, keep every ``thin``-th state of each chain.
        probabilities : bool, default=False
            Return p(v_i = 1 | v_{-i}) at the final states instead of the
            states.
        n_jobs : int, default=None
            Joblib workers for blocks of chains; the output (and
            ``acceptance_rate_``) does not depend on it.
        random_state : int, RandomState, Generator or None, default=None
            Seed of the chains (through one ``SeedSequence``).

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features), or
            (n_samples, n_steps // thin, n_features) when ``thin`` is given;
            values in {0, 1}.
        """
        check_is_fitted(self)
        if sampler not in ("gibbs", "metropolis"):
            raise ValueError(
                f"sampler must be 'gibbs' or 'metropolis', got {sampler!r}"
            )
        check_sample_args(n_samples, n_steps, thin, n_jobs)
        D = self.coef_.shape[0]
        if not isinstance(n_flips, Integral) or not 1 <= n_flips <= D:
            raise ValueError(
                f"n_flips must be an integer in [1, n_features={D}], got {n_flips!r}"
            )
        if init is not None:
            init = spins_to_binary(self._validate_eval_X(init))
        W, b = self.coef_, self.intercept_
        if sampler == "gibbs":
            model = GibbsChain(W, b)
        else:
            model = MetropolisChain(W, b, int(n_flips))
        if init is not None:
            init = np.asarray(init, dtype=model.dtype)
        out = run_chains(
            model,
            int(n_samples),
            int(n_steps),
            init=init,
            thin=thin,
            probabilities=probabilities,
            n_jobs=n_jobs,
            random_state=random_state,
        )
        if sampler == "gibbs":
            return out
        if out.shape[-1] == D + 1:
            counts, out = out[..., -1], out[..., :D]
            steps = n_steps if thin is None else (n_steps // thin) * thin
            last = counts if thin is None else counts[:, -1]
            proposals = steps * D * int(n_samples)
            self.acceptance_rate_ = (
                float(last.sum(dtype=np.float64) / proposals) if proposals else np.nan
            )
        else:  # thin > n_steps: nothing kept
            out = out[..., :D]
            self.acceptance_rate_ = np.nan
        return np.ascontiguousarray(out, dtype=W.dtype)

    # ---------------------------------------- hooks for generation and log Z
    def _chain_model(self):
        return GibbsChain(self.coef_, self.intercept_)

    def _exact_size(self):
        return self.coef_.shape[0]

    def _log_partition_exact(self, n_jobs):
        return bm_log_partition_exact(self.coef_, self.intercept_, n_jobs=n_jobs)

    def _annealing_path(self):
        return BMAnnealingPath(self.coef_, self.intercept_)

    def _params_digest(self):
        return params_digest(self.coef_, self.intercept_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
