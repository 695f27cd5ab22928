"""Pure functions for free energies, pseudo-likelihood and partition functions.

MATH.md is the reference for every formula here; each appears once.
"""

import numpy as np
from joblib import delayed
from scipy.special import logsumexp
from sklearn.utils.extmath import safe_sparse_dot

from ._gibbs import (
    hidden_activation,
    log_sigmoid,
    sample_bernoulli_,
    sigmoid_,
    softplus_,
)
from ._sampling import run_parallel

# The one memory budget of the chunked exact computations (pseudo-likelihood,
# state enumeration, exact DBN free energy): the temporaries one chunk builds
# stay within about this many bytes (per joblib worker), whatever the sizes.
ENUM_BUDGET_BYTES = 2**25  # 32 MiB
# At most this many states per enumeration task even when the budget allows
# more, so that parallel tasks stay balanced.
_ENUM_CHUNK = 2**14
# Elements of each of the two (rows, D, H) buffers of the exact
# pseudo-likelihood: the budget, in float64, split over the two.
_PL_CHUNK_ELEMENTS = ENUM_BUDGET_BYTES // 16


def enum_chunk_sizes(n_rows, n_states, *, row_bytes, state_bytes, pair_bytes):
    """Rows and states per chunk so that one chunk's temporaries fit the budget.

    A chunk of ``R`` rows and ``S`` states is taken to need ``R * row_bytes +
    S * state_bytes + R * S * pair_bytes`` bytes; at most half of
    ``ENUM_BUDGET_BYTES`` goes to the per-state arrays. Depends on the sizes
    and the budget only (never on ``n_jobs``), so chunked results are the same
    for every number of workers.

    Returns
    -------
    rows, states : int, int (each at least 1)
    """
    budget = ENUM_BUDGET_BYTES
    S = max(1, min(n_states, (budget // 2) // max(1, state_bytes)))
    left = budget - S * state_bytes
    R = max(1, min(n_rows, left // max(1, row_bytes + S * pair_bytes)))
    return int(R), int(S)


def _row_dot(v, w):
    """``v @ w`` for dense or sparse ``v`` as a 1-D dense array."""
    return np.asarray(safe_sparse_dot(v, w)).ravel()


def free_energy(v, W, b, c):
    """Free energy F(v) = -b.v - sum_j softplus(c_j + W_j.v), shape (n_samples,)."""
    a = softplus_(hidden_activation(v, W, c))
    return -_row_dot(v, b) - a.sum(axis=1)


def pseudo_likelihood(v, W, b, c):
    """Exact pseudo-log-likelihood sum_i log p(v_i | v_{-i}) of each row of ``v``.

    Uses F(flip_i(v)) - F(v) = -b_i s_i - sum_j [softplus(a_j + s_i W_ji) -
    softplus(a_j)] with a = c + W v and s_i = 1 - 2 v_i. The (rows, D, H)
    tensor is built a chunk of rows at a time so memory stays bounded; a sparse
    ``v`` is densified a chunk of rows at a time only.

    Returns
    -------
    pl : ndarray of shape (n_samples,)
    """
    n, D = v.shape
    H = W.shape[0]
    dtype = W.dtype
    Wt = np.ascontiguousarray(W.T)  # (D, H)
    rows = max(1, _PL_CHUNK_ELEMENTS // max(1, D * H))
    out = np.empty(n, dtype=dtype)
    buf = np.empty((rows, D, H), dtype=dtype)
    tmp = np.empty((rows, D, H), dtype=dtype)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        vc = v[start:stop]
        vc = vc.toarray() if hasattr(vc, "toarray") else vc
        vc = np.asarray(vc, dtype=dtype)
        m = stop - start
        a = hidden_activation(vc, W, c)  # (m, H)
        base = softplus_(a.copy()).sum(axis=1)  # (m,)
        s = 1.0 - 2.0 * vc  # (m, D)
        x = buf[:m]
        np.multiply(s[:, :, None], Wt[None, :, :], out=x)
        x += a[:, None, :]
        softplus_(x, tmp[:m])
        # delta[k, i] = F(flip_i v_k) - F(v_k)
        delta = x.sum(axis=2)
        delta -= base[:, None]
        np.negative(delta, out=delta)
        delta -= b * s
        out[start:stop] = log_sigmoid(delta).sum(axis=1)
    return out


def pseudo_likelihood_stochastic(v, W, b, c, rng):
    """scikit-learn's estimate: flip one random unit per row, multiply by D.

    Unbiased for :func:`pseudo_likelihood` but noisy; costs two free energies.
    """
    n, D = v.shape
    idx = rng.integers(0, D, n) if hasattr(rng, "integers") else rng.randint(0, D, n)
    vd = v[np.arange(n)]
    vd = vd.toarray() if hasattr(vd, "toarray") else np.array(vd, dtype=W.dtype)
    vd[np.arange(n), idx] = 1.0 - vd[np.arange(n), idx]
    delta = free_energy(vd, W, b, c) - free_energy(v, W, b, c)
    return D * log_sigmoid(delta)


def binary_states(start, stop, n_units, dtype=np.float64):
    """Rows ``start .. stop-1`` of the enumeration of {0,1}^n_units (bit i = unit i)."""
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_units)) & 1).astype(dtype)


def _rbm_log_marginal_h(h, W, b, c):
    """log sum_v exp(-E(v, h)) = c.h + sum_i softplus(b_i + (W^T h)_i)."""
    x = h @ W
    x += b
    return h @ c + softplus_(x).sum(axis=1)


def _rbm_log_marginal_v(v, W, b, c):
    """log sum_h exp(-E(v, h)) = -F(v)."""
    return -free_energy(v, W, b, c)


def _chunk_lse(fn, start, stop, n_units, args):
    states = binary_states(start, stop, n_units, np.float64)
    return logsumexp(fn(states, *args))


def logsumexp_over_states(fn, n_units, args, *, n_jobs=None, state_bytes=None):
    """log sum over all 2**n_units binary states s of fn(s, *args), chunked.

    Chunks are combined by log-sum-exp and may run in parallel (joblib); the
    result does not depend on ``n_jobs``. ``state_bytes``, the bytes of
    temporaries ``fn`` builds per state, sizes the chunks to the memory
    budget; by default only the states themselves (8 * n_units) are counted.
    """
    total = 2**n_units
    if state_bytes is None:
        state_bytes = 16 * n_units  # int64 bits + float64 states
    _, size = enum_chunk_sizes(
        1,
        min(total, _ENUM_CHUNK),
        row_bytes=0,
        state_bytes=state_bytes,
        pair_bytes=0,
    )
    # the budget gives at most half to states: allow the whole of it here
    size = min(_ENUM_CHUNK, 2 * size)
    bounds = [(s, min(total, s + size)) for s in range(0, total, size)]
    if len(bounds) == 1:
        parts = [_chunk_lse(fn, 0, total, n_units, args)]
    else:
        parts = run_parallel(
            (delayed(_chunk_lse)(fn, s, e, n_units, args) for s, e in bounds),
            n_jobs=n_jobs,
            what="exact enumeration",
        )
    return float(logsumexp(parts))


def rbm_log_partition_exact(W, b, c, *, n_jobs=None):
    """Exact log Z of a Bernoulli RBM by enumerating its smaller layer.

    Computed in float64 whatever the dtype of the parameters.
    """
    W, b, c = (np.asarray(x, dtype=np.float64) for x in (W, b, c))
    H, D = W.shape
    # per state: its bits (int64 and float64) and the (2 x) other layer's units
    if H <= D:
        return logsumexp_over_states(
            _rbm_log_marginal_h,
            H,
            (W, b, c),
            n_jobs=n_jobs,
            state_bytes=16 * H + 16 * D,
        )
    return logsumexp_over_states(
        _rbm_log_marginal_v, D, (W, b, c), n_jobs=n_jobs, state_bytes=16 * D + 16 * H
    )


def logmeanexp(x):
    """log(mean(exp(x))) computed stably."""
    x = np.asarray(x, dtype=np.float64)
    return float(logsumexp(x) - np.log(x.size))


def ais_summary(log_w, log_z0, *, reverse=False):
    """Summarise importance weights into an estimate of log Z with its spread.

    Forward AIS: Z = Z_0 mean(w). Reverse AIS: Z = Z_0 / mean(w). The interval
    is log(mean w +- 3 std(w) / sqrt(M)) mapped the same way (the lower end
    is -inf when the band reaches zero). ``ess`` is the effective sample size
    (sum w)^2 / sum w^2 of the importance weights.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    M = log_w.size
    shift = log_w.max()
    w = np.exp(log_w - shift)
    mean = w.mean()
    band = 3.0 * w.std() / np.sqrt(M)
    log_mean = np.log(mean) + shift
    with np.errstate(divide="ignore"):
        lo = np.log(max(mean - band, 0.0)) + shift
    hi = np.log(mean + band) + shift
    ess = float(w.sum() ** 2 / np.sum(w**2))
    if reverse:
        est, low, high = log_z0 - log_mean, log_z0 - hi, log_z0 - lo
    else:
        est, low, high = log_z0 + log_mean, log_z0 + lo, log_z0 + hi
    return {
        "log_z": float(est),
        "log_z_low": float(low),
        "log_z_high": float(high),
        "ess": ess,
        "n_runs": int(M),
    }


def ais_betas(n_betas=None):
    """The annealing schedule of Salakhutdinov & Murray (2008).

    Default: 500 betas in [0, 0.5), 4000 in [0.5, 0.9), 10 000 in [0.9, 1],
    14 500 in all, from exactly 0 to exactly 1. With ``n_betas`` an int, the
    same three segments scaled to that total (at least 3 betas); with an array,
    that schedule itself (it must rise strictly from 0 to 1).
    """
    if n_betas is not None and np.ndim(n_betas) == 1:
        betas = np.asarray(n_betas, dtype=np.float64)
        if (
            betas.size < 2
            or betas[0] != 0.0
            or betas[-1] != 1.0
            or np.any(np.diff(betas) <= 0)
        ):
            raise ValueError(
                "An AIS schedule must rise strictly from exactly 0 to exactly 1."
            )
        return betas
    if n_betas is None:
        counts = (500, 4000, 10000)
    else:
        n_betas = max(3, int(n_betas))
        c1 = max(1, round(n_betas * 500 / 14500))
        c2 = max(1, round(n_betas * 4000 / 14500))
        counts = (c1, c2, max(1, n_betas - c1 - c2))
    return np.concatenate(
        [
            np.linspace(0.0, 0.5, counts[0], endpoint=False),
            np.linspace(0.5, 0.9, counts[1], endpoint=False),
            np.linspace(0.9, 1.0, counts[2]),
        ]
    )


class RBMAnnealingPath:
    """AIS path from a base-rate model (W = 0, visible biases ``b_base``) to an RBM.

    log p*_beta(v) = (1 - beta) b_A.v + beta b.v + sum_j softplus(beta (c_j + W_j.v)).
    The state is a list ``[v, a]`` where ``a = c + W v`` is cached so each
    annealing step costs two matrix products.
    """

    def __init__(self, W, b, c, b_base):
        self.W, self.b, self.c = W, b, c
        self.b_base = np.asarray(b_base, dtype=W.dtype)

    @property
    def log_z0(self):
        # Base model: independent visibles, and each hidden unit contributes
        # softplus(0) = log 2 at beta = 0 (the classic forgotten term).
        sp = softplus_(np.array(self.b_base, dtype=np.float64))
        return float(sp.sum() + self.W.shape[0] * np.log(2.0))

    def sample_base(self, n, rng):
        p = np.broadcast_to(sigmoid_(self.b_base.copy()), (n, self.b_base.size))
        v = sample_bernoulli_(np.empty(p.shape, self.W.dtype), p, rng)
        return self.from_visible(v)

    def from_visible(self, v):
        v = np.array(v, dtype=self.W.dtype)
        return [v, hidden_activation(v, self.W, self.c)]

    def delta_log_f(self, state, beta0, beta1):
        """log p*_{beta1}(v) - log p*_{beta0}(v) for each chain (float64)."""
        v, a = state
        x1 = softplus_(a * a.dtype.type(beta1)).sum(axis=1, dtype=np.float64)
        x0 = softplus_(a * a.dtype.type(beta0)).sum(axis=1, dtype=np.float64)
        lin = v @ (self.b - self.b_base)
        return x1 - x0 + (beta1 - beta0) * lin.astype(np.float64)

    def step_(self, state, beta, rng):
        """One Gibbs transition leaving p_beta invariant; updates ``state``."""
        v, a = state
        p_h = sigmoid_(a * a.dtype.type(beta))
        h = sample_bernoulli_(p_h, p_h, rng)
        p_v = h @ self.W
        p_v *= beta
        p_v += beta * self.b + (1.0 - beta) * self.b_base
        sigmoid_(p_v)
        sample_bernoulli_(v, p_v, rng)
        hidden_activation(v, self.W, self.c, out=a)
