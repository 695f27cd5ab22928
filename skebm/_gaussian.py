"""Gaussian-Bernoulli restricted Boltzmann machine: real-valued visible units.

The equations (MATH.md; Cho, Ilin & Raiko 2011), one function each:

    E(v, h) = sum_i (v_i - b_i)^2 / (2 s_i) - sum_ij (v_i / s_i) W_ji h_j - c.h
    p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / s_i)     gaussian_hidden_activation
    p(v | h) = N(b + W^T h, diag(s))                        gaussian_visible_mean
    F(v) = sum_i (v_i - b_i)^2 / (2 s_i) - sum_j softplus(c_j + sum_i W_ji v_i / s_i)
                                                            gaussian_free_energy
    log Z = logsumexp_h [c.h + sum_i ((W^T h)_i (2 b_i + (W^T h)_i)) / (2 s_i)]
            + sum_i log sqrt(2 pi s_i)                      gaussian_log_partition_exact

with s = sigma^2 the visible variances. Integrating v out for each hidden state
leaves a Gaussian integral, so the model is a mixture of 2**H Gaussians with a
shared diagonal covariance and log Z is exact by enumerating the hidden layer.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    EXACT_MAX_UNITS,
    LEARNING_RATE,
    BoltzmannBase,
    atomic_fit,
    check_finite_state,
    params_digest,
    print_epoch,
)
from ._gibbs import (
    center_layer_statistics_,
    sample_bernoulli_,
    sigmoid_,
    softplus_,
)
from ._optim import (
    EarlyStopping,
    IterateAverage,
    next_epoch_rate,
    resume_from_live_,
    run_epochs,
    sgd_step_,
    start_progress,
    training_generator,
    warm_started,
)
from ._partition import logsumexp_over_states
from ._sampling import make_generator, seed_sequence
from ._threads import blas_threads_for

_LOG_2PI = float(np.log(2.0 * np.pi))
# Early stopping scores held-out rows with the exact log-likelihood, whose
# log Z enumerates 2**H hidden states after every epoch.
_EARLY_STOPPING_MAX_UNITS = 20
_VALIDATION_ROWS = 1000
_VERBOSE_ROWS = 1000
# Rows densified at once when a sparse X is evaluated.
_DENSE_ROWS = 4096


# ------------------------------------------------------------------ equations
def _dense(v, dtype):
    v = v.toarray() if sp.issparse(v) else v
    return np.asarray(v, dtype=dtype)


def gaussian_hidden_activation(v, W, c, inv_var):
    """c + W (v / s) for each row of ``v`` (dense or sparse), shape (n, H)."""
    if sp.issparse(v):
        a = np.asarray(safe_sparse_dot(v, (W * inv_var).T))
    else:
        a = (v * inv_var) @ W.T
    a += c
    return a


def gaussian_visible_mean(h, W, b):
    """Mean b + W^T h of p(v | h), shape (n, D)."""
    m = h @ W
    m += b
    return m


def _quadratic(v, b, inv_var):
    """sum_i (v_i - b_i)^2 / (2 s_i) per row, for dense or sparse ``v``."""
    if sp.issparse(v):
        # (v - b)^2 = v^2 - 2 v b + b^2, so the zeros need not be stored
        sq = np.asarray(v.multiply(v) @ (0.5 * inv_var)).ravel()
        lin = np.asarray(v @ (b * inv_var)).ravel()
        return sq - lin + 0.5 * float(np.sum(b * b * inv_var))
    d = v - b
    d *= d
    return d @ (0.5 * inv_var)


def gaussian_free_energy(v, W, b, c, var):
    """Free energy F(v), with p(v) = exp(-F(v)) / Z, shape (n_samples,)."""
    inv_var = 1.0 / var
    a = softplus_(gaussian_hidden_activation(v, W, c, inv_var))
    return _quadratic(v, b, inv_var) - a.sum(axis=1)


def gaussian_log_p_visible_given_hidden(v, h, W, b, var):
    """log N(v; b + W^T h, diag(s)) for paired rows of ``v`` and ``h``."""
    d = _dense(v, W.dtype) - gaussian_visible_mean(h, W, b)
    d *= d
    return -(d @ (0.5 / var)) - 0.5 * float(np.sum(np.log(var)) + v.shape[1] * _LOG_2PI)


def _gaussian_log_marginal_h(h, W, b, c, inv_var):
    """log of the integral over v of exp(-E(v, h)), without the constant
    sum_i log sqrt(2 pi s_i): c.h + sum_i (W^T h)_i (2 b_i + (W^T h)_i) / (2 s_i).

    Written with W^T h factored out so that large biases do not cancel.
    """
    m = h @ W
    q = m + 2.0 * b
    q *= m
    return h @ c + q @ (0.5 * inv_var)


def gaussian_log_partition_exact(W, b, c, var, *, n_jobs=None):
    """Exact log Z by enumerating the 2**H hidden states (float64)."""
    W, b, c, var = (np.asarray(x, dtype=np.float64) for x in (W, b, c, var))
    H = W.shape[0]
    inv_var = 1.0 / var
    lse = logsumexp_over_states(
        _gaussian_log_marginal_h, H, (W, b, c, inv_var), n_jobs=n_jobs
    )
    return lse + 0.5 * float(np.sum(np.log(var)) + W.shape[1] * _LOG_2PI)


def gaussian_energy(v, h, W, b, c, var):
    """Energy E(v, h) of paired rows of ``v`` and ``h``."""
    inv_var = 1.0 / var
    a = gaussian_hidden_activation(v, W, np.zeros_like(c), inv_var)
    return _quadratic(v, b, inv_var) - np.einsum("ij,ij->i", a, h) - h @ c


def _normal(shape, rng, dtype):
    # float64 draws for both dtypes: float32 and float64 runs share a stream.
    return np.asarray(rng.standard_normal(shape), dtype=dtype)


def sample_normal(mean, std, rng, shape=None):
    """Draws from N(mean, diag(std^2)) in ``mean``'s dtype, of ``shape``
    (by default that of ``mean``, which then broadcasts)."""
    v = _normal(mean.shape if shape is None else shape, rng, mean.dtype)
    v *= std
    v += mean
    return v


def sample_gaussian_visible(h, W, b, std, rng):
    """Draws from p(v | h) = N(b + W^T h, diag(std^2))."""
    return sample_normal(gaussian_visible_mean(h, W, b), std, rng)


def tempered_visible_moments(h, W, b, inv_var, a, inv_t, beta):
    """Mean and precision of v | h on the AIS path at ``beta``, between the
    base N(a, 1 / inv_t) and p(v | h) = N(b + W^T h, 1 / inv_var): the
    precision tau = (1 - beta) inv_t + beta inv_var and the
    precision-weighted mean of the two."""
    tau = (1.0 - beta) * inv_t + beta * inv_var
    mean = gaussian_visible_mean(h, W, b)
    mean *= beta * inv_var
    mean += (1.0 - beta) * inv_t * a
    mean /= tau
    return mean, tau


# ----------------------------------------------------- chains and annealing
class GaussianRBMChain:
    """Block-Gibbs chain of a Gaussian-Bernoulli RBM (protocol of _sampling)."""

    def __init__(self, W, b, c, var):
        self.W, self.b, self.c = W, b, c
        self.inv_var = (1.0 / var).astype(W.dtype)
        self.std = np.sqrt(var).astype(W.dtype)
        self.dtype = W.dtype

    def random_visible(self, n, rng):
        # each unit from N(b_i, s_i): the model's p(v | h = 0)
        return sample_normal(self.b, self.std, rng, (n, self.W.shape[1]))

    def init_state(self, v0):
        v = np.array(v0, dtype=self.dtype)
        return {"v": v, "mean": v.copy()}

    def step_(self, state, rng):
        p = sigmoid_(
            gaussian_hidden_activation(state["v"], self.W, self.c, self.inv_var)
        )
        h = sample_bernoulli_(p, p, rng)
        state["mean"] = gaussian_visible_mean(h, self.W, self.b)
        state["v"] = sample_normal(state["mean"], self.std, rng)

    def visible(self, state, probabilities):
        return (state["mean"] if probabilities else state["v"]).copy()


class GaussianAnnealingPath:
    """AIS path from independent Gaussian visibles N(a, t) and fair-coin
    hiddens to a Gaussian-Bernoulli RBM.

    log f_beta(v) = -(1 - beta) sum_i (v_i - a_i)^2 / (2 t_i)
                    - beta sum_i (v_i - b_i)^2 / (2 s_i) + sum_j softplus(beta x_j),
    x = c + W (v / s). At beta = 0 this is the base model, with
    log Z_0 = H log 2 + sum_i log sqrt(2 pi t_i); at beta = 1 the RBM. The
    state is ``[v, x]`` so a step costs two matrix products.
    """

    def __init__(self, W, b, c, var, base_mean, base_var):
        self.W, self.b, self.c = W, b, c
        dtype = W.dtype
        self.inv_var = (1.0 / var).astype(dtype)
        self.a = np.asarray(base_mean, dtype=dtype)
        self.inv_t = (1.0 / np.asarray(base_var, dtype=np.float64)).astype(dtype)
        self._log_t = np.log(np.asarray(base_var, dtype=np.float64))

    @property
    def log_z0(self):
        D = self.W.shape[1]
        return float(
            self.W.shape[0] * np.log(2.0) + 0.5 * (self._log_t.sum() + D * _LOG_2PI)
        )

    def sample_base(self, n, rng):
        std = 1.0 / np.sqrt(self.inv_t)
        return self.from_visible(sample_normal(self.a, std, rng, (n, self.a.size)))

    def from_visible(self, v):
        v = np.array(v, dtype=self.W.dtype)
        return [v, gaussian_hidden_activation(v, self.W, self.c, self.inv_var)]

    def delta_log_f(self, state, beta0, beta1):
        """log f_{beta1}(v) - log f_{beta0}(v) for each chain (float64)."""
        v, x = state
        gap = _quadratic(v, self.a, self.inv_t) - _quadratic(v, self.b, self.inv_var)
        s1 = softplus_(x * x.dtype.type(beta1)).sum(axis=1, dtype=np.float64)
        s0 = softplus_(x * x.dtype.type(beta0)).sum(axis=1, dtype=np.float64)
        return s1 - s0 + (beta1 - beta0) * gap.astype(np.float64)

    def step_(self, state, beta, rng):
        """One Gibbs transition leaving p_beta invariant; updates ``state``."""
        v, x = state
        p = sigmoid_(x * x.dtype.type(beta))
        h = sample_bernoulli_(p, p, rng)
        mean, tau = tempered_visible_moments(
            h, self.W, self.b, self.inv_var, self.a, self.inv_t, beta
        )
        v[...] = sample_normal(mean, 1.0 / np.sqrt(tau), rng)
        x[...] = gaussian_hidden_activation(v, self.W, self.c, self.inv_var)


# ------------------------------------------------------------------ training
class GaussianBernoulliRBM(ClassNamePrefixFeaturesOutMixin, BoltzmannBase):
    """Gaussian-Bernoulli Restricted Boltzmann Machine for real-valued data.

    Real-valued visible units with per-feature variances and binary hidden
    units, in the parameterisation of Cho, Ilin & Raiko (2011)::

        E(v, h) = sum_i (v_i - b_i)^2 / (2 s_i) - sum_ij (v_i / s_i) W_ji h_j - c.h

        p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / s_i)
        p(v | h)       = N(b + W^T h, diag(s))
        F(v)           = sum_i (v_i - b_i)^2 / (2 s_i)
                         - sum_j softplus(c_j + sum_i W_ji v_i / s_i)

    with ``W = components_``, ``b = intercept_visible_``,
    ``c = intercept_hidden_`` and ``s = variances_``. The model is a mixture
    of 2**n_components Gaussians with a shared diagonal covariance, so log Z
    is exact by enumerating the hidden layer (up to ~24 units) and the
    log-likelihood is a log-density in nats, comparable with
    :meth:`sklearn.mixture.GaussianMixture.score_samples`.

    The methods and fitted attributes are those of :class:`BernoulliRBM`
    (``fit``, ``partial_fit``, ``transform``, ``sample``, ``free_energy``,
    ``log_partition``, ``log_likelihood``, ``score_samples``, ``score``).
    Standardize the data first (``StandardScaler``): the initialisation, the
    learning-rate defaults and the variance floor are scaled to the data, but
    standardized features are what the defaults were tried on.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.01
        Step size of the (stochastic) gradient ascent on the log-likelihood.
        Real-valued visibles take smaller steps than binary ones: gradients
        scale with 1 / variance.
    batch_size : int, default=10
        Examples per minibatch.
    n_iter : int, default=10
        Epochs over the training set.
    verbose : int, default=0
        Print the mean free energy of (at most 1000) training rows per epoch.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds initialisation, minibatch order and the Gibbs chains.
    method : {"pcd", "cd", "cd+pcd", "pt"}, default="pcd"
        Negative phase: persistent contrastive divergence (``n_chains``
        persistent chains), contrastive divergence from the minibatch,
        both at once, or parallel tempering (``n_temperatures`` tempered
        replicas of each persistent chain, inverse temperatures 1,
        1 - 1/K, ..., 1/K; the tempered model at beta has
        p(v | h) = N(b + W^T h, s / beta)).

        "cd+pcd" runs CD-k from the minibatch's rows and PCD-k on
        ``n_chains`` persistent chains in the same sweeps, and averages the
        negative statistics over all of them. CD's chains, started at the
        data, fit the data's neighbourhood but never visit mass that forms
        far from it (hidden states with many units on, whose visible means
        reinforce each other); the persistent chains roam the model and push
        such mass down. On standardized digits it learns a far better
        density per epoch than either alone (benchmarks/RESULTS.md, section
        8), with ``n_chains`` about a fifth of ``batch_size``; it delays
        such mass in long runs rather than ruling it out, so check a long
        fit with AIS in both directions.
    n_gibbs_steps : int, default=1
        Gibbs sweeps per update (the k of CD-k / PCD-k).
    n_chains : int, default=None
        Persistent chains ("pcd", "cd+pcd", "pt"); None means ``batch_size``
        ("pcd", "pt") or ``batch_size // 5``, at least 1 ("cd+pcd").
    n_temperatures : int, default=10
        Tempered replicas per chain for ``method="pt"``.
    momentum : float, default=0.0
        Momentum of the gradient steps, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on ``components_``.
    learning_rate_schedule : {"constant", "linear", "invscaling"}, default="constant"
        As for :class:`BernoulliRBM`.
    centering : bool, default=False
        Centered gradient, as for :class:`BernoulliRBM` (Montavon & Mueller
        2012; Melchior, Fischer & Wiskott 2016), in u = v / s, the variable
        the weights couple to the hidden units: the energy's coupling becomes
        -(u - mu)^T W^T (h - lam) with offsets mu (started at b / s, the
        training data's means over their variances) and lam (started at
        0.5), moving averages of u and p(h | v) of the minibatches. The
        model is stored in standard form (b = b~ - W^T lam, c = c~ - W mu;
        the variances' step is unchanged, as no offset depends on them), so
        every other method is unaffected.
    centering_rate : float in (0, 1], default=0.01
        Rate of the offsets' moving averages.
    variance : {"learned", "fixed"}, default="learned"
        "learned": the log-variances are trained with the other parameters
        and kept between ``variance_floor_`` and ``variance_ceiling_``;
        "fixed": the variances stay
        at their initial value, the training data's variance of each feature
        (1 on standardized data: the classic recipe of unit variances).
    min_variance : float, default=0.01
        Floor of each learned variance as a fraction of the feature's
        variance in the data of the first fit (``variance_floor_``), so that
        a variance cannot collapse onto a training point; its inverse bounds
        it from above (``variance_ceiling_`` = scale / ``min_variance``), so
        that a variance cannot run away either (a feature with a few rare
        values, e.g. a nearly constant pixel in a small training set, can
        otherwise drive its variance and the weights to overflow). A feature that is
        constant in that data (variance at most machine epsilon times the
        largest feature variance, i.e. constant up to rounding) takes the
        mean variance of the other features (1 if every feature is constant)
        as its scale; its variance then shrinks to the floor, a finite,
        documented density.
    average : bool or int, default=False
        Polyak averaging of the parameters: True averages every iterate of
        ``fit`` and ``partial_fit``, an int starts after that many training
        samples. The fitted attributes show the average; training continues
        from the last iterate.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, score it with the exact
        log-likelihood after every epoch (needs ``n_components <= 20``), stop
        after ``n_iter_no_change`` epochs without an improvement of ``tol``
        and keep the best epoch's parameters.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    tol : float, default=1e-4
    shuffle : bool, default=False
        Visit the training rows in a new random order every epoch.
    warm_start : bool, default=False
        Continue the previous fit (parameters, chains, momentum, averages,
        schedule position and random stream) instead of starting anew:
        ``fit(n_iter=a)`` then a warm ``fit`` of ``b`` epochs equals
        ``fit(n_iter=a + b)`` bit for bit.
    log_partition_params : dict, default=None
        Settings of the log Z behind :meth:`score_samples` (see
        :meth:`log_partition`); by default exact when ``n_components <= 24``,
        else AIS with the default schedule and a seed fixed per fitted model.
    n_jobs : int, default=None
        Joblib workers for the exact enumeration, AIS and sampling behind
        :meth:`score_samples`; the results do not depend on it.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix W.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases c.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible means b (of p(v | h = 0)).
    log_variances_ : ndarray of shape (n_features,)
        log s, the trained form of the variances.
    variances_ : ndarray of shape (n_features,)
        The visible variances s = ``exp(log_variances_)``.
    variance_floor_ : ndarray of shape (n_features,)
        The smallest variance each feature may learn.
    variance_ceiling_ : ndarray of shape (n_features,)
        The largest variance each feature may learn.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains.
    n_iter_ : int
        Epochs run (cumulative over warm starts).
    t_ : int
        Parameter updates run.
    history_ : list of dict
        One entry per epoch (``epoch``, ``t``, ``learning_rate``,
        ``seconds``; ``validation_score`` with early stopping).
    validation_scores_, best_validation_score_ : list of float, float
        With ``early_stopping``: held-out mean log-likelihoods (nats).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    BernoulliRBM : binary visible units.
    sklearn.mixture.GaussianMixture : the density model to compare with.

    References
    ----------
    Cho, K., Ilin, A. & Raiko, T. (2011). Improved learning of
    Gaussian-Bernoulli restricted Boltzmann machines. ICANN.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import GaussianBernoulliRBM
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> model = GaussianBernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (100, 2)
    >>> bool(np.isfinite(model.score(X)))
    True
    """

    _fitted_attributes = (
        "components_",
        "intercept_hidden_",
        "intercept_visible_",
        "log_variances_",
    )

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [LEARNING_RATE],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state", np.random.Generator],
        "method": [StrOptions({"pcd", "cd", "cd+pcd", "pt"})],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "n_temperatures": [Interval(Integral, 2, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear", "invscaling"})],
        "centering": ["boolean"],
        "centering_rate": [Interval(Real, 0, 1, closed="right")],
        "variance": [StrOptions({"learned", "fixed"})],
        "min_variance": [Interval(Real, 0, 1, closed="right")],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "log_partition_params": [dict, None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.01,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        method="pcd",
        n_gibbs_steps=1,
        n_chains=None,
        n_temperatures=10,
        momentum=0.0,
        weight_decay=0.0,
        learning_rate_schedule="constant",
        centering=False,
        centering_rate=0.01,
        variance="learned",
        min_variance=0.01,
        average=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        shuffle=False,
        warm_start=False,
        log_partition_params=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.centering = centering
        self.centering_rate = centering_rate
        self.variance = variance
        self.min_variance = min_variance
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.log_partition_params = log_partition_params
        self.n_jobs = n_jobs

    # --------------------------------------------------------- parameters
    @property
    def variances_(self):
        """The visible variances s = ``exp(log_variances_)``."""
        check_is_fitted(self, "log_variances_")
        return np.exp(self.log_variances_)

    def _params(self):
        """(W, b, c, s) as the equations take them."""
        return (
            self.components_,
            self.intercept_visible_,
            self.intercept_hidden_,
            np.exp(self.log_variances_),
        )

    def _trained(self):
        """The arrays the optimiser updates, in a fixed order."""
        return [
            self.components_,
            self.intercept_visible_,
            self.intercept_hidden_,
            self.log_variances_,
        ]

    # ---------------------------------------------------------- validation
    def _validate_train_X(self, X, reset):
        return validate_data(
            self,
            X,
            accept_sparse=("csr", "csc", "coo", "lil", "bsr", "dia"),
            dtype=(np.float64, np.float32),
            reset=reset,
            ensure_min_samples=2 if reset else 1,
        )

    def _check_visible_values(self, X, name):
        # validate_data has refused NaN and inf; every real value is in the
        # domain of Gaussian units.
        return None

    # ------------------------------------------------------ initialisation
    def _initialize(self, X, rng):
        n, D = X.shape
        dtype = X.dtype
        mean, var = _column_moments(X)
        scale = variance_scale(var, dtype)
        self.variance_floor_ = (self.min_variance * scale).astype(dtype)
        self.variance_ceiling_ = (scale / self.min_variance).astype(dtype)
        # float64 draws for both dtypes: float32 and float64 fits share a stream.
        self.components_ = np.asarray(
            rng.normal(0, 0.01, (self.n_components, D)), dtype=dtype
        )
        self._n_features_out = self.n_components
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = mean.astype(dtype)
        self.log_variances_ = np.log(scale).astype(dtype)
        n_chains = self.n_chains
        if n_chains is None:
            hybrid = self.method == "cd+pcd"
            n_chains = max(1, self.batch_size // 5) if hybrid else self.batch_size
        self.h_samples_ = np.zeros((n_chains, self.n_components), dtype=dtype)
        for name in (
            "_velocity",
            "_average",
            "_live",
            "_pt_v",
            "_data_moments",
            "_offsets",
        ):
            self.__dict__.pop(name, None)
        self.__dict__.pop("log_partition_info_", None)
        self.__dict__.pop("_log_partition_seed", None)

    def _training_state(self, rng):
        """Create missing optimiser state; continue from the last iterate."""
        live = self.__dict__.pop("_live", None)
        avg = getattr(self, "_average", None)
        # The attributes show the average; training goes on from the last
        # iterate -- unless the user has set other parameters since.
        if live is not None and not resume_from_live_(
            self._trained(), live, None if avg is None else avg.mean
        ):
            self._average = None
        if self.average is False:
            self._average = None
        elif getattr(self, "_average", None) is None:
            self._average = IterateAverage(0 if self.average is True else self.average)
        if self.momentum and getattr(self, "_velocity", None) is None:
            self._velocity = [np.zeros_like(p) for p in self._trained()]
        if not self.centering:
            self._offsets = None
        elif getattr(self, "_offsets", None) is None:
            W, b, _, var = self._params()
            # u = v / s: at initialisation b is the data mean
            self._offsets = [
                (b / var).astype(W.dtype),
                np.full(W.shape[0], 0.5, W.dtype),
            ]
        if self.method == "pt" and getattr(self, "_pt_v", None) is None:
            m = self.h_samples_.shape[0]
            W, b, _, var = self._params()
            h = np.zeros((m * self.n_temperatures, self.n_components), W.dtype)
            self._pt_v = sample_gaussian_visible(h, W, b, np.sqrt(var), rng)

    def _track_data(self, X, reset=False):
        """Moments of the training data for the AIS base model: of this fit's
        data (``reset``) or of every minibatch so far (``partial_fit``)."""
        D = X.shape[1]
        if reset or getattr(self, "_data_moments", None) is None:
            self._data_moments = [0, np.zeros(D), np.zeros(D)]
        mom = self._data_moments
        for start in range(0, X.shape[0], _DENSE_ROWS):
            rows = _dense(X[start : start + _DENSE_ROWS], np.float64)
            mom[0] += rows.shape[0]
            mom[1] += rows.sum(axis=0)
            mom[2] += (rows * rows).sum(axis=0)

    # ----------------------------------------------------------------- fit
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the real-valued data X.

        With ``warm_start=True`` and a fitted model, training continues where
        the last fit stopped for ``n_iter`` more epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (real values; sparse input is densified one
            minibatch at a time).
        y : Ignored

        Returns
        -------
        self : GaussianBernoulliRBM
            The fitted model.
        """
        warm = warm_started(self, "components_")
        X = self._validate_train_X(X, reset=not warm)
        if sp.issparse(X):
            X = X.tocsr()
        if self.early_stopping:
            if self.average is not False:
                raise ValueError(
                    "average cannot be combined with early_stopping: early "
                    "stopping keeps the best epoch's parameters, averaging "
                    "their mean."
                )
            if self.n_components > _EARLY_STOPPING_MAX_UNITS:
                raise ValueError(
                    "early_stopping scores held-out data with the exact "
                    f"log-likelihood, which enumerates 2**n_components hidden "
                    f"states after every epoch; it needs n_components <= "
                    f"{_EARLY_STOPPING_MAX_UNITS}, got {self.n_components}."
                )
        rng = training_generator(self, warm)
        X_val = None
        if self.early_stopping:
            X, X_val = self._split_validation(X, rng)
        if warm:
            X = X.astype(self.components_.dtype, copy=False)
        else:
            self._initialize(X, rng)
        self._training_state(rng)
        start_progress(self, warm)
        self._track_data(X, reset=True)
        stopper = None
        if X_val is not None:
            # held-out exact log-likelihood; keeps the best trained parameters
            stopper = EarlyStopping(
                self,
                lambda: (
                    np.mean(-self._free_energy(X_val))
                    - gaussian_log_partition_exact(*self._params())
                ),
                self._trained,
            )
        run_epochs(
            self,
            X,
            self.n_iter,
            self._update,
            work=self.batch_size * X.shape[1] * self.n_components,
            begin_epoch=lambda horizon: {"lr": next_epoch_rate(self, horizon)},
            end_epoch=None if stopper is None else stopper.end_epoch,
        )
        if stopper is not None:
            stopper.restore_best()
        self._publish_average()
        return self

    def _split_validation(self, X, rng):
        n = X.shape[0]
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 2:
            raise ValueError(
                f"early_stopping needs at least 1 validation and 2 training "
                f"samples; validation_fraction={self.validation_fraction} of "
                f"{n} samples gives {n_val} and {n - n_val}."
            )
        order = rng.permutation(n)
        return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])][:_VALIDATION_ROWS]

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Fit the model to one more minibatch ``X`` (one gradient step).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. A first call initialises the model from ``X``
            (its means and variances), so give it a representative batch.
        y : Ignored

        Returns
        -------
        self : GaussianBernoulliRBM
            The fitted model.
        """
        first = not hasattr(self, "components_")
        X = self._validate_train_X(X, reset=first)
        if not hasattr(self, "random_state_"):
            self.random_state_ = make_generator(self.random_state)
        if first:
            self._initialize(X, self.random_state_)
            start_progress(self, False)
        else:
            X = X.astype(self.components_.dtype, copy=False)
        self._training_state(self.random_state_)
        self._track_data(X)
        with blas_threads_for(X.shape[0] * X.shape[1] * self.n_components):
            self._update(X, lr=self.learning_rate)
        self._publish_average()
        check_finite_state(self)
        return self

    def _update(self, v_pos, lr):
        """One gradient step on minibatch ``v_pos``."""
        rng = self.random_state_
        self.t_ = getattr(self, "t_", 0) + 1
        W, b, c, z = self._trained()
        dtype = W.dtype
        v_pos = _dense(v_pos, dtype)
        inv_var = np.exp(-z)
        std = np.exp(0.5 * z)
        h_pos = sigmoid_(gaussian_hidden_activation(v_pos, W, c, inv_var))
        if self.method == "cd":
            h = sample_bernoulli_(h_pos.copy(), h_pos, rng)
            v_neg, h_neg = self._gibbs_chain(h, W, b, c, inv_var, std, rng)
        elif self.method == "cd+pcd":
            # one chain block: the minibatch's CD starts, then the persistent ones
            n = h_pos.shape[0]
            h = np.empty((n + self.h_samples_.shape[0], h_pos.shape[1]), dtype)
            sample_bernoulli_(h[:n], h_pos, rng)
            h[n:] = self.h_samples_
            v_neg, h_neg = self._gibbs_chain(h, W, b, c, inv_var, std, rng)
            self.h_samples_ = sample_bernoulli_(h_neg[n:].copy(), h_neg[n:], rng)
        elif self.method == "pcd":
            v_neg, h_neg = self._gibbs_chain(
                self.h_samples_, W, b, c, inv_var, std, rng
            )
            self.h_samples_ = sample_bernoulli_(h_neg.copy(), h_neg, rng)
        else:
            v_neg, h_neg = self._tempering_sweeps(W, b, c, inv_var, std, rng)
        hv_pos, hv_neg = _mean_outer(h_pos, v_pos), _mean_outer(h_neg, v_neg)
        gW = hv_pos - hv_neg
        gW *= inv_var
        gb = _bias_statistic(v_pos, b, inv_var) - _bias_statistic(v_neg, b, inv_var)
        gc = h_pos.mean(axis=0) - h_neg.mean(axis=0)
        offsets = getattr(self, "_offsets", None)
        if offsets is not None:
            # In u = v / s the coupling and b's statistic are the binary
            # ones (b/s-terms cancel between the phases), so the centering
            # algebra is the RBM's; z's step needs none (no offset has s in it).
            u_mean = v_pos.mean(axis=0)
            u_mean *= inv_var
            biases = [gb, gc]
            center_layer_statistics_([gW], biases, offsets)
            gb, gc = biases
            nu = dtype.type(self.centering_rate)
            for mu, m in zip(offsets, (u_mean, h_pos.mean(axis=0)), strict=True):
                mu *= 1 - nu
                mu += nu * m
        grads = [
            gW,
            gb,
            gc,
            _log_variance_statistic(v_pos, h_pos, W, b, inv_var, hv_pos)
            - _log_variance_statistic(v_neg, h_neg, W, b, inv_var, hv_neg)
            if self.variance == "learned"
            else np.zeros_like(z),
        ]
        sgd_step_(
            self._trained(),
            grads,
            lr,
            velocities=getattr(self, "_velocity", None),
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            decayed=[True, False, False, False],
        )
        if self.variance == "learned":
            np.clip(z, np.log(self.variance_floor_), self._log_ceiling(), out=z)
        if self._average is not None:
            self._average.update(self._trained(), v_pos.shape[0])

    def _log_ceiling(self):
        ceiling = getattr(self, "variance_ceiling_", None)
        if ceiling is None:  # fitted before the ceiling existed
            return np.full_like(self.log_variances_, np.inf)
        return np.log(ceiling)

    def _gibbs_chain(self, h, W, b, c, inv_var, std, rng):
        """``n_gibbs_steps`` sweeps from hidden states ``h``: the last visible
        draws and p(h | v) of them."""
        v = sample_gaussian_visible(h, W, b, std, rng)
        p = sigmoid_(gaussian_hidden_activation(v, W, c, inv_var))
        for _ in range(self.n_gibbs_steps - 1):
            h = sample_bernoulli_(p.copy(), p, rng)
            v = sample_gaussian_visible(h, W, b, std, rng)
            p = sigmoid_(gaussian_hidden_activation(v, W, c, inv_var))
        return v, p

    def _tempering_sweeps(self, W, b, c, inv_var, std, rng):
        """Parallel tempering over the persistent replicas; the beta = 1
        replicas' visible states and p(h | v) of them."""
        K = self.n_temperatures
        m = self.h_samples_.shape[0]
        betas = (1.0 - np.arange(K) / K).astype(W.dtype)
        beta_rows = np.repeat(betas, m)[:, None]
        v = self._pt_v
        zero = np.zeros_like(c)
        swaps = []
        for _ in range(self.n_gibbs_steps):
            x = gaussian_hidden_activation(v, W, zero, inv_var)
            x += c
            p = sigmoid_(x * beta_rows)
            h = sample_bernoulli_(p, p, rng)
            noise = _normal(v.shape, rng, v.dtype)
            noise *= std / np.sqrt(beta_rows)
            v = gaussian_visible_mean(h, W, b) + noise
            swaps.append(self._swap_replicas_(v, W, b, c, inv_var, betas, m, rng))
        self._pt_v = v
        rate = float(np.mean(swaps))
        prev = getattr(self, "pt_swap_rate_", np.nan)
        self.pt_swap_rate_ = rate if np.isnan(prev) else 0.95 * prev + 0.05 * rate
        v1 = v[:m]
        return v1, sigmoid_(gaussian_hidden_activation(v1, W, c, inv_var))

    def _swap_replicas_(self, v, W, b, c, inv_var, betas, m, rng):
        """Metropolis swaps between neighbouring temperatures, in place, on
        pairs (k, k+1) of one parity per call; returns the acceptance rate."""
        K = betas.size
        parity = getattr(self, "_pt_parity", 0)
        self._pt_parity = parity ^ 1
        ks = np.arange(parity, K - 1, 2)
        if ks.size == 0:
            return 0.0
        q = _quadratic(v, b, inv_var).reshape(K, m)
        x = gaussian_hidden_activation(v, W, c, inv_var).reshape(K, m, -1)

        def log_f(k_state, beta):  # tempered marginal log p~_beta(v)
            sp_sum = softplus_(beta[..., None] * x[k_state]).sum(axis=-1)
            return sp_sum - beta * q[k_state]

        lo, hi = betas[ks][:, None], betas[ks + 1][:, None]
        log_r = log_f(ks + 1, lo) + log_f(ks, hi) - log_f(ks, lo) - log_f(ks + 1, hi)
        accept = np.log(rng.random(log_r.shape)) < log_r
        V = v.reshape(K, m, -1)
        a_rows, chains = np.nonzero(accept)
        k0 = ks[a_rows]
        tmp = V[k0, chains].copy()
        V[k0, chains] = V[k0 + 1, chains]
        V[k0 + 1, chains] = tmp
        return float(accept.mean())

    def _publish_average(self):
        """Show the averaged parameters; keep the last iterate for training."""
        avg = getattr(self, "_average", None)
        live = None if avg is None else avg.publish(self._trained())
        if live is not None:
            self._live = live

    def _print_progress(self, X, epoch, elapsed):
        rows = X[: min(X.shape[0], _VERBOSE_ROWS)]
        f = float(np.mean(self._free_energy(rows)))
        print_epoch(self, epoch, "free energy", f, elapsed)

    # ------------------------------------------------------- evaluation
    def transform(self, X):
        """Hidden activation probabilities p(h = 1 | v = X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
        """
        X = self._validate_eval_X(X)
        W, _, c, var = self._params()
        return sigmoid_(
            gaussian_hidden_activation(X, W, c, (1.0 / var).astype(W.dtype))
        )

    def gibbs(self, v):
        """One Gibbs step v -> h -> v' from each row of ``v``.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Draws from p(v | h) with h drawn from p(h | v).
        """
        v = self._validate_eval_X(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = make_generator(self.random_state)
        W, b, c, var = self._params()
        chain = GaussianRBMChain(W, b, c, var)
        state = chain.init_state(_dense(v, W.dtype))
        chain.step_(state, self.random_state_)
        return state["v"]

    def _free_energy(self, X):
        W, b, c, var = self._params()
        if sp.issparse(X) and X.shape[0] > _DENSE_ROWS:
            return np.concatenate(
                [
                    gaussian_free_energy(X[s : s + _DENSE_ROWS], W, b, c, var)
                    for s in range(0, X.shape[0], _DENSE_ROWS)
                ]
            )
        return gaussian_free_energy(X, W, b, c, var)

    def _free_energy_validated(self, X):
        return self._free_energy(X)

    def score_samples(self, X):
        """Log-density log p(x) of each row of ``X``, in nats.

        -F(x) - log Z with log Z exact (enumerating the 2**n_components
        hidden states: O(2**H n_features) once per fitted model, seconds at
        H = 20) when ``n_components <= 24``, else an AIS estimate (the
        default 14 500 temperatures x 100 runs cost about
        3 x 10**6 n_features n_components multiply-adds, tens of seconds on
        digits with H = 256, with a seed fixed per fitted model so that
        repeated scores agree); ``log_partition_params`` changes either. The
        log Z is cached, so later calls cost O(n_samples n_features H).
        Comparable with :meth:`sklearn.mixture.GaussianMixture.score_samples`
        on the same data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        X = self._validate_eval_X(X)
        log_z = self._log_partition_for_score()
        return -self._free_energy(X) - log_z

    def _log_partition_for_score(self):
        seed = getattr(self, "_log_partition_seed", None)
        if seed is None:
            # fixed once per fitted model: repeated scores agree and cache
            seed = self._log_partition_seed = int(
                seed_sequence(self.random_state).spawn(1)[0].generate_state(1)[0]
            )
        params = {"method": "auto", "n_jobs": self.n_jobs, "random_state": seed}
        params.update(self.log_partition_params or {})
        if params["method"] == "auto":
            auto_exact = self._exact_size() <= EXACT_MAX_UNITS
            params["method"] = "exact" if auto_exact else "ais"
        cached = self._cached_log_partition(params["method"])
        if cached is not None:
            return cached["log_z"]
        return self.log_partition(**params)

    # ---------------------------------------- hooks for generation and log Z
    def _chain_model(self):
        return GaussianRBMChain(*self._params())

    def _exact_size(self):
        return self.components_.shape[0]

    def _log_partition_exact(self, n_jobs):
        return gaussian_log_partition_exact(*self._params(), n_jobs=n_jobs)

    def _base_moments(self):
        """Mean and variance of the training data (the AIS base model), the
        variance floored so that the base is a proper density."""
        mom = getattr(self, "_data_moments", None)
        if mom is None or mom[0] == 0:
            return self.intercept_visible_, np.exp(self.log_variances_)
        n, s1, s2 = mom
        mean = s1 / n
        var = np.maximum(s2 / n - mean * mean, 0.0)
        return mean, np.maximum(var, self.variance_floor_)

    def _annealing_path(self):
        return GaussianAnnealingPath(*self._params(), *self._base_moments())

    def _params_digest(self):
        return params_digest(*self._trained())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _column_moments(X):
    """Per-column mean and (population) variance in float64, dense or sparse."""
    if sp.issparse(X):
        n = X.shape[0]
        mean = np.asarray(X.sum(axis=0), dtype=np.float64).ravel() / n
        sq = np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel() / n
        return mean, np.maximum(sq - mean * mean, 0.0)
    X64 = np.asarray(X, dtype=np.float64)
    return X64.mean(axis=0), X64.var(axis=0)


def variance_scale(var, dtype):
    """The data variances with each constant feature's replaced by the mean
    of the others' (1 if every feature is constant).

    A feature is constant when its variance is at rounding level next to the
    largest one (e.g. 1e-33 from StandardScaler on a constant column); its
    variance would otherwise floor at 1e-35 and the gradients, which scale
    with 1 / variance, overflow.
    """
    scale = np.array(var, dtype=np.float64)
    positive = scale > np.finfo(dtype).eps * scale.max()
    scale[~positive] = scale[positive].mean() if positive.any() else 1.0
    return scale


def _mean_outer(h, v):
    """Mean of h v^T over rows, shape (H, D)."""
    g = h.T @ v
    g *= g.dtype.type(1.0 / v.shape[0])
    return g


def _bias_statistic(v, b, inv_var):
    """Mean of (v - b) / s: the b-gradient term of one phase."""
    return (v.mean(axis=0) - b) * inv_var


def _log_variance_statistic(v, h, W, b, inv_var, hv=None):
    """Mean of -dE/dz with z = log s: (v - b)^2 / (2 s) - v (W^T h) / s.

    ``hv``, the phase's mean h v^T (:func:`_mean_outer`) when the caller has
    it, saves a product: the mean of v_i (W^T h)_i is sum_j W_ji hv_ji.
    """
    d = v - b
    d *= d
    quad = d.mean(axis=0)
    quad *= quad.dtype.type(0.5)
    if hv is None:
        quad -= (v * (h @ W)).mean(axis=0)
    else:
        quad -= np.einsum("ji,ji->i", W, hv)
    return quad * inv_var
