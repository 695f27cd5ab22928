"""Deep belief networks: a greedy stack of RBMs, its generator and its bound.

A DBN with layers ``rbms_[0] .. rbms_[L-1]`` is the directed generative model
p(v, h1, ..., h_{L-1}) = p(v | h1) ... p(h_{L-2} | h_{L-1}) p_top(h_{L-1}),
where p(h_{k-1} | h_k) = sigmoid(b_k + W_k^T h_k) uses the visible biases of
the k-th RBM and p_top is the marginal of the top RBM over its visible layer
(MATH.md, "Deep belief network"). Layer ``k`` of the stack is written as
``(W, b, c)``: weights of shape (n_hidden, n_visible), visible and hidden
biases, as in :class:`skebm.BernoulliRBM`.
"""

import copy
import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import delayed
from scipy.special import logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    _fit_context,
    clone,
)
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    EXACT_MAX_UNITS,
    LEARNING_RATE,
    BoltzmannBase,
    SafeFitMixin,
    atomic_fit,
    check_sample_args,
    check_unit_interval,
    validate_unit_interval_X,
)
from ._dbm import DBM
from ._gaussian import (
    _LOG_2PI,
    GaussianBernoulliRBM,
    GaussianRBMChain,
    gaussian_free_energy,
    gaussian_hidden_activation,
    gaussian_visible_mean,
    sample_gaussian_visible,
)
from ._gibbs import (
    hidden_activation,
    log_sigmoid,
    mean_hiddens,
    mean_visibles,
    sample_bernoulli_,
    sigmoid_,
    softplus_,
)
from ._partition import binary_states, enum_chunk_sizes, free_energy
from ._rbm import BernoulliRBM, RBMChain
from ._sampling import run_chains, run_parallel, seed_sequence
from ._threads import blas_threads_for

__all__ = [
    "DBN",
    "DBNChain",
    "DBNClassifier",
    "dbn_log_marginal_exact",
    "dbn_lower_bound",
    "down_pass",
    "up_pass",
]

# Elements of the largest temporary array the bound builds at once (rows x
# samples x units): 2**22 float64 is 32 MB.
_CHUNK_ELEMENTS = 2**22

# The BernoulliRBM training settings a DBN takes once for all layers or per layer.
RBM_SETTINGS = (
    "learning_rate",
    "batch_size",
    "n_iter",
    "method",
    "n_gibbs_steps",
    "n_chains",
    "momentum",
    "weight_decay",
    "learning_rate_schedule",
    "visible_bias_init",
)

_RBM_SETTING_CONSTRAINTS = {
    name: [*BernoulliRBM._parameter_constraints[name], "array-like"]
    for name in RBM_SETTINGS
}


# ---------------------------------------------------------------- pure maths
def _first_activation(X, W, c, var):
    """c + W x (Bernoulli visibles, ``var`` None) or c + W (x / s) (Gaussian)."""
    if var is None:
        return hidden_activation(X, W, c)
    return gaussian_hidden_activation(X, W, c, (1.0 / var).astype(W.dtype))


def up_pass(X, layers, *, var=None):
    """Deterministic up-pass: p(h_k = 1 | h_{k-1}) layer after layer.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    layers : list of (W, b, c)
    var : ndarray of shape (n_features,) or None, default=None
        Variances of Gaussian visible units (a Gaussian-Bernoulli first
        layer: p(h_1 = 1 | x) = sigmoid(c + W (x / var))); None for
        Bernoulli visibles.

    Returns
    -------
    probabilities : list of ndarray, one (n_samples, n_hidden_k) per layer.
    """
    out = []
    h = X
    for k, (W, _, c) in enumerate(layers):
        if k == 0 and var is not None:
            h = sigmoid_(_first_activation(h, W, c, var))
        else:
            h = mean_hiddens(h, W, c)
        out.append(h)
    return out


def down_pass(h, layers, rng, *, probabilities=False, var=None):
    """One top-down pass h_k -> h_{k-1} -> ... -> v through ``layers``.

    ``layers`` are the directed layers, bottom first; ``h`` is a state of
    the top one's hidden units. Each intermediate layer is sampled from
    p(h_{k-1} | h_k) = sigmoid(b_k + W_k^T h_k); the visible layer is sampled
    too, or returned as probabilities when ``probabilities`` is True. With
    ``var`` (Gaussian visible units) the visible layer is drawn from
    N(b_1 + W_1^T h_1, diag(var)), and ``probabilities`` returns its mean.

    Returns
    -------
    v : ndarray of shape (n_samples, n_features) in the dtype of the weights.
    """
    last = len(layers) - 1
    for k, (W, b, _) in enumerate(reversed(layers)):
        if k == last and var is not None:
            if probabilities:
                return gaussian_visible_mean(h, W, b)
            return sample_gaussian_visible(h, W, b, np.sqrt(var).astype(W.dtype), rng)
        p = mean_visibles(h, W, b)
        if probabilities and k == last:
            return p
        h = sample_bernoulli_(p, p, rng)
    return h


def _log_p_visible_given_hidden(V, A):
    """log p(v | h) = sum_i v_i a_i - softplus(a_i) for activations A = b + W^T h.

    ``V`` (m, D) and ``A`` (m, D) or broadcastable; values of ``V`` in [0, 1]
    are treated as probabilities (a cross-entropy), as the RBM does.
    """
    return (V * A).sum(axis=-1) - softplus_(A.copy()).sum(axis=-1)


def _bernoulli_entropy(x):
    """Entropy of Bernoulli(sigmoid(x)), summed over the last axis.

    H = -q log q - (1 - q) log(1 - q) = softplus(x) - q x with q = sigmoid(x).
    """
    q = np.exp(log_sigmoid(x))
    return (softplus_(x.copy()) - q * x).sum(axis=-1)


def _log_p_given_states(X, states, W, b, var=None):
    """log p(x | h) for every row x of X and every row h of ``states``.

    Bernoulli visibles (``var`` None), or Gaussian ones:
    log N(x; b + W^T h, diag(var)) = -(|x|^2 - 2 x.m + |m|^2) / 2 (per-unit
    variance-weighted) - sum log sqrt(2 pi var).
    """
    A = states @ W + b  # (2**H, D)
    if var is None:
        return X @ A.T - softplus_(A.copy()).sum(axis=1)  # (n, 2**H)
    inv_var = 1.0 / var
    x2 = (X * X) @ (0.5 * inv_var)  # (n,)
    m2 = (A * A) @ (0.5 * inv_var)  # (2**H,)
    const = 0.5 * float(np.sum(np.log(var)) + X.shape[1] * _LOG_2PI)
    return (X * inv_var) @ A.T - x2[:, None] - m2 - const


def _first_free_energy(X, layer, var):
    """Free energy of a one-layer model: Bernoulli or Gaussian visibles."""
    if var is None:
        return free_energy(X, *layer)
    return gaussian_free_energy(X, *layer, var)


# The upper recursion of a deep DBN (layers above the first) is refused beyond
# about this many multiply-adds (~ a minute here).
_EXACT_MAX_UPPER_OPS = 2**36


def _upper_ops(layers):
    """Multiply-adds of the recursion over the hidden layers above the first."""
    sizes = [W.shape[0] for W, _, _ in layers]
    ops, states = 0, 1
    for below, above in zip(sizes[:-2], sizes[1:-1], strict=False):
        # every state of ``below`` is summed against every state of ``above``,
        # and each extra level is recomputed for every chunk of the one below
        states *= 2**below
        ops += states * 2**above * below
    return ops


def _log_marginal_state_chunk(X, layers, var, s0, s1, rows):
    """log sum_{h1 in [s0, s1)} p(x | h1) exp(upper(h1)) for each row of X.

    The per-state terms are built once and the rows are taken ``rows`` at a
    time, so the temporaries are about (s1 - s0) x (D + H) + rows x (s1 - s0).
    """
    W, b, _ = layers[0]
    states = binary_states(s0, s1, W.shape[0], np.float64)
    upper = _exact_log_marginal(states, layers[1:], None, None)
    A = states @ W
    A += b  # (S, D)
    if var is None:
        upper -= softplus_(A.copy()).sum(axis=1)
        scale = None
    else:
        scale = 1.0 / var
        upper -= (A * A) @ (0.5 * scale)
        const = 0.5 * float(np.sum(np.log(var)) + A.shape[1] * _LOG_2PI)
    At = np.ascontiguousarray(A.T)
    del A, states
    n = X.shape[0]
    out = np.empty(n)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        Xc = _dense_rows(X, r0, r1, np.float64)
        if scale is not None:
            row_const = (Xc * Xc) @ (0.5 * scale) + const
            Xc = Xc * scale
        G = Xc @ At
        G += upper
        out[r0:r1] = logsumexp(G, axis=1)
        if scale is not None:
            out[r0:r1] -= row_const
    return out


def _exact_log_marginal(X, layers, var, n_jobs):
    """-F(x) of the DBN ``layers`` for each row of X, memory-bounded (float64).

    Sums out h1 a chunk of states at a time (sizes from the budget of
    :func:`skebm._partition.enum_chunk_sizes`), combining the chunks by a
    running log-sum-exp in a fixed order; the layers above enter through
    the same function applied to the states of h1.
    """
    n, D = X.shape
    if len(layers) == 1:
        rows, _ = enum_chunk_sizes(
            n,
            1,
            row_bytes=8 * (2 * D + 2 * layers[0][0].shape[0]),
            state_bytes=0,
            pair_bytes=0,
        )
        return _map_rows(_first_log_marginal, X, rows, (layers[0], var), n_jobs)
    H, H2 = layers[0][0].shape[0], layers[1][0].shape[0]
    total = 2**H
    # per state: its bits (int64 + float64), A, its softplus copy and A.T,
    # the activation of the layer above; per row: the dense row (twice when
    # Gaussian); per (row, state): G and logsumexp's two temporaries
    rows, size = enum_chunk_sizes(
        n,
        total,
        row_bytes=8 * (2 * D + 2),
        state_bytes=8 * (2 * H + 3 * D + 2 * H2 + 4),
        pair_bytes=8 * 3,
    )
    s_bounds = [(s, min(total, s + size)) for s in range(0, total, size)]
    r_bounds = [(0, n)]
    if len(s_bounds) == 1:
        r_bounds = [(r, min(n, r + rows)) for r in range(0, n, rows)]
    tasks = [(r, s) for s in s_bounds for r in r_bounds]
    if len(tasks) == 1:
        parts = [_log_marginal_state_chunk(X, layers, var, 0, total, rows)]
    else:
        parts = run_parallel(
            (
                delayed(_log_marginal_state_chunk)(
                    X[r0:r1] if len(r_bounds) > 1 else X, layers, var, s0, s1, rows
                )
                for (r0, r1), (s0, s1) in tasks
            ),
            n_jobs=n_jobs,
            what="exact enumeration",
            return_as="generator",
        )
    out = np.full(n, -np.inf)
    for ((r0, r1), _), part in zip(tasks, parts, strict=True):
        np.logaddexp(out[r0:r1], part, out=out[r0:r1])
    return out


def dbn_log_marginal_exact(X, layers, *, var=None, n_jobs=None):
    """Exact unnormalised log-probability -F(x) of a DBN by enumeration.

    log p(x) = -F(x) - log Z_top, where
    -F(x) = log sum_{h1..h_{L-1}} p(x | h1) ... p(h_{L-2} | h_{L-1})
    exp(-F_top(h_{L-1})) is computed by summing out one layer at a time
    (cost ~ n 2**H1 D + 2**H1 2**H2 H1 + ...). The states are enumerated a
    chunk at a time, so memory stays within ``skebm._partition.ENUM_BUDGET_BYTES``
    (per worker) whatever the layer sizes; time grows as 2**H1.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    layers : list of (W, b, c)
    var : ndarray of shape (n_features,) or None, default=None
        Variances of Gaussian visible units (a Gaussian-Bernoulli first
        layer); None for Bernoulli visibles.
    n_jobs : int, default=None
        Joblib workers over chunks of states (or of rows); the result does
        not depend on it.

    Returns
    -------
    log_p_star : ndarray of shape (n_samples,), float64.
    """
    too_big = [W.shape[0] for W, _, _ in layers[:-1] if W.shape[0] > EXACT_MAX_UNITS]
    if too_big:
        raise ValueError(
            "The exact DBN free energy enumerates every hidden layer below the "
            f"top; it is feasible up to {EXACT_MAX_UNITS} units per layer, got "
            f"layers of {too_big} units. Use score_samples (a lower bound) instead."
        )
    ops = _upper_ops(layers)
    if ops > _EXACT_MAX_UPPER_OPS:
        sizes = [W.shape[0] for W, _, _ in layers[:-1]]
        raise ValueError(
            "The exact DBN free energy sums every state of each hidden layer "
            f"below the top (sizes {sizes}) against the layer above it: about "
            f"{ops:.1e} multiply-adds before the first row, more than the "
            f"{_EXACT_MAX_UPPER_OPS:.1e} allowed. Use score_samples (the "
            "variational lower bound) instead, with log Z of the top RBM from "
            "log_partition (exact or AIS)."
        )
    layers = [tuple(np.asarray(a, dtype=np.float64) for a in layer) for layer in layers]
    var = None if var is None else np.asarray(var, dtype=np.float64)
    return _exact_log_marginal(X, layers, var, n_jobs)


def _first_log_marginal(X, layer, var):
    return -_first_free_energy(X, layer, var)


def _map_rows(fn, X, rows, args, n_jobs):
    """``fn(dense rows, *args)`` over chunks of ``rows`` rows, concatenated."""
    n = X.shape[0]
    bounds = [(s, min(n, s + rows)) for s in range(0, n, rows)]
    if len(bounds) <= 1:
        return fn(_dense_rows(X, 0, n, np.float64), *args)
    parts = run_parallel(
        (delayed(fn)(_dense_rows(X, s, e, np.float64), *args) for s, e in bounds),
        n_jobs=n_jobs,
        what="a row-parallel evaluation",
    )
    return np.concatenate(parts)


def _dense_rows(X, start, stop, dtype):
    Xc = X[start:stop]
    Xc = Xc.toarray() if sp.issparse(Xc) else Xc
    return np.asarray(Xc, dtype=dtype)


def _map_row_chunks(fn, X, width, dtype, args, n_jobs):
    """``fn(rows, *args)`` over dense chunks of rows of ``X``, concatenated.

    Chunks hold about ``_CHUNK_ELEMENTS / width`` rows (so temporaries of
    ``width`` elements per row stay bounded) and depend on the shape only, so
    the result does not depend on ``n_jobs``.
    """
    n = X.shape[0]
    rows = max(1, _CHUNK_ELEMENTS // max(1, width))
    bounds = [(s, min(n, s + rows)) for s in range(0, n, rows)]
    if len(bounds) <= 1:
        return fn(_dense_rows(X, 0, n, dtype), *args)
    parts = run_parallel(
        (delayed(fn)(_dense_rows(X, s, e, dtype), *args) for s, e in bounds),
        n_jobs=n_jobs,
        what="a row-parallel evaluation",
    )
    return np.concatenate(parts)


def _bound_exact_upper(layers):
    """The exact bound on log p*(h1) of the DBN above layer 1, every state h1."""
    H = layers[0][0].shape[0]
    states = binary_states(0, 2**H, H, np.float64)
    if len(layers) == 2:
        return states, -free_energy(states, *layers[1])
    return states, _bound_exact_chunk(
        states, layers[1:], *_bound_exact_upper(layers[1:])
    )


def _bound_exact_chunk(X, layers, states, upper, var=None):
    """Exact E_Q[log p*(X, h) - log Q(h | X)] by enumerating h1 (float64).

    ``upper`` is the exact bound on log p*(h1) of the layers above for every
    state h1 in ``states`` (the recursion of the bound); ``var`` the
    variances of Gaussian visibles of the first layer, or None.
    """
    if len(layers) == 1:
        return -_first_free_energy(X, layers[0], var)
    W, b, c = layers[0]
    x = _first_activation(X, W, c, var)  # (n, H)
    log_q = log_sigmoid(x) @ states.T + log_sigmoid(-x) @ (1.0 - states).T
    log_cond = _log_p_given_states(X, states, W, b, var)  # (n, 2**H)
    return np.sum(np.exp(log_q) * (log_cond + upper), axis=1) + _bernoulli_entropy(x)


def _log_p_gaussian_given_mean(V, M, var):
    """log N(v; m, diag(var)) for V (m, 1, D) and means M (m, S, D)."""
    d = V - M
    d *= d
    const = 0.5 * float(np.sum(np.log(var)) + V.shape[-1] * _LOG_2PI)
    return -(d @ (0.5 / var).astype(d.dtype)) - const


def _bound_sampled(X, layers, uniforms, var=None):
    """Monte Carlo E_Q[...] with the common random numbers ``uniforms``.

    ``uniforms[k]`` (S, H_{k+1}) drives the draw of hidden layer k+1 in every
    row alike, so a row's estimate does not depend on the other rows.
    Entropies are conditioned on the sampled parent (Rao-Blackwellised).
    ``var``: variances of Gaussian visibles of the first layer, or None.
    """
    m = X.shape[0]
    S = uniforms[0].shape[0]
    total = np.zeros((m, S))
    parent = X[:, None, :]  # (m, 1 or S, n_units)
    for k, ((W, b, c), U) in enumerate(zip(layers[:-1], uniforms, strict=True)):
        gaussian = k == 0 and var is not None
        x = _first_activation(
            parent.reshape(-1, W.shape[1]), W, c, var if gaussian else None
        )
        x = x.reshape(m, -1, W.shape[0])
        total += _bernoulli_entropy(x).astype(np.float64)  # (m, 1 or S)
        q = np.exp(log_sigmoid(x))
        h = (U < q).astype(W.dtype)  # (m, S, H)
        A = h @ W + b  # (m, S, D)
        if gaussian:
            total += _log_p_gaussian_given_mean(parent, A, var).astype(np.float64)
        else:
            total += _log_p_visible_given_hidden(parent, A).astype(np.float64)
        parent = h
    top = layers[-1]
    total -= free_energy(parent.reshape(m * S, -1), *top).reshape(m, S)
    return total.mean(axis=1)


def dbn_lower_bound(X, layers, log_z, *, uniforms=None, var=None, n_jobs=None):
    """Variational lower bound on log p(x) of a DBN (MATH.md), per row.

    log p(x) >= E_Q[log p(x | h1) + ... + log p(h_{L-2} | h_{L-1})
    - F_top(h_{L-1})] + E_Q[H(Q(h_k | h_{k-1}))] - log Z_top, with the
    recognition model Q(h1..h_{L-1} | x) = prod_k Q(h_k | h_{k-1}),
    Q(h_k = 1 | h_{k-1}) = sigmoid(c_k + W_k h_{k-1}): the standard recursive
    bound of Hinton, Osindero & Teh (2006), which for two layers is the
    formula of MATH.md and for one layer is exactly -F(x) - log Z. The gap is
    KL(Q || p(h | x)).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Values in [0, 1]; fractional visibles enter log p(x | h1) as
        probabilities (a cross-entropy).
    layers : list of (W, b, c)
    log_z : float
        log Z of the top RBM.
    uniforms : list of ndarray or None, default=None
        None computes the expectation exactly by enumerating each hidden
        layer below the top (2**H_k states). Otherwise ``uniforms[k]`` is an
        (S, H_{k+1}) array of uniforms on [0, 1) for each hidden layer below
        the top: the same S Monte Carlo draws from Q are used for every row
        (common random numbers), so the result of a row does not depend on the
        other rows.
    var : ndarray of shape (n_features,) or None, default=None
        Variances of Gaussian visible units (a Gaussian-Bernoulli first
        layer, whose log p(x | h1) is then a Gaussian log-density); None for
        Bernoulli visibles.
    n_jobs : int, default=None
        Joblib workers over chunks of rows; the result does not depend on it.

    Returns
    -------
    bound : ndarray of shape (n_samples,), float64.
    """
    if uniforms is None:
        layers = [tuple(np.asarray(a, np.float64) for a in layer) for layer in layers]
        var = None if var is None else np.asarray(var, dtype=np.float64)
        states = upper = None
        if len(layers) > 1:
            states, upper = _bound_exact_upper(layers)
        width = 1 if states is None else len(states)
        fn, args, dtype = _bound_exact_chunk, (layers, states, upper, var), np.float64
    else:
        width = uniforms[0].shape[0] * max(
            W.shape[0] + W.shape[1] for W, _, _ in layers
        )
        fn, args, dtype = _bound_sampled, (layers, uniforms, var), layers[0][0].dtype
    return _map_row_chunks(fn, X, width, dtype, args, n_jobs) - log_z


# ------------------------------------------------------------------- chains
class DBNChain:
    """Top-RBM Gibbs chain plus a top-down pass (chain-model protocol).

    The state is that of the top RBM's chain, whose visible units are the
    hidden layer L-1 of the DBN; ``visible`` maps it to the data space by one
    top-down pass through the lower (directed) layers. The pass draws from the
    generator of the last Gibbs step, which ``step_`` keeps in the state, so
    the samples depend on the seed and the number of chains only. With
    ``gibbs=False`` the steps only record the generator (used for
    ``n_steps=0``). With one layer this is exactly :class:`RBMChain`, or
    :class:`GaussianRBMChain` when ``var`` (the variances of Gaussian
    visible units) is given.
    """

    def __init__(self, top, lower, *, gibbs=True, var=None):
        if var is not None and not lower:
            self.top = GaussianRBMChain(*top, np.asarray(var, dtype=top[0].dtype))
        else:
            self.top = RBMChain(*top)
        self.lower = lower
        self.var = var
        self.gibbs = gibbs
        self.dtype = self.top.dtype

    def random_visible(self, n, rng):
        return self.top.random_visible(n, rng)

    def init_state(self, v0):
        return self.top.init_state(v0)

    def step_(self, state, rng):
        state["rng"] = rng
        if self.gibbs:
            self.top.step_(state, rng)

    def visible(self, state, probabilities):
        if not self.lower:
            return self.top.visible(state, probabilities)
        return down_pass(
            state["v"],
            self.lower,
            state["rng"],
            probabilities=probabilities,
            var=self.var,
        )


# --------------------------------------------------------------- estimators
def _layer_up(data, rbm):
    """p(h = 1 | data) of a fitted layer: the next layer's training data."""
    if isinstance(rbm, GaussianBernoulliRBM):
        W, _, c, var = rbm._params()
        return sigmoid_(_first_activation(data, W, c, var))
    return mean_hiddens(data, rbm.components_, rbm.intercept_hidden_)


def _same_value(a, b):
    """Whether two parameter values are equal (sequences by their items)."""
    if isinstance(a, (list, tuple, np.ndarray)) or isinstance(
        b, (list, tuple, np.ndarray)
    ):
        a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        return a.shape == b.shape and bool(np.all(a == b))
    return a == b if a is not None and b is not None else a is b


def _check_hidden_layer_sizes(sizes):
    if isinstance(sizes, Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    sizes = list(sizes)
    if not sizes:
        raise ValueError("hidden_layer_sizes must contain at least one layer, got ().")
    for s in sizes:
        if not isinstance(s, Integral) or isinstance(s, bool) or s < 1:
            raise ValueError(
                "hidden_layer_sizes must be integers >= 1 (units per hidden "
                f"layer), got {tuple(sizes)!r}."
            )
    return [int(s) for s in sizes]


def _layer_class(estimator, k):
    """The RBM class of layer ``k``: Gaussian-Bernoulli for a first layer on
    real-valued data (``visible_units="gaussian"``), else Bernoulli."""
    gaussian = k == 0 and getattr(estimator, "visible_units", "bernoulli") == "gaussian"
    return GaussianBernoulliRBM if gaussian else BernoulliRBM


def _layer_settings(estimator, n_layers):
    """The RBM settings of each layer, validated, as a list of dicts.

    A Gaussian first layer takes the settings it has (it has no
    ``visible_bias_init``: its visible means always start at the data mean).
    """
    name = type(estimator).__name__
    out = [{} for _ in range(n_layers)]
    for key in RBM_SETTINGS:
        value = getattr(estimator, key)
        if isinstance(value, str) or not hasattr(value, "__len__"):
            values = [value] * n_layers
        else:
            values = list(value)
            if len(values) != n_layers:
                raise ValueError(
                    f"{key} must be a single value or have one value per layer "
                    f"({n_layers}), got {len(values)} values: {value!r}."
                )
        for k, v in enumerate(values):
            constraints = _layer_class(estimator, k)._parameter_constraints
            if key not in constraints:
                continue
            validate_parameter_constraints(
                {key: constraints[key]},
                {key: v},
                caller_name=f"{name} (layer {k})",
            )
            out[k][key] = v
    extra = estimator.rbm_params
    if extra is None:
        extra = [{}] * n_layers
    elif isinstance(extra, dict):
        extra = [extra] * n_layers
    elif len(extra) != n_layers or not all(isinstance(d, dict) for d in extra):
        raise ValueError(
            "rbm_params must be a dict, or a list of one dict per layer "
            f"({n_layers}), got {extra!r}."
        )
    own = set(RBM_SETTINGS) | {"n_components", "verbose", "random_state"}
    for k, kw in enumerate(extra):
        cls = _layer_class(estimator, k)
        allowed = set(cls._parameter_constraints) - own
        bad = sorted(set(kw) - allowed)
        if bad:
            raise ValueError(
                f"rbm_params (layer {k}) has keys {bad} that are not "
                f"{cls.__name__} parameters or are set by {name}'s own "
                f"parameters; allowed: {sorted(allowed)}."
            )
        validate_parameter_constraints(
            {key: cls._parameter_constraints[key] for key in kw},
            kw,
            caller_name=f"{name} (layer {k}, rbm_params)",
        )
        out[k].update(kw)
    return out


def _layer_seeds(random_state, n_layers):
    """random_state of each layer's RBM, and a seed for the bound's draws.

    An int gives layer 0 that int (so a one-layer DBN fits exactly the RBM of
    that seed) and the other layers ints from children of its SeedSequence;
    None gives fresh entropy everywhere; a Generator or RandomState is shared
    by the layers, which draw from it in turn.
    """
    if random_state is None or isinstance(random_state, Integral):
        seq = seed_sequence(random_state)
        kids = seq.spawn(n_layers)
        ints = [int(k.generate_state(1)[0]) for k in kids]
        layer_states = [random_state if random_state is None else int(random_state)]
        layer_states += [None if random_state is None else s for s in ints[1:]]
        return layer_states, ints[0]
    seq = seed_sequence(random_state)
    return [random_state] * n_layers, int(seq.generate_state(1)[0])


class DBN(ClassNamePrefixFeaturesOutMixin, BoltzmannBase):
    """Deep belief network: a stack of Bernoulli RBMs trained greedily.

    Layer ``k`` is a :class:`skebm.BernoulliRBM` trained on the hidden
    probabilities of layer ``k - 1`` (Hinton, Osindero & Teh 2006); with
    ``visible_units="gaussian"`` the first layer is a
    :class:`skebm.GaussianBernoulliRBM`, for real-valued (standardized) data.
    The fitted layers are public in ``rbms_``, so everything an RBM offers
    works on a layer. As a transformer the DBN maps data to the
    probabilities of its top hidden layer; as a generative model it samples
    by a Gibbs chain in the top RBM followed by one top-down pass, and
    scores data by a variational lower bound on log p(x).

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, or int, default=(256, 256)
        Units in each hidden layer, bottom first (an int is one layer).
    visible_units : {"bernoulli", "gaussian"}, default="bernoulli"
        "bernoulli": data in [0, 1] (probabilities of binary units);
        "gaussian": any real data, modelled by a Gaussian-Bernoulli first
        layer with learned (or fixed, via ``rbm_params``) variances. Then
        ``score_samples``, ``free_energy`` and ``log_likelihood`` are
        log-densities in nats and ``sample`` draws real vectors (with
        ``probabilities=True``, the means of p(x | h1)). Standardize the
        data first, and give the first layer a smaller step, e.g.
        ``learning_rate=[0.01, 0.1]``: gradients of real-valued units scale
        with 1 / variance.
    learning_rate, batch_size, n_iter, method, n_gibbs_steps, n_chains, \
momentum, weight_decay, learning_rate_schedule, visible_bias_init : \
scalar or sequence of length n_layers
        The :class:`skebm.BernoulliRBM` training settings (same meaning and
        defaults: 0.1, 10, 10, "pcd", 1, None, 0.0, 0.0, "constant",
        "zeros"). A single value applies to every layer; a list or tuple
        gives one value per layer, bottom first, e.g. ``n_iter=[20, 10]``.
        A Gaussian first layer ignores ``visible_bias_init`` (its visible
        means start at the data mean).
    rbm_params : dict or list of dict, default=None
        Any other :class:`skebm.BernoulliRBM` parameter (e.g. ``centering``,
        ``sparsity_target``, ``sparsity_cost``, ``early_stopping``,
        ``n_temperatures``): one dict for every layer, or a list of one dict
        per layer (a Gaussian first layer takes
        :class:`skebm.GaussianBernoulliRBM` parameters, e.g. ``variance``).
    verbose : int, default=0
        If > 0, one line per fitted layer, and the layers' own per-epoch
        lines.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the layers and the Monte Carlo draws of :meth:`score_samples`.
        An int seeds layer 0 exactly as ``BernoulliRBM(random_state=int)``
        and the upper layers from independent children of its
        ``SeedSequence``; a Generator or RandomState is shared by the layers.
    n_jobs : int, default=None
        Default joblib workers for :meth:`sample`, :meth:`log_partition` and
        :meth:`score_samples`. Results never depend on it.
    n_bound_samples : int, default=100
        Monte Carlo samples S from the recognition model Q per row in
        :meth:`score_samples`. When every hidden layer below the top has at
        most log2(S) units, the expectation is computed exactly by enumeration
        instead (no more costly than sampling).
    log_partition_params : dict, default=None
        Keyword arguments of the top RBM's
        :meth:`~skebm.BernoulliRBM.log_partition` used by
        :meth:`score_samples` (e.g. ``{"method": "ais", "n_betas": 2000}``).
        By default: method "auto" (exact when the smaller layer of the top RBM
        has at most 24 units, else AIS with 14 500 temperatures and 100 runs),
        ``n_jobs`` above, and a ``random_state`` fixed at fit.
    warm_start : bool, default=False
        When True and the DBN is fitted, ``fit`` continues it instead of
        starting over: every fitted layer continues its own training
        (``BernoulliRBM(warm_start=True)``: parameters, chains, momentum,
        schedule position and random stream) for its ``n_iter`` more epochs,
        on the features of the layer below as it is now, and layers added
        on top of the fitted ones (a longer ``hidden_layer_sizes``) are
        trained from scratch on the top features. So a network grows a
        layer at a time, e.g. ``hidden_layer_sizes=(500, 500),
        n_iter=[0, 10]`` after fitting ``(500,)`` trains only the new layer
        (``n_iter=0`` leaves a layer as it is). The bottom layer continues
        bit-exactly (a warm fit of ``b`` epochs after one of ``a`` equals a
        fit of ``a + b``); a layer above also sees its input change between
        the two fits, unlike in one greedy fit of ``a + b`` epochs.

    Attributes
    ----------
    rbms_ : list of BernoulliRBM
        The fitted layers, bottom first (the first a GaussianBernoulliRBM
        with ``visible_units="gaussian"``).
    n_layers_ : int
        Number of hidden layers.
    n_iter_, t_, history_
        Progress of the layers' RBMs: the epochs of each layer's fit, the
        updates of all layers, and their per-epoch histories (entries with
        ``layer``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    skebm.BernoulliRBM : One layer.
    skebm.DBNClassifier : A DBN fine-tuned for classification.

    Notes
    -----
    Costs. ``fit`` is the sum of the layers' fits. :meth:`score_samples` costs
    one log Z of the top RBM, computed once and cached on ``rbms_[-1]``
    (exact: 2**min(H, D) states; AIS: about 4 n_betas n_runs H D flops, e.g.
    6e12 for a 500 x 2000 top RBM with the default 14 500 betas and 100
    runs, so pass e.g. ``log_partition_params={"n_betas": 2000}`` for a
    quicker, rougher value), plus per row about 2 ``n_bound_samples``
    sum_k H_k H_{k-1} flops for the passes through the lower layers and the
    top free energy.

    References
    ----------
    Hinton, G. E., Osindero, S. and Teh, Y.-W. (2006). A fast learning
    algorithm for deep belief nets. Neural Computation 18, 1527-1554.

    Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import DBN
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> dbn = DBN(hidden_layer_sizes=(4, 2), random_state=0).fit(X)
    >>> dbn.transform(X).shape
    (4, 2)
    >>> dbn.sample(5, n_steps=10, random_state=0).shape
    (5, 3)
    """

    _fitted_attributes = ("rbms_",)

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "visible_units": [StrOptions({"bernoulli", "gaussian"})],
        **_RBM_SETTING_CONSTRAINTS,
        "rbm_params": [dict, list, None],
        "verbose": ["verbose"],
        "random_state": ["random_state", np.random.Generator],
        "n_jobs": [Integral, None],
        "n_bound_samples": [Interval(Integral, 1, None, closed="left")],
        "log_partition_params": [dict, None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        visible_units="bernoulli",
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        method="pcd",
        n_gibbs_steps=1,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        learning_rate_schedule="constant",
        visible_bias_init="zeros",
        rbm_params=None,
        verbose=0,
        random_state=None,
        n_jobs=None,
        n_bound_samples=100,
        log_partition_params=None,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible_units = visible_units
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.visible_bias_init = visible_bias_init
        self.rbm_params = rbm_params
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.n_bound_samples = n_bound_samples
        self.log_partition_params = log_partition_params
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fit
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the layers one after the other (greedy layer-wise training).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1] (treated as probabilities), or
            any real values with ``visible_units="gaussian"``. Sparse data is
            used as sparse by the first layer.
        y : Ignored

        Returns
        -------
        self : DBN
            The fitted model.
        """
        sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        settings = _layer_settings(self, len(sizes))
        warm = bool(self.warm_start) and hasattr(self, "rbms_")
        fitted = self._warm_layers(sizes) if warm else []
        X = self._validate_train_X(X, reset=not warm)
        seeds, bound_seed = _layer_seeds(self.random_state, len(sizes))
        if not warm:
            self._bound_seed = bound_seed
        self.rbms_ = []
        data = X
        for k, (size, kw, seed) in enumerate(zip(sizes, settings, seeds, strict=True)):
            t0 = time.time()
            if k < len(fitted):
                # continue the layer, then give it back its own setting
                rbm = fitted[k].set_params(
                    **{**kw, "warm_start": True}, verbose=self.verbose
                )
                rbm.fit(data).set_params(warm_start=kw.get("warm_start", False))
            else:
                cls = _layer_class(self, k)
                rbm = cls(size, verbose=self.verbose, random_state=seed, **kw)
                rbm.fit(data)
            self.rbms_.append(rbm)
            if k < len(sizes) - 1:
                data = _layer_up(data, rbm)
            if self.verbose:
                print(
                    f"[{type(self).__name__}] Layer {k + 1}/{len(sizes)} "
                    f"({rbm.n_features_in_} -> {size}) fitted, "
                    f"time = {time.time() - t0:.2f}s",
                    flush=True,
                )
        self.n_layers_ = len(sizes)
        self._n_features_out = sizes[-1]
        return self

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One online step of every layer on the minibatch ``X``.

        Layer 0 takes one gradient step (``BernoulliRBM.partial_fit``) on ``X``;
        layer l on the hidden probabilities of ``X`` under layer l - 1 after
        that layer's step. Unlike ``fit``, the layers learn together rather
        than one after the other (greedy training needs the whole data set);
        each layer uses its constant learning rate.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1].
        y : Ignored

        Returns
        -------
        self : DBN
            The fitted model.
        """
        first = not hasattr(self, "rbms_")
        X = self._validate_train_X(X, reset=first, min_samples=1)
        if first:
            sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
            settings = _layer_settings(self, len(sizes))
            seeds, self._bound_seed = _layer_seeds(self.random_state, len(sizes))
            self.rbms_ = [
                _layer_class(self, k)(size, verbose=0, random_state=seed, **kw)
                for k, (size, kw, seed) in enumerate(
                    zip(sizes, settings, seeds, strict=True)
                )
            ]
            self.n_layers_ = len(sizes)
            self._n_features_out = sizes[-1]
        else:
            # settings changed since (set_params) apply to the next step
            for rbm, kw in zip(
                self.rbms_, _layer_settings(self, len(self.rbms_)), strict=True
            ):
                rbm.set_params(**kw)
        data = X
        for k, rbm in enumerate(self.rbms_):
            rbm.partial_fit(data)
            if k < len(self.rbms_) - 1:
                data = _layer_up(data, rbm)
        return self

    def _warm_layers(self, sizes):
        """The fitted layers a warm start continues (checked against
        ``sizes``: they must be its bottom layers)."""
        have = [r.n_components for r in self.rbms_]
        if list(sizes[: len(have)]) != have:
            raise ValueError(
                f"warm_start continues the fitted layers {have}: "
                f"hidden_layer_sizes must start with them (got {list(sizes)}); "
                "set warm_start=False to fit a new network."
            )
        if (self.visible_units == "gaussian") != self._gaussian():
            raise ValueError(
                "warm_start cannot change visible_units of a fitted DBN; set "
                "warm_start=False to fit a new network."
            )
        return list(self.rbms_)

    def _gaussian(self):
        # a fitted model keeps the unit type it was fitted with
        rbms = getattr(self, "rbms_", None)
        if rbms:
            return isinstance(rbms[0], GaussianBernoulliRBM)
        return self.visible_units == "gaussian"

    def _validate_train_X(self, X, reset, min_samples=None):
        # a new fit follows the parameter, a continued one the fitted layers
        gaussian = self.visible_units == "gaussian" if reset else self._gaussian()
        if not gaussian:
            return validate_unit_interval_X(
                self, X, reset=reset, min_samples=min_samples
            )
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc", "coo", "lil", "bsr", "dia"),
            dtype=(np.float64, np.float32),
            reset=reset,
            # a Gaussian layer starts from the data's means and variances
            ensure_min_samples=2 if reset else 1,
        )
        return X.tocsr() if sp.issparse(X) else X

    def _check_visible_values(self, X, name):
        # Gaussian visibles take any finite value (validate_data refused
        # NaN and inf); Bernoulli ones probabilities.
        if not self._gaussian():
            check_unit_interval(X, name, self)

    def _visible_var(self):
        """Variances of the Gaussian visible units (None for Bernoulli)."""
        first = self.rbms_[0]
        if not isinstance(first, GaussianBernoulliRBM):
            return None
        return first.variances_.astype(first.components_.dtype)

    # progress, summed over the layers' RBMs (each has its own)
    @property
    def n_iter_(self):
        """Epochs run by the last layer's ``fit`` (every layer runs as many)."""
        check_is_fitted(self, "rbms_")
        return getattr(self.rbms_[-1], "n_iter_", 0)

    @property
    def t_(self):
        """Parameter updates run, all layers together."""
        check_is_fitted(self, "rbms_")
        return sum(getattr(r, "t_", 0) for r in self.rbms_)

    @property
    def history_(self):
        """The layers' per-epoch histories, bottom first, each entry with its
        ``layer`` (1-based)."""
        check_is_fitted(self, "rbms_")
        return [
            {"layer": k, **h}
            for k, r in enumerate(self.rbms_, start=1)
            for h in getattr(r, "history_", [])
        ]

    def _layers(self):
        return [
            (r.components_, r.intercept_visible_, r.intercept_hidden_)
            for r in self.rbms_
        ]

    # ----------------------------------------------------------- transform
    def transform(self, X):
        """Deterministic up-pass: probabilities of the top hidden layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        h : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            p(h_L = 1 | h_{L-1}), each layer fed the probabilities below.
        """
        return self.transform_layers(X)[-1]

    def transform_layers(self, X):
        """Deterministic up-pass keeping every layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        h : list of ndarray, one of shape (n_samples, hidden_layer_sizes[k])
            per hidden layer, bottom first; ``np.hstack(h)`` gives all-layer
            features.
        """
        X = self._validate_eval_X(X)
        return up_pass(X, self._layers(), var=self._visible_var())

    # ----------------------------------------------------------- generation
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
        """Draw visible vectors: Gibbs chains in the top RBM, then a down-pass.

        Each chain runs ``n_steps`` block-Gibbs sweeps of the top RBM (whose
        visible layer is the DBN's hidden layer L-1), then one top-down pass
        samples h_{L-2}, ..., v from p(h_{k-1} | h_k). The chains run through
        the shared runner of :meth:`skebm.BernoulliRBM.sample`: the output
        depends on the seed and ``n_samples`` only, never on ``n_jobs``, and a
        one-layer DBN returns exactly the samples of its RBM.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, one returned vector each.
        n_steps : int, default=1000
            Gibbs sweeps of the top RBM per chain. With 0 the starting states
            are passed down directly.
        init : {array-like, sparse matrix} of shape (n_init, n_features), \
default=None
            Data rows to start from: chain ``i`` starts the top RBM at the
            deterministic up-pass of ``init[i % n_init]`` (the probabilities of
            layer L-1, as :meth:`transform_layers` gives them). By default
            each chain starts from independent fair coin flips of layer L-1.
        thin : int, default=None
            If given, keep every ``thin``-th state of each chain (each one
            passed down).
        probabilities : bool, default=False
            Return p(v = 1 | h1) of the down-pass instead of binary visibles.
        n_jobs : int, default=None
            Joblib workers; None uses the estimator's ``n_jobs``.
        random_state : int, RandomState, Generator or None, default=None
            Seed of the chains (through one ``SeedSequence``).

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features), or
            (n_samples, n_steps // thin, n_features) when ``thin`` is given.
        """
        check_is_fitted(self)
        check_sample_args(n_samples, n_steps, thin, n_jobs)
        layers = self._layers()
        dtype = layers[0][0].dtype
        if init is not None:
            init = self._validate_eval_X(init, name="init")
            if len(layers) > 1:
                init = up_pass(init, layers[:-1], var=self._visible_var())[-1]
            if sp.issparse(init):
                init = init.toarray()
            init = np.asarray(init, dtype=dtype)
        n_jobs = self.n_jobs if n_jobs is None else n_jobs
        if thin is not None and n_steps // thin == 0:
            return np.empty((n_samples, 0, self.n_features_in_), dtype=dtype)
        # n_steps=0: one step that only hands its generator to the down-pass.
        model = DBNChain(
            layers[-1], layers[:-1], gibbs=n_steps > 0, var=self._visible_var()
        )
        return run_chains(
            model,
            int(n_samples),
            max(1, int(n_steps)),
            init=init,
            thin=thin,
            probabilities=probabilities,
            n_jobs=n_jobs,
            random_state=random_state,
        )

    # ----------------------------------------------------------- evaluation
    def log_partition(self, **params):
        """log Z of the DBN, which is log Z of its top RBM.

        The lower layers are directed and normalised, so the DBN's only
        normaliser is the top RBM's; this calls
        ``rbms_[-1].log_partition(**params)`` (see
        :meth:`skebm.BernoulliRBM.log_partition`: exact when the smaller layer
        of the top RBM is small, AIS otherwise; cached there). ``init`` of
        reverse AIS, if given, is a state of the top RBM's visible layer.

        Returns
        -------
        log_z : float, or dict when ``return_details`` is True.
        """
        check_is_fitted(self)
        params.setdefault("n_jobs", self.n_jobs)
        return self.rbms_[-1].log_partition(**params)

    def _bound_log_z(self):
        params = {"n_jobs": self.n_jobs, "random_state": self._bound_seed}
        params.update(self.log_partition_params or {})
        return self.rbms_[-1].log_partition(**params)

    def _bound_is_exact(self):
        return all(2**r.n_components <= self.n_bound_samples for r in self.rbms_[:-1])

    def score_samples(self, X):
        """Variational lower bound on log p(x) of each row, in nats.

        log p(x) >= E_Q[log p(x | h1) + ... - F_top(h_{L-1})] + H(Q) - log Z,
        with the recognition model Q(h_k | h_{k-1}) = sigmoid(c_k + W_k
        h_{k-1}) of the up-pass (see :func:`dbn_lower_bound`; for two layers
        this is the bound of MATH.md, for one layer it equals the RBM's exact
        log-likelihood -F(x) - log Z). The expectation over Q is exact when
        every hidden layer below the top has 2**H <= ``n_bound_samples``
        states, and otherwise is estimated with ``n_bound_samples`` draws from
        Q per row; the draws come from uniforms fixed at fit and shared by all
        rows, so the result is deterministic and a row's value does not depend
        on the other rows. log Z of the top RBM comes from
        :meth:`skebm.BernoulliRBM.log_partition` with ``log_partition_params``
        (exact or AIS, computed once and cached); with AIS the bound inherits
        its error (AIS tends to underestimate log Z, which raises the bound).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values in [0, 1].

        Returns
        -------
        bound : ndarray of shape (n_samples,)
        """
        X = self._validate_eval_X(X)
        self._check_visible_values(X, "X")
        layers = self._layers()
        log_z = self._bound_log_z()
        uniforms = None
        if not self._bound_is_exact():
            rng = np.random.default_rng(self._bound_seed)
            S = self.n_bound_samples
            uniforms = [
                rng.random((S, W.shape[0])).astype(W.dtype) for W, _, _ in layers[:-1]
            ]
        return dbn_lower_bound(
            X,
            layers,
            log_z,
            uniforms=uniforms,
            var=self._visible_var(),
            n_jobs=self.n_jobs,
        )

    def _free_energy_validated(self, X):
        return -dbn_log_marginal_exact(
            X, self._layers(), var=self._visible_var(), n_jobs=self.n_jobs
        )

    def free_energy(self, X):
        """Exact free energy F(x) of the DBN, with p(x) = exp(-F(x)) / Z_top.

        Sums out every hidden layer below the top by enumeration, so it is
        feasible only when those layers are small (at most 24 units each;
        cost ~ n 2**H1); use :meth:`score_samples` otherwise. With one layer
        it is the RBM's free energy. :meth:`log_likelihood` is -F(x) - log Z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples,)
        """
        return super().free_energy(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# --------------------------------------------------------------- classifier
class _PretrainedMLPClassifier(MLPClassifier):
    """MLPClassifier whose hidden layers start from given weights.

    ``pretrained`` (set after construction) is a list of (coef, intercept)
    with coef of shape (fan_in, fan_out); the output layer keeps
    scikit-learn's initialisation.
    """

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        # A clone (no ``pretrained``) is a plain MLPClassifier.
        for k, (coef, intercept) in enumerate(getattr(self, "pretrained", ())):
            if self.coefs_[k].shape != coef.shape:  # pragma: no cover - guard
                raise ValueError("Pretrained weights do not match the network.")
            self.coefs_[k] = np.array(coef, dtype=dtype)
            self.intercepts_[k] = np.array(intercept, dtype=dtype)
        if hasattr(self, "_best_coefs"):
            self._best_coefs = [c.copy() for c in self.coefs_]
            self._best_intercepts = [i.copy() for i in self.intercepts_]


def _stochastic_solver(estimator):
    # MLPClassifier.partial_fit exists for these solvers only; say so (the
    # AttributeError keeps hasattr(clf, "partial_fit") False, as in sklearn)
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for the stochastic solvers "
            "('adam', 'sgd'): solver='lbfgs' needs the whole data set, use fit."
        )
    return True


class DBNClassifier(SafeFitMixin, ClassifierMixin, BaseEstimator):
    """A deep belief network pretrained greedily, then fine-tuned to classify.

    ``fit`` trains a :class:`skebm.DBN` on X (unsupervised), then fine-tunes
    the whole stack plus a softmax output layer by backpropagation with
    scikit-learn's :class:`~sklearn.neural_network.MLPClassifier` (logistic
    activation) whose hidden layers start from the pretrained weights:
    layer k gets ``coefs_[k] = rbms_[k].components_.T`` and
    ``intercepts_[k] = rbms_[k].intercept_hidden_``, so the untrained network
    computes exactly the DBN's up-pass; the output layer starts from
    scikit-learn's (Glorot) initialisation.

    The pretraining settings are the classifier's own (``hidden_layer_sizes``,
    ``visible_units`` and the per-layer settings, the same names as
    :class:`skebm.DBN`'s), or those of a :class:`skebm.DBN` passed as ``dbn``
    (a meta-estimator: ``dbn__n_iter`` in a grid search).

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, or int, default=(256, 256)
        Units in each hidden layer, bottom first (unused with ``dbn``).
    dbn : DBN or DBM, default=None
        The network to pretrain, with its settings: a clone of it is fitted
        on ``X`` (or, with ``pretrained=True``, a copy of it is used as it is).
        A :class:`skebm.DBM` (Salakhutdinov & Hinton 2009) is fine-tuned the
        same way: hidden layer l of the network starts from W^l and b^l
        (``coefs_[l - 1].T``, ``intercepts_[l]``), the up-pass of its mean
        field without the top-down input (the paper also feeds the top
        layer's mean-field posterior to the network as extra input; this
        does not).
        With ``dbn`` given, ``hidden_layer_sizes``, ``visible_units``, the
        per-layer settings and ``rbm_params`` come from it, and setting them
        on the classifier as well is an error (the two could disagree).
    pretrained : bool, default=False
        ``dbn`` is already fitted: fine-tune from its weights without
        pretraining again (the passed ``dbn`` is never modified).
    visible_units : {"bernoulli", "gaussian"}, default="bernoulli"
        As in :class:`skebm.DBN`: "gaussian" pretrains a Gaussian-Bernoulli
        first layer on real-valued (standardized) data; the fine-tuned
        network's first layer then starts from ``components_ / variances_``,
        so that it still computes the up-pass exactly.
    learning_rate, batch_size, n_iter, method, n_gibbs_steps, n_chains, \
momentum, weight_decay, learning_rate_schedule, visible_bias_init : \
scalar or sequence of length n_layers
        Pretraining: the :class:`skebm.BernoulliRBM` settings of the layers,
        as in :class:`skebm.DBN` (defaults 0.1, 10, 10, "pcd", 1, None, 0.0,
        0.0, "constant", "zeros").
    rbm_params : dict or list of dict, default=None
        Any other BernoulliRBM parameter of the layers, as in
        :class:`skebm.DBN`.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Fine-tuning optimiser (``MLPClassifier.solver``).
    alpha : float, default=1e-4
        L2 penalty of the fine-tuning (``MLPClassifier.alpha``).
    learning_rate_init : float, default=1e-3
        Fine-tuning step size (``MLPClassifier.learning_rate_init``).
    max_iter : int, default=200
        Maximum fine-tuning epochs (``MLPClassifier.max_iter``).
    fine_tune_batch_size : int or "auto", default="auto"
        Minibatch size of the fine-tuning (``MLPClassifier.batch_size``).
    early_stopping : bool, default=False
        Hold out 10 % of the training data and stop fine-tuning when the
        validation score stops improving (``MLPClassifier.early_stopping``).
    fine_tune_params : dict, default=None
        Further keyword arguments of the ``MLPClassifier`` (e.g. ``tol``,
        ``n_iter_no_change``, ``momentum``); ``activation`` is always
        "logistic".
    warm_start : bool, default=False
        Refitting a fitted classifier continues its fine-tuning: the fitted
        network (``mlp_``) runs ``max_iter`` more epochs on the new data
        from its current weights, and the DBN is not pretrained again. As
        with ``MLPClassifier(warm_start=True)``, ``n_iter_`` counts the epochs
        of the last fit and ``loss_curve_`` grows; the layer sizes cannot
        change.
    verbose : int, default=0
        Verbosity of the pretraining and the fine-tuning.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the pretraining and the fine-tuning (two independent seeds
        drawn from one ``SeedSequence``). A ``dbn`` passed in is seeded by
        its own ``random_state``.

    Attributes
    ----------
    dbn_ : DBN or DBM
        The pretrained network (before fine-tuning): fitted here, or a copy
        of the ``pretrained`` ``dbn``.
    mlp_ : MLPClassifier
        The fine-tuned network; its ``coefs_`` / ``intercepts_`` are the final
        weights.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_iter_ : int
        Fine-tuning epochs run.
    loss_curve_ : list of float
        Fine-tuning loss per epoch (stochastic solvers).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    skebm.DBN : The unsupervised network.
    sklearn.neural_network.MLPClassifier : The same network from a random
        initialisation.

    References
    ----------
    Hinton, G. E., Osindero, S. and Teh, Y.-W. (2006). A fast learning
    algorithm for deep belief nets. Neural Computation 18, 1527-1554.

    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science 313, 504-507.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import DBNClassifier
    >>> X = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    >>> y = ["a", "a", "b", "b"]
    >>> clf = DBNClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.1,
    ...                     random_state=0).fit(X, y)
    >>> clf.predict(X).tolist()
    ['a', 'a', 'b', 'b']
    """

    _fitted_attributes = ("dbn_", "mlp_", "classes_")

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        **_RBM_SETTING_CONSTRAINTS,
        "rbm_params": [dict, list, None],
        "dbn": [DBN, DBM, None],
        "pretrained": ["boolean"],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate_init": [LEARNING_RATE],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "fine_tune_batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "early_stopping": ["boolean"],
        "fine_tune_params": [dict, None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        dbn=None,
        pretrained=False,
        visible_units="bernoulli",
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        method="pcd",
        n_gibbs_steps=1,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        learning_rate_schedule="constant",
        visible_bias_init="zeros",
        rbm_params=None,
        solver="adam",
        alpha=1e-4,
        learning_rate_init=1e-3,
        max_iter=200,
        fine_tune_batch_size="auto",
        early_stopping=False,
        fine_tune_params=None,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dbn = dbn
        self.pretrained = pretrained
        self.visible_units = visible_units
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.visible_bias_init = visible_bias_init
        self.rbm_params = rbm_params
        self.solver = solver
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.fine_tune_batch_size = fine_tune_batch_size
        self.early_stopping = early_stopping
        self.fine_tune_params = fine_tune_params
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pretrain the DBN on ``X``, then fine-tune it with the labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1].
        y : array-like of shape (n_samples,)
            Class labels (any hashable type, e.g. strings).

        Returns
        -------
        self : DBNClassifier
            The fitted classifier.
        """
        if self.warm_start and hasattr(self, "mlp_"):
            X, y = self._validate_train_data(X, y, reset=False)
            sizes = self._warm_sizes()
            mlp = self.mlp_
            params = self._mlp_params(sizes, mlp.random_state)
            mlp.set_params(**params, warm_start=True)
        else:
            X, y = self._validate_train_data(X, y)
            sizes, mlp = self._pretrain(X)
        with self._fine_tune_threads(X, sizes, mlp):
            mlp.fit(X, y)
        return self._finish(mlp)

    def _warm_sizes(self):
        have = list(self.mlp_.hidden_layer_sizes)
        want = self._requested_sizes()
        if want is not None and list(want) != have:
            raise ValueError(
                f"warm_start continues the fitted network of layers {have}: the "
                f"layer sizes cannot change (got {list(want)}); set "
                "warm_start=False to fit a new network."
            )
        return have

    def _requested_sizes(self):
        """The hidden layer sizes asked for (None: those of a fitted dbn)."""
        if self.dbn is None:
            return _check_hidden_layer_sizes(self.hidden_layer_sizes)
        if self.pretrained:
            return None
        return _check_hidden_layer_sizes(self.dbn.hidden_layer_sizes)

    def _gaussian_input(self, reset):
        # a new fit follows the parameters, a continued one the fitted DBN
        if not reset:
            return self.dbn_._gaussian()
        if self.dbn is None:
            return self.visible_units == "gaussian"
        if self.pretrained:
            return self.dbn._gaussian()
        return self.dbn.visible_units == "gaussian"

    @available_if(_stochastic_solver)
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch of fine-tuning on ``(X, y)``; pretrains first if unfitted.

        The first call (on an unfitted classifier) pretrains the DBN on ``X``
        exactly as :meth:`fit` does (``n_iter`` epochs per layer) and needs
        ``classes``; every call then runs one epoch of
        ``MLPClassifier.partial_fit`` on the batch. After :meth:`fit`, calls
        continue the fine-tuning of the fitted network. Only for the
        stochastic solvers ("adam", "sgd"), as in scikit-learn.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1].
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole problem; required on the first call,
            ignored later.

        Returns
        -------
        self : DBNClassifier
            The fitted classifier.
        """
        first = not hasattr(self, "mlp_")
        if first:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            X, y = self._validate_train_data(X, y)
            sizes, mlp = self._pretrain(X)
        else:
            X, y = self._validate_train_data(X, y, reset=False)
            sizes, mlp = list(self.mlp_.hidden_layer_sizes), self.mlp_
        with self._fine_tune_threads(X, sizes, mlp):
            mlp.partial_fit(X, y, classes=classes if first else None)
        return self._finish(mlp)

    def _pretrain(self, X):
        """Fit ``dbn_``; return its layer sizes and the MLP that starts from
        its weights."""
        dbn_seed, mlp_seed = (
            int(s.generate_state(1)[0])
            for s in seed_sequence(self.random_state).spawn(2)
        )
        if self.dbn is None:
            self.dbn_ = DBN(
                _check_hidden_layer_sizes(self.hidden_layer_sizes),
                visible_units=self.visible_units,
                **{k: getattr(self, k) for k in RBM_SETTINGS},
                rbm_params=self.rbm_params,
                verbose=self.verbose,
                random_state=dbn_seed,
            ).fit(X)
        elif self.pretrained:
            # a copy: fine-tuning and later fits never touch the user's dbn
            self.dbn_ = copy.deepcopy(self.dbn)
        else:
            self.dbn_ = clone(self.dbn).fit(X)
        if isinstance(self.dbn_, DBM):
            # the up-pass W^l, b^l of each layer: the mean field without
            # its top-down input, which fine-tuning then adjusts
            layers = list(zip(self.dbn_.coefs_, self.dbn_.intercepts_[1:], strict=True))
            var = self.dbn_._var()
        else:
            layers = [(r.components_, r.intercept_hidden_) for r in self.dbn_.rbms_]
            var = self.dbn_._visible_var()
        sizes = [W.shape[0] for W, _ in layers]
        mlp = _PretrainedMLPClassifier(**self._mlp_params(sizes, mlp_seed))
        mlp.pretrained = [(W.T, c) for W, c in layers]
        if var is not None:
            # p(h1 | x) = sigmoid(c + W (x / var)): fold 1 / var into the weights
            W = layers[0][0]
            mlp.pretrained[0] = ((W / var).T, mlp.pretrained[0][1])
        return sizes, mlp

    def _mlp_params(self, sizes, seed):
        """The fine-tuning MLP's parameters (``fine_tune_params`` on top)."""
        params = {
            "solver": self.solver,
            "alpha": self.alpha,
            "learning_rate_init": self.learning_rate_init,
            "max_iter": self.max_iter,
            "batch_size": self.fine_tune_batch_size,
            "early_stopping": self.early_stopping,
            "verbose": bool(self.verbose),
            "random_state": seed,
        }
        params.update(self.fine_tune_params or {})
        params.update(hidden_layer_sizes=tuple(sizes), activation="logistic")
        return params

    def _validate_params(self):
        super()._validate_params()
        self._check_dbn()
        # checked before pretraining (the MLP's own check would come after
        # it, and is skipped for nested estimators)
        sizes = self._requested_sizes() or [1]
        allowed = set(MLPClassifier().get_params())
        bad = sorted(set(self.fine_tune_params or {}) - allowed)
        if bad:
            raise ValueError(
                f"fine_tune_params has keys {bad} that are not MLPClassifier "
                "parameters."
            )
        try:
            MLPClassifier(**self._mlp_params(sizes, 0))._validate_params()
        except ValueError as e:
            raise type(e)(f"{type(self).__name__} fine-tuning: {e}") from None

    def _check_dbn(self):
        if self.dbn is None:
            if self.pretrained:
                raise ValueError(
                    "pretrained=True needs a fitted DBN or DBM passed as dbn."
                )
            return
        defaults = type(self)().get_params()
        own = ("hidden_layer_sizes", "visible_units", "rbm_params", *RBM_SETTINGS)
        clash = [k for k in own if not _same_value(getattr(self, k), defaults[k])]
        if clash:
            raise ValueError(
                f"dbn is given, so the pretraining settings are those of dbn; "
                f"the classifier's {clash} would be ignored. Set them on the "
                "DBN (dbn__<name> in a grid search)."
            )
        if self.pretrained:
            check_is_fitted(
                self.dbn,
                msg="pretrained=True needs a fitted dbn; this DBN is not fitted. "
                "Call its fit first, or set pretrained=False to fit it here.",
            )

    @staticmethod
    def _fine_tune_threads(X, sizes, mlp):
        # Small products (minibatch x layer) run faster on one BLAS thread,
        # and do not collapse when the machine is busy (see _threads.py).
        batch = mlp.batch_size
        batch = min(200, X.shape[0]) if batch == "auto" else batch
        widths = [X.shape[1], *sizes]
        return blas_threads_for(batch * max(widths) ** 2)

    def _finish(self, mlp):
        # the pretrained weights were copied into coefs_; keep pickles lean
        mlp.__dict__.pop("pretrained", None)
        self.mlp_ = mlp
        self.classes_ = mlp.classes_
        self.n_iter_ = mlp.n_iter_
        self.loss_curve_ = getattr(mlp, "loss_curve_", None)
        return self

    def _validate_train_data(self, X, y, reset=True):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            ensure_min_samples=2,
            reset=reset,
        )
        check_classification_targets(y)
        if self.dbn is not None and self.pretrained and reset:
            if X.shape[1] != self.dbn.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the pretrained dbn was "
                    f"fitted on {self.dbn.n_features_in_}."
                )
        if not self._gaussian_input(reset):
            check_unit_interval(X, "X", self)
        return X, y

    def _validate_eval_X(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), reset=False
        )
        self.dbn_._check_visible_values(X, "X")
        return X

    def predict(self, X):
        """Predicted class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X = self._validate_eval_X(X)
        return self.mlp_.predict(X)

    def predict_proba(self, X):
        """Class probabilities of each row, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_eval_X(X)
        return self.mlp_.predict_proba(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_eval_X(X)
        return self.mlp_.predict_log_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
