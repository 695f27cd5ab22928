"""Deep Boltzmann machine maths: the pure functions and the chain/AIS protocol
objects behind :class:`skebm.DBM` (``_dbm.py`` holds the estimator).

Layers are numbered 0 (visible) to L (top hidden). ``Ws[l - 1]`` is the
weight matrix W^l of shape (n_l, n_{l-1}) between layers l - 1 and l, and
``bs[l]`` the biases of layer l (MATH.md, "Deep Boltzmann machine"):

    E(x^0, ..., x^L) = - sum_l x^l . W^l x^{l-1} - sum_l b^l . x^l.

Given the even layers, the odd layers are independent (and vice versa), so
block Gibbs sampling alternates odd and even layers, a whole parity class can
be summed out analytically (exact log Z, AIS), and mean-field updates a parity
class at a time.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import entr, logsumexp
from sklearn.utils.extmath import safe_sparse_dot

from ._gaussian import (
    _LOG_2PI,
    _gaussian_log_marginal_h,
    _quadratic,
    gaussian_hidden_activation,
    gaussian_visible_mean,
    sample_normal,
    tempered_visible_moments,
)
from ._gibbs import (
    sample_bernoulli_,
    sigmoid_,
    softplus_,
    uniform_like,
)
from ._partition import (
    binary_states,
    logsumexp_over_states,
)

__all__ = [
    "DBMAnnealingPath",
    "DBMChain",
    "GaussianDBMAnnealingPath",
    "dbm_activation",
    "dbm_free_energy_exact",
    "dbm_gibbs_sweep_",
    "dbm_log_partition_exact",
    "dbm_log_unnormalized",
    "dbm_mean_field",
    "dbm_variational_bound",
    "dbm_visible_input",
]

# Elements of the (rows x states) blocks built by the exact free energy.
_FE_CHUNK_ELEMENTS = 2**18


# --------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------
def _dot(x, W_T):
    """``x @ W_T`` for dense or sparse ``x`` as a dense array in W's dtype."""
    if sp.issparse(x):
        return np.asarray(safe_sparse_dot(x, W_T, dense_output=True), dtype=W_T.dtype)
    return x @ W_T


def dbm_visible_input(v, W1, inv_var=None):
    """The visible layer's input to h^1: W^1 v, or W^1 (v / s) for Gaussian
    visible units of variances s (``inv_var`` = 1 / s), shape (n, n_1).

    ``v`` may be sparse for binary units.
    """
    if inv_var is None:
        return _dot(v, W1.T)
    return gaussian_hidden_activation(v, W1, W1.dtype.type(0), inv_var)


def dbm_activation(layers, Ws, bs, k, inv_var=None):
    """Input to layer ``k`` from its neighbours: b^k + W^k x^{k-1} + W^{k+1}T x^{k+1}.

    Parameters
    ----------
    layers : list of L + 1 arrays of shape (n, n_l)
        States (or mean-field values) of every layer, the visible one first.
    Ws : list of L arrays, ``Ws[l - 1]`` of shape (n_l, n_{l-1})
    bs : list of L + 1 bias vectors
    k : int
        Layer index, 0 (visible) to L.
    inv_var : ndarray of shape (n_0,), default=None
        1 / s for Gaussian visible units of variances s (then h^1 sees
        v / s, see :func:`dbm_visible_input`, and the activation of the
        visible layer is the mean b^0 + W^1T h^1 of p(v | h^1)).

    Returns
    -------
    a : ndarray of shape (n, n_k); p(x^k = 1 | rest) = sigmoid(a).
    """
    L = len(Ws)
    a = None
    if k == 1:
        a = dbm_visible_input(layers[0], Ws[0], inv_var)
    elif k >= 1:
        a = _dot(layers[k - 1], Ws[k - 1].T)
    if k < L:
        t = layers[k + 1] @ Ws[k]
        if a is None:
            a = t
        else:
            a += t
    a += bs[k]
    return a


def dbm_gibbs_sweep_(layers, Ws, bs, rng, *, fast=False, var=None):
    """One block-Gibbs sweep: all odd layers given the even ones, then all even.

    Updates ``layers`` in place (each entry must be a float array) and
    returns p(v = 1 | x^1), the probabilities the new visible states were drawn
    from. ``fast`` selects the 16-bit Bernoulli draws used in training.
    With ``var`` (variances s of Gaussian visible units) v is drawn from
    N(b^0 + W^1T h^1, diag s) and the mean is returned instead.
    """
    L = len(Ws)
    inv_var = None if var is None else 1.0 / var
    p_v = None
    for parity in (1, 0):
        for k in range(parity, L + 1, 2):
            if k == 0 and var is not None:
                p_v = gaussian_visible_mean(layers[1], Ws[0], bs[0])
                layers[0][...] = sample_normal(p_v, np.sqrt(var), rng)
                continue
            p = sigmoid_(dbm_activation(layers, Ws, bs, k, inv_var))
            sample_bernoulli_(layers[k], p, rng, fast=fast)
            if k == 0:
                p_v = p
    return p_v


def dbm_mean_field(a1, Ws, bs, *, max_iter=10, tol=1e-5):
    """Mean-field posterior q(h | v) = prod Bernoulli(mu) of the hidden layers.

    Initialised by a bottom-up pass with doubled weights below the top layer
    (the recognition pass of Salakhutdinov & Hinton 2009), then the odd and
    the even hidden layers are updated in turn, mu^l = sigmoid(b^l + W^l
    mu^{l-1} + W^{l+1}T mu^{l+1}); each is an exact block coordinate ascent
    step on the variational bound. A row stops when the mean absolute change
    of every layer falls below ``tol`` (so each row's result does not depend
    on the other rows), or after ``max_iter`` sweeps.

    Parameters
    ----------
    a1 : ndarray of shape (n, n_1)
        W^1 v, the visible input to the first hidden layer (computed once,
        sparse ``v`` allowed upstream).
    Ws, bs : parameters (see :func:`dbm_activation`).
    max_iter : int
    tol : float

    Returns
    -------
    mus : list of L arrays of shape (n, n_l), l = 1..L
    n_iter : int
        Sweeps done (the maximum over rows).
    """
    L = len(Ws)
    mus = []
    x = None
    for k in range(1, L + 1):
        scale = 2.0 if k < L else 1.0
        a = a1.copy() if k == 1 else x @ Ws[k - 1].T
        if scale != 1.0:
            a *= a.dtype.type(scale)
        a += bs[k]
        x = sigmoid_(a)
        mus.append(x)
    if L == 1:
        # The posterior of a single hidden layer is exact and factorial.
        return mus, 0
    n = a1.shape[0]
    active = np.arange(n)
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        full = active.size == n
        cur = mus if full else [m[active] for m in mus]
        a1_cur = a1 if full else a1[active]
        change = np.zeros(active.size, dtype=np.float64)
        for parity in (1, 0):
            for k in range(1 if parity else 2, L + 1, 2):
                a = a1_cur.copy() if k == 1 else cur[k - 2] @ Ws[k - 1].T
                if k < L:
                    a += cur[k] @ Ws[k]
                a += bs[k]
                sigmoid_(a)
                diff = np.abs(a - cur[k - 1]).mean(axis=1)
                np.maximum(change, diff, out=change)
                cur[k - 1][...] = a
        if not full:
            for m, c in zip(mus, cur, strict=True):
                m[active] = c
        active = active[change >= tol]
        if active.size == 0:
            break
    return mus, n_iter


def dbm_variational_bound(bv, a1, mus, Ws, bs):
    """E_q[-E(v, h)] + H(q) for a factorial q(h) with means ``mus``.

    Any ``mus`` gives a lower bound on log sum_h exp(-E(v, h)) = -F(v);
    mean-field iterations climb it to a local maximum.

    Parameters
    ----------
    bv : ndarray of shape (n,)
        b^0 . v.
    a1 : ndarray of shape (n, n_1)
        W^1 v.
    mus : list of L arrays (n, n_l)

    Returns
    -------
    bound : ndarray of shape (n,), float64
    """
    out = np.asarray(bv, dtype=np.float64).copy()
    out += np.einsum("ij,ij->i", mus[0], a1, dtype=np.float64)
    for k in range(1, len(Ws) + 1):
        mu = mus[k - 1]
        out += (mu @ bs[k]).astype(np.float64)
        if k >= 2:
            out += np.einsum("ij,ij->i", mus[k - 2] @ Ws[k - 1].T, mu, dtype=np.float64)
        # Entropy of independent Bernoulli units.
        h = entr(mu)
        h += entr(1.0 - mu)
        out += h.sum(axis=1, dtype=np.float64)
    return out


def dbm_log_unnormalized(layers, Ws, bs, summed, *, field1=None, n=None):
    """log of the unnormalised probability with the layers in ``summed`` summed out.

    Layers in ``summed`` must not be adjacent; each contributes
    sum_j softplus(activation_j). A layer given as ``None`` and not summed is
    left out (its terms are the caller's); ``field1`` is an extra input
    (n, n_1) to layer 1, used to clamp the visible layer by its product
    W^1 v.

    Returns
    -------
    log_f : ndarray of shape (n,), float64
    """
    L = len(Ws)
    if n is None:
        n = next(x.shape[0] for x in list(layers) + [field1] if x is not None)
    out = np.zeros(n, dtype=np.float64)
    for k in range(L + 1):
        if k in summed:
            a = np.broadcast_to(bs[k], (n, bs[k].size)).copy()
            if k >= 1 and layers[k - 1] is not None:
                a += layers[k - 1] @ Ws[k - 1].T
            if k < L and layers[k + 1] is not None:
                a += layers[k + 1] @ Ws[k]
            if k == 1 and field1 is not None:
                a += field1
            out += softplus_(a).sum(axis=1)
        elif layers[k] is not None:
            x = layers[k]
            out += x @ bs[k]
            if k >= 1 and layers[k - 1] is not None:
                out += np.einsum("ij,ij->i", layers[k - 1] @ Ws[k - 1].T, x)
            if k == 1 and field1 is not None:
                out += np.einsum("ij,ij->i", field1, x)
    return out


def dbm_importance_log_f(bv, a1, mus, Ws, bs, n_samples, rng):
    """Importance estimate of log sum_h exp(-E(v, h)) = -F(v) for each row.

    The odd hidden layers are drawn ``n_samples`` times from the factorial
    posterior q with means ``mus``; the even hidden layers are summed out
    exactly given them (they are conditionally independent given v and the
    odd layers). Returns the log of the mean importance weight
    p*(v, h_odd) / q(h_odd). Its expectation is at most -F(v) (Jensen) and at
    least the variational bound of the same q with the even layers summed
    out, which is at least :func:`dbm_variational_bound` of the same q (the
    exact conditional of the even layers beats any factorial one); it
    converges to -F(v) as ``n_samples`` grows.

    Parameters
    ----------
    bv : ndarray of shape (n,)
        b^0 . v.
    a1 : ndarray of shape (n, n_1)
        W^1 v.
    mus : list of L arrays (n, n_l)
        Means of q (only the odd layers' are used).
    Ws, bs : parameters (see :func:`dbm_activation`).
    n_samples : int
    rng : numpy.random.Generator

    Returns
    -------
    log_f : ndarray of shape (n,), float64
    """
    L = len(Ws)
    n = a1.shape[0]
    summed = set(range(2, L + 1, 2))
    out = np.empty(n, dtype=np.float64)
    # rows per block: keep the (rows * n_samples, n_l) draws to a few MB
    step = max(1, 4096 // n_samples)
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        m = rows.stop - rows.start
        layers = [None] * (L + 1)
        log_q = np.zeros(m * n_samples, dtype=np.float64)
        for k in range(1, L + 1, 2):
            mu = np.repeat(mus[k - 1][rows], n_samples, axis=0)
            h = (uniform_like(mu, rng) < mu).astype(mu.dtype)
            # the probability of the drawn state is > 0 by construction
            log_q += np.log(np.where(h > 0, mu, 1.0 - mu)).sum(axis=1, dtype=np.float64)
            layers[k] = h
        field1 = np.repeat(a1[rows], n_samples, axis=0)
        log_f = dbm_log_unnormalized(
            layers, Ws, bs, summed, field1=field1, n=m * n_samples
        )
        log_w = (log_f - log_q).reshape(m, n_samples)
        out[rows] = logsumexp(log_w, axis=1) - np.log(n_samples)
    out += np.asarray(bv, dtype=np.float64)
    return out


def _parity_log_f(states, Ws, bs, parity):
    """Unnormalised log-marginal of the layers of one parity (others summed)."""
    L = len(Ws)
    layers = [None] * (L + 1)
    offset = 0
    for k in range(parity, L + 1, 2):
        width = bs[k].size
        layers[k] = states[:, offset : offset + width]
        offset += width
    summed = set(range(1 - parity, L + 1, 2))
    return dbm_log_unnormalized(layers, Ws, bs, summed, n=states.shape[0])


def _parity_units(sizes):
    """Total units of the even and of the odd layers."""
    return sum(sizes[0::2]), sum(sizes[1::2])


def _gaussian_odd_log_f(states, Ws, bs, inv_var):
    """Unnormalised log-marginal of the odd layers of a DBM with Gaussian
    visibles: v integrated out in closed form given h^1 (without the
    constant sum_i log sqrt(2 pi s_i)), the even hidden layers summed."""
    L = len(Ws)
    layers = [None] * (L + 1)
    offset = 0
    for k in range(1, L + 1, 2):
        width = bs[k].size
        layers[k] = states[:, offset : offset + width]
        offset += width
    summed = set(range(2, L + 1, 2))
    out = dbm_log_unnormalized(layers, Ws, bs, summed, n=states.shape[0])
    out += _gaussian_log_marginal_h(
        layers[1], Ws[0], bs[0], np.zeros(bs[1].size), inv_var
    )
    return out


def dbm_log_partition_exact(Ws, bs, *, var=None, n_jobs=None):
    """Exact log Z: enumerate the smaller parity class, sum the other out.

    Computed in float64; feasible up to ~30 units in the smaller class. With
    ``var`` (variances s of Gaussian visible units) the odd layers are
    enumerated: integrating v out couples the units of h^1, so they cannot
    be summed analytically, and v is integrated in closed form given h^1
    (a Gaussian integral, as in :func:`skebm._gaussian.gaussian_log_partition_exact`).
    """
    Ws = [np.asarray(W, dtype=np.float64) for W in Ws]
    bs = [np.asarray(b, dtype=np.float64) for b in bs]
    if var is not None:
        var = np.asarray(var, dtype=np.float64)
        lse = logsumexp_over_states(
            _gaussian_odd_log_f,
            sum(b.size for b in bs[1::2]),
            (Ws, bs, 1.0 / var),
            n_jobs=n_jobs,
        )
        return lse + 0.5 * float(np.sum(np.log(var)) + var.size * _LOG_2PI)
    even, odd = _parity_units([b.size for b in bs])
    parity, n_units = (0, even) if even <= odd else (1, odd)
    return logsumexp_over_states(
        _parity_log_f, n_units, (Ws, bs, parity), n_jobs=n_jobs
    )


def _hidden_enumeration(sizes):
    """(parity, units) of the smaller class of *hidden* layers (ties: even)."""
    even = sum(sizes[2::2])
    odd = sum(sizes[1::2])
    return (0, even) if even <= odd else (1, odd)


def dbm_free_energy_exact(bv, a1, Ws, bs):
    """Exact F(v) = -log sum_h exp(-E(v, h)) by enumerating hidden units.

    The smaller parity class of hidden layers is enumerated and the other one
    summed out analytically (with one hidden layer nothing is enumerated:
    the RBM free energy).

    Parameters
    ----------
    bv : ndarray (n,)
        b^0 . v.
    a1 : ndarray (n, n_1)
        W^1 v.

    Returns
    -------
    F : ndarray of shape (n,), float64
    """
    Ws = [np.asarray(W, dtype=np.float64) for W in Ws]
    bs = [np.asarray(b, dtype=np.float64) for b in bs]
    a1 = np.asarray(a1, dtype=np.float64)
    L = len(Ws)
    sizes = [b.size for b in bs]
    parity, n_units = _hidden_enumeration(sizes)
    enumerated = [k for k in range(1, L + 1) if k % 2 == parity]
    summed = {k for k in range(1, L + 1) if k % 2 != parity}
    n = a1.shape[0]
    total = 2**n_units
    s_chunk = min(total, 2**12)
    out = np.full(n, -np.inf)
    for s0 in range(0, total, s_chunk):
        states = binary_states(s0, min(total, s0 + s_chunk), n_units)
        s = states.shape[0]
        rows = max(1, _FE_CHUNK_ELEMENTS // s)
        for r0 in range(0, n, rows):
            r1 = min(n, r0 + rows)
            r = r1 - r0
            layers = [None] * (L + 1)
            offset = 0
            for k in enumerated:
                layers[k] = np.tile(states[:, offset : offset + sizes[k]], (r, 1))
                offset += sizes[k]
            field1 = np.repeat(a1[r0:r1], s, axis=0)
            vals = dbm_log_unnormalized(
                layers, Ws, bs, summed, field1=field1, n=r * s
            ).reshape(r, s)
            out[r0:r1] = np.logaddexp(out[r0:r1], logsumexp(vals, axis=1))
    return -(np.asarray(bv, dtype=np.float64) + out)


def clip_row_norms_(W, max_norm):
    """Rescale, in place, every row of ``W`` whose L2 norm exceeds ``max_norm``."""
    norms = np.sqrt(np.einsum("ij,ij->i", W, W))
    over = norms > max_norm
    if np.any(over):
        W[over] *= (max_norm / norms[over]).astype(W.dtype)[:, None]
    return W


# --------------------------------------------------------------------------
# Protocol objects for the shared chain runner and AIS
# --------------------------------------------------------------------------
class DBMChain:
    """Alternating odd/even block-Gibbs chain of a DBM (chain-model protocol).

    ``init_state`` puts the hidden layers at the mean-field posterior of the
    given visible rows; the first sweep samples the odd layers from it.
    With ``var`` the visible units are Gaussian with these variances (random
    starts are then drawn from N(b^0, diag var), and ``probabilities`` gives
    the means of p(v | h^1)).
    """

    def __init__(self, Ws, bs, mf_max_iter=10, mf_tol=1e-5, var=None):
        self.Ws, self.bs = Ws, bs
        self.dtype = Ws[0].dtype
        self.mf_max_iter, self.mf_tol = mf_max_iter, mf_tol
        self.var = var
        self.inv_var = None if var is None else 1.0 / var

    def random_visible(self, n, rng):
        if self.var is not None:
            shape = (n, self.Ws[0].shape[1])
            return sample_normal(self.bs[0], np.sqrt(self.var), rng, shape)
        return (rng.random((n, self.Ws[0].shape[1])) < 0.5).astype(self.dtype)

    def init_state(self, v0):
        v = np.array(v0, dtype=self.dtype)
        mus, _ = dbm_mean_field(
            dbm_visible_input(v, self.Ws[0], self.inv_var),
            self.Ws,
            self.bs,
            max_iter=self.mf_max_iter,
            tol=self.mf_tol,
        )
        return {"x": [v] + mus, "p": v.copy()}

    def step_(self, state, rng):
        state["p"] = dbm_gibbs_sweep_(state["x"], self.Ws, self.bs, rng, var=self.var)

    def visible(self, state, probabilities):
        return (state["p"] if probabilities else state["x"][0]).copy()


class _EvenStateChain(DBMChain):
    """DBMChain whose ``visible`` returns all even layers side by side (for
    reverse AIS, which must start from joint model states)."""

    def visible(self, state, probabilities):
        return np.concatenate(state["x"][0::2], axis=1)


class DBMAnnealingPath:
    """AIS path from independent units to a DBM, odd layers summed out.

    The state holds the even layers. With u^l = W^l x^{l-1} + W^{l+1}T
    x^{l+1} the coupling input of odd layer l,

        log p*_beta = [(1 - beta) b_A + beta b^0] . v
                      + sum_{even l >= 2} b^l . x^l
                      + sum_{odd l} sum_j softplus(b^l_j + beta u^l_j).

    Only the couplings are annealed (and the visible biases, from the
    base-rate biases ``b_A`` of the data); the hidden biases stay. At beta =
    0 every unit is independent: log Z_0 = sum softplus(b_A) + sum over
    hidden layers of sum softplus(b^l). With one hidden layer this is the RBM
    path of MATH.md except that the hidden biases are not annealed.
    """

    def __init__(self, Ws, bs, b_base):
        self.Ws, self.bs = Ws, bs
        self.L = len(Ws)
        self.dtype = Ws[0].dtype
        self.b_base = np.asarray(b_base, dtype=self.dtype)
        self.db = bs[0] - self.b_base
        self.even = list(range(0, self.L + 1, 2))
        self.odd = list(range(1, self.L + 1, 2))
        self._inv_var = None

    @property
    def log_z0(self):
        base = [self.b_base] + list(self.bs[1:])
        return float(sum(softplus_(np.array(b, dtype=np.float64)).sum() for b in base))

    def sample_base(self, n, rng):
        x = [None] * (self.L + 1)
        for k in self.even:
            if k == 0 and self._sample_base_visible(x, n, rng):
                continue
            b = self.b_base if k == 0 else self.bs[k]
            p = np.broadcast_to(sigmoid_(np.array(b)), (n, b.size))
            x[k] = sample_bernoulli_(np.empty(p.shape, self.dtype), p, rng)
        return self._state(x)

    def from_visible(self, v):
        """State from visible rows (one hidden layer) or from all even layers
        side by side (as returned by :class:`_EvenStateChain`)."""
        v = np.array(v, dtype=self.dtype)
        widths = [self.bs[k].size for k in self.even]
        if v.shape[1] != sum(widths):
            raise ValueError(
                "A DBM annealing state needs every even layer, "
                f"{sum(widths)} columns; got {v.shape[1]}."
            )
        x = [None] * (self.L + 1)
        for k, part in zip(
            self.even, np.split(v, np.cumsum(widths)[:-1], axis=1), strict=True
        ):
            x[k] = np.ascontiguousarray(part)
        return self._state(x)

    def _sample_base_visible(self, x, n, rng):
        """Hook: draw x[0] from a non-Bernoulli base and return True."""
        return False

    def _couplings(self, x):
        u = {}
        for k in self.odd:
            if k == 1:
                a = dbm_visible_input(x[0], self.Ws[0], self._inv_var)
            else:
                a = x[k - 1] @ self.Ws[k - 1].T
            if k < self.L:
                a += x[k + 1] @ self.Ws[k]
            u[k] = a
        return u

    def _state(self, x):
        return {"x": x, "u": self._couplings(x)}

    def delta_log_f(self, state, beta0, beta1):
        """log p*_{beta1} - log p*_{beta0} of each chain (float64)."""
        t = self.dtype.type
        out = (beta1 - beta0) * self._visible_gap(state["x"][0])
        for k in self.odd:
            u, b = state["u"][k], self.bs[k]
            f1 = u * t(beta1)
            f1 += b
            f0 = u * t(beta0)
            f0 += b
            out += softplus_(f1).sum(axis=1, dtype=np.float64)
            out -= softplus_(f0).sum(axis=1, dtype=np.float64)
        return out

    def _visible_gap(self, v):
        """d log p*_beta / d beta of the visible terms alone (float64)."""
        return (v @ self.db).astype(np.float64)

    def _draw_visible_(self, x, beta, rng):
        """Hook: draw x[0] given x[1] at ``beta`` and return True (else the
        Bernoulli update below runs)."""
        return False

    def step_(self, state, beta, rng):
        """One odd-then-even Gibbs sweep leaving p_beta invariant."""
        x, u = state["x"], state["u"]
        t = self.dtype.type(beta)
        for k in self.odd:
            a = u[k] * t
            a += self.bs[k]
            x[k] = sample_bernoulli_(a, sigmoid_(a), rng)
        for k in self.even:
            if k == 0 and self._draw_visible_(x, beta, rng):
                continue
            a = None
            if k >= 1:
                a = x[k - 1] @ self.Ws[k - 1].T
            if k < self.L:
                t2 = x[k + 1] @ self.Ws[k]
                a = t2 if a is None else a + t2
            a *= t
            if k == 0:
                a += t * self.bs[0] + (1 - t) * self.b_base
            else:
                a += self.bs[k]
            sample_bernoulli_(x[k], sigmoid_(a), rng)
        for k in self.odd:
            x[k] = None
        state["u"] = self._couplings(x)


class GaussianDBMAnnealingPath(DBMAnnealingPath):
    """AIS path of a DBM with Gaussian visible units of variances ``var``.

    As :class:`DBMAnnealingPath` (odd layers summed out, couplings annealed,
    hidden biases kept), with the visible terms of
    :class:`skebm._gaussian.GaussianAnnealingPath`: h^1 sees v / s, and

        log p*_beta = -(1 - beta) sum_i (v_i - a_i)^2 / (2 t_i)
                      - beta sum_i (v_i - b_i)^2 / (2 s_i) + (hidden terms),

    from a base N(a, diag t) matched to the data: log Z_0 =
    sum_i log sqrt(2 pi t_i) + sum over hidden layers of sum softplus(b^l).
    """

    def __init__(self, Ws, bs, var, base_mean, base_var):
        super().__init__(Ws, bs, bs[0])
        dtype = self.dtype
        self._inv_var = (1.0 / np.asarray(var)).astype(dtype)
        self.a = np.asarray(base_mean, dtype=dtype)
        base_var = np.asarray(base_var, dtype=np.float64)
        self.inv_t = (1.0 / base_var).astype(dtype)
        self._log_t = np.log(base_var)

    @property
    def log_z0(self):
        hidden = sum(
            softplus_(np.array(b, dtype=np.float64)).sum() for b in self.bs[1:]
        )
        D = self._log_t.size
        return float(hidden + 0.5 * (self._log_t.sum() + D * _LOG_2PI))

    def _sample_base_visible(self, x, n, rng):
        std = 1.0 / np.sqrt(self.inv_t)
        x[0] = sample_normal(self.a, std, rng, (n, self.a.size))
        return True

    def _visible_gap(self, v):
        gap = _quadratic(v, self.a, self.inv_t) - _quadratic(
            v, self.bs[0], self._inv_var
        )
        return gap.astype(np.float64)

    def _draw_visible_(self, x, beta, rng):
        mean, tau = tempered_visible_moments(
            x[1], self.Ws[0], self.bs[0], self._inv_var, self.a, self.inv_t, beta
        )
        x[0][...] = sample_normal(mean, 1.0 / np.sqrt(tau), rng)
        return True
