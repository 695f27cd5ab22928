"""Pure functions for Bernoulli units: activations, sampling, Gibbs steps.

Every function takes arrays and an explicit random generator and never seeds
itself. Functions whose name ends in ``_`` write into their first argument.
"""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

__all__ = [
    "log_sigmoid",
    "sample_bernoulli_",
    "sigmoid_",
    "softplus",
    "softplus_",
    "uniform_like",
]


def sigmoid_(x):
    """Logistic sigmoid of ``x`` in place; returns ``x``."""
    return expit(x, out=x)


def softplus_(x, tmp=None):
    """Stable ``log(1 + exp(x))`` in place; returns ``x``.

    Computed as ``max(x, 0) + log1p(exp(-|x|))``, which never overflows.
    ``tmp`` is an optional scratch array of the same shape and dtype.
    """
    if tmp is None:
        tmp = np.empty_like(x)
    np.abs(x, out=tmp)
    np.negative(tmp, out=tmp)
    np.exp(tmp, out=tmp)
    np.log1p(tmp, out=tmp)
    np.maximum(x, 0, out=x)
    x += tmp
    return x


def softplus(x):
    """Stable ``log(1 + exp(x))`` returning a new array."""
    return softplus_(np.array(x, dtype=np.result_type(x, np.float32), copy=True))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for any ``x``."""
    out = np.negative(np.asarray(x, dtype=np.result_type(x, np.float32)))
    softplus_(out)
    return np.negative(out, out=out)


def uniform_like(p, rng):
    """Uniform numbers on [0, 1) in the shape of ``p``, as float64.

    A ``numpy.random.Generator`` draws with ``random``; a legacy
    ``RandomState`` (accepted for scikit-learn compatibility) with
    ``uniform``, which makes the stream identical to scikit-learn's. The
    numbers are float64 whatever the dtype of ``p`` so that float32 and float64
    models follow the same random stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng.random(p.shape)
    return rng.uniform(size=p.shape)


def sample_bernoulli_(out, p, rng, *, fast=False):
    """Write Bernoulli(p) draws (0.0 or 1.0) into ``out``; return ``out``.

    Parameters
    ----------
    out : ndarray of the shape of ``p``
        Destination; any real or boolean dtype.
    p : ndarray
        Probabilities.
    rng : numpy.random.Generator or numpy.random.RandomState
        Source of randomness.
    fast : bool, default=False
        With a ``Generator``, compare against 16-bit uniform integers taken
        from the raw bit stream (four per 64-bit word) instead of float64
        uniforms: about five times cheaper, and each probability is resolved
        to 1/65536, which is far below the noise of a stochastic gradient. Used
        in the training loops only; sampling and AIS use full precision.
    """
    if fast and isinstance(rng, np.random.Generator):
        n = p.size
        words = rng.bit_generator.random_raw((n + 3) // 4)
        u = words.view(np.uint16)[:n].reshape(p.shape)
        # u < p * 2**16  <=>  u / 2**16 < p ; exact for float32 and float64.
        np.less(u, p * p.dtype.type(65536.0), out=out)
    else:
        np.less(uniform_like(p, rng), p, out=out)
    return out


def hidden_activation(v, W, c, out=None):
    """Pre-activation of the hidden layer ``v @ W.T + c`` (``v`` may be sparse)."""
    if out is None:
        out = safe_sparse_dot(v, W.T, dense_output=True)
        out = np.asarray(out, dtype=W.dtype)
    else:
        if hasattr(v, "tocsr"):
            out[...] = safe_sparse_dot(v, W.T, dense_output=True)
        else:
            np.matmul(v, W.T, out=out)
    out += c
    return out


def visible_activation(h, W, b, out=None):
    """Pre-activation of the visible layer ``h @ W + b``."""
    out = np.matmul(h, W, out=out)
    out += b
    return out


def mean_hiddens(v, W, c):
    """p(h = 1 | v) = sigmoid(c + W v), shape (n_samples, n_hidden)."""
    return sigmoid_(hidden_activation(v, W, c))


def mean_visibles(h, W, b):
    """p(v = 1 | h) = sigmoid(b + W^T h), shape (n_samples, n_visible)."""
    return sigmoid_(visible_activation(h, W, b))


def rbm_gibbs_step(v, W, b, c, rng, *, beta=1.0, b_base=None):
    """One block-Gibbs step v -> h -> v' of a Bernoulli RBM (optionally tempered).

    With ``beta`` < 1 the step leaves the AIS intermediate distribution
    ``p_beta`` of MATH.md invariant, whose visible bias is
    ``(1 - beta) * b_base + beta * b``.

    Returns
    -------
    v_new : ndarray (n, n_visible), binary values in the dtype of ``W``.
    p_v : ndarray (n, n_visible), the probabilities ``v_new`` was drawn from.
    """
    a = hidden_activation(v, W, c)
    if beta != 1.0:
        a *= beta
    sigmoid_(a)
    h = sample_bernoulli_(np.empty_like(a), a, rng)
    p = np.matmul(h, W)
    if beta != 1.0:
        p *= beta
        p += beta * b + (1.0 - beta) * b_base
    else:
        p += b
    sigmoid_(p)
    v_new = sample_bernoulli_(np.empty_like(p), p, rng)
    return v_new, p


class GradientWorkspace:
    """Preallocated buffers for :func:`rbm_cd_gradient`, reused across minibatches."""

    def __init__(self):
        self._bufs = {}

    def get(self, name, shape, dtype):
        buf = self._bufs.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._bufs[name] = np.empty(shape, dtype=dtype)
        return buf


def rbm_cd_gradient(v_pos, W, b, c, rng, *, h_chain=None, n_steps=1, ws=None):
    """CD-k or PCD-k estimate of the log-likelihood gradient of a Bernoulli RBM.

    Positive statistics use p(h | v_pos); the negative chain runs ``n_steps``
    block-Gibbs steps and its statistics use the final binary visibles and
    hidden *probabilities* (MATH.md). For CD the chain starts at the data (its
    first hidden state sampled from p(h | v_pos)); for PCD it starts at the
    persistent hidden states ``h_chain``.

    Parameters
    ----------
    v_pos : {ndarray, sparse matrix} of shape (B, D)
    W : ndarray of shape (H, D); b : (D,); c : (H,)
    rng : Generator or RandomState
    h_chain : ndarray of shape (m, H) or None
        Persistent hidden states (PCD) or None (CD).
    n_steps : int
        The k of CD-k / PCD-k.
    ws : GradientWorkspace or None

    Returns
    -------
    gW, gb, gc : ``B`` times the gradient estimates, i.e. sums over the
        minibatch (views into ``ws`` buffers); the caller scales by lr / B.
    h_next : ndarray of shape (m, H), binary hidden states that continue
        the chain (PCD), or None for CD.
    """
    ws = ws if ws is not None else GradientWorkspace()
    dtype = W.dtype
    B = v_pos.shape[0]
    H, D = W.shape
    m = B if h_chain is None else h_chain.shape[0]
    sparse = hasattr(v_pos, "tocsr")
    fused = not sparse
    # Rows [0, B) hold the positive phase, rows [B, B + m) the negative one, so
    # both gradient terms come out of one matrix product.
    Hs = ws.get("Hs", (B + m, H), dtype)
    # A sparse minibatch is never densified: only the negative rows are dense.
    Vs = ws.get("Vs", (m if sparse else B + m, D), dtype)
    h_pos = Hs[:B]
    hidden_activation(v_pos, W, c, out=h_pos)
    sigmoid_(h_pos)
    h = ws.get("h", (m, H), dtype)
    if h_chain is None:
        sample_bernoulli_(h, h_pos, rng, fast=True)
    else:
        h[...] = h_chain
    v_neg = Vs[-m:]
    h_neg = Hs[B:]
    for step in range(n_steps):
        visible_activation(h, W, b, out=v_neg)
        sigmoid_(v_neg)
        sample_bernoulli_(v_neg, v_neg, rng, fast=True)
        hidden_activation(v_neg, W, c, out=h_neg)
        sigmoid_(h_neg)
        if step < n_steps - 1:
            sample_bernoulli_(h, h_neg, rng, fast=True)
    h_next = None
    if h_chain is not None:
        h_next = sample_bernoulli_(np.empty((m, H), dtype), h_neg, rng, fast=True)

    # Sums rather than means: with m == B the bias statistics stay exact in
    # float32 (digit-like data are multiples of 1/16), as scikit-learn's are.
    neg_scale = dtype.type(B / m)
    gc = ws.get("gc", (H,), dtype)
    np.sum(h_pos, axis=0, out=gc)
    gc -= h_neg.sum(axis=0) * neg_scale
    gb = ws.get("gb", (D,), dtype)
    gb[...] = np.asarray(v_pos.sum(axis=0)).ravel()
    gb -= v_neg.sum(axis=0) * neg_scale

    gW = ws.get("gW", (H, D), dtype)
    h_neg *= -neg_scale
    if fused:
        Vs[:B] = v_pos
        np.matmul(Hs.T, Vs, out=gW)
    else:
        np.matmul(h_neg.T, v_neg, out=gW)
        gW += np.asarray(safe_sparse_dot(v_pos.T, h_pos, dense_output=True)).T
    return gW, gb, gc, h_next
