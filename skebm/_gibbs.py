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
    """Logistic sigmoid of ``x`` in place; returns ``x``.

    float64 uses ``scipy.special.expit``. float32 uses 1 / (1 + exp(-x)) with
    numpy's vectorised exp: measured here 2.7 ns against expit's 7.3 ns per
    value (relative error ~1e-7); exp(-x) overflowing to inf for x < -88 gives
    exactly 0, so that overflow is expected and silenced.
    """
    if x.dtype != np.float32:
        return expit(x, out=x)
    with np.errstate(over="ignore"):
        np.negative(x, out=x)
        np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


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


def sample_bernoulli_(out, p, rng, *, fast=False, scratch=None):
    """Write Bernoulli(p) draws (0.0 or 1.0) into ``out``; return ``out``.

    Parameters
    ----------
    out : ndarray of the shape of ``p``
        Destination; any real or boolean dtype.
    p : ndarray
        Probabilities.
    rng : numpy.random.Generator or numpy.random.RandomState
        Source of randomness.
    scratch : ndarray, optional
        Work buffer with at least ``p.size`` elements of ``p``'s dtype.
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
        if scratch is None:
            t = p * p.dtype.type(65536.0)
        else:
            t = scratch.ravel()[:n].reshape(p.shape)
            np.multiply(p, p.dtype.type(65536.0), out=t)
        # u < p * 2**16  <=>  u / 2**16 < p ; exact for float32 and float64.
        np.less(u, t, out=out)
    else:
        np.less(uniform_like(p, rng), p, out=out)
    return out


_LOGIT_TABLES = {}


def _logit_table(dtype):
    """T[k] = logit(k / 2**16), T[0] = -inf: a > T[k] <=> k < 2**16 sigmoid(a)."""
    table = _LOGIT_TABLES.get(dtype)
    if table is None:
        k = np.arange(65536, dtype=np.float64) / 65536.0
        with np.errstate(divide="ignore"):
            table = (np.log(k) - np.log1p(-k)).astype(dtype)
        _LOGIT_TABLES[dtype] = table
    return table


def sample_bernoulli_logits_(out, a, rng, *, scratch=None):
    """Write Bernoulli(sigmoid(a)) draws into ``out`` from pre-activations ``a``.

    With a ``Generator`` no sigmoid is computed: a 16-bit uniform integer k
    gives v = 1 exactly when a > logit(k / 2**16), read from a 65 536-entry
    table, which is the same event as ``k < 2**16 sigmoid(a)`` in
    :func:`sample_bernoulli_` with ``fast=True`` (same stream, same draws).
    A legacy ``RandomState`` falls back to sigmoid and float uniforms, which
    keeps scikit-learn's stream. ``a`` may be overwritten.
    """
    if not isinstance(rng, np.random.Generator):
        return sample_bernoulli_(out, sigmoid_(a), rng)
    n = a.size
    words = rng.bit_generator.random_raw((n + 3) // 4)
    u = words.view(np.uint16)[:n].reshape(a.shape)
    if scratch is None:
        t = np.empty(a.shape, a.dtype)
    else:
        t = scratch.ravel()[:n].reshape(a.shape)
    np.take(_logit_table(a.dtype), u, out=t)
    np.greater(a, t, out=out)
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
    """Preallocated buffers for :func:`cd_statistics_`, reused across minibatches."""

    def __init__(self):
        self._bufs = {}

    def get(self, name, shape, dtype):
        buf = self._bufs.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._bufs[name] = np.empty(shape, dtype=dtype)
        return buf


def augmented_parameters(W, b, c):
    """Pack an RBM into one (H + 1, D + 1) matrix ``[[W, c], [b, 0]]``.

    With a ones column appended to v and to h, ``[v, 1] @ theta[:H].T`` is
    c + W v and ``[h, 1] @ theta[:, :D]`` is b + W^T h, and the products
    ``[h, 1]^T [v, 1]`` carry the bias statistics in their last row and
    column: biases cost no separate passes in the training loop.
    """
    H, D = W.shape
    theta = np.zeros((H + 1, D + 1), dtype=W.dtype)
    theta[:H, :D] = W
    theta[:H, D] = c
    theta[H, :D] = b
    return theta


def cd_statistics_(
    ws,
    theta,
    v_pos,
    rng,
    *,
    h_chain=None,
    v_chain=None,
    n_steps=1,
    scale=1.0,
    accumulate=False,
    need_h_mean=False,
):
    """CD-k / PCD-k statistics of a Bernoulli RBM in augmented form.

    With B data rows, m chains and r = B / m, the weight and hidden-bias
    statistic is ``G = scale * (sum_pos p(h|v) [v, 1]^T - r sum_neg p(h|v')
    [v', 1]^T)``, shape (H, D + 1) (last column: hidden biases), and the
    visible-bias statistic ``gb = sum_pos v - r sum_neg v'`` is returned
    unscaled, because sums of 0/1 (or k/16) values are exact in float32 and
    stay so (scikit-learn's float32 test relies on it). With ``scale=1``,
    ``G / B`` and ``gb / B`` are the gradient estimates. Positive statistics
    use p(h | v_pos); the negative chain runs ``n_steps`` block-Gibbs steps and
    uses its final binary visibles and hidden *probabilities* (MATH.md). CD
    starts the chain at the data (first hidden state drawn from p(h | v_pos));
    PCD at the persistent binary hidden states ``h_chain``.

    Parameters
    ----------
    ws : GradientWorkspace
    theta : ndarray of shape (H + 1, D + 1)
        Parameters from :func:`augmented_parameters`.
    v_pos : {ndarray, sparse matrix} of shape (B, D)
    rng : Generator or RandomState
    h_chain : ndarray of shape (m, H) or None
    v_chain : ndarray of shape (m, D) or None
        Negative visible states drawn elsewhere (parallel tempering): no chain
        is run here, the statistics use ``v_chain`` and p(h | v_chain).
    n_steps : int
    scale : float
        Factor of the weight and hidden-bias statistic (e.g. lr / B).
    accumulate : bool
        Add ``G`` straight into ``theta[:H]`` inside the matrix product (BLAS
        gemm with beta = 1: measured twice as fast as a product followed by an
        update pass) and return None for it.
    need_h_mean : bool
        Return the mean of p(h | v_pos) (centering, sparsity); else None.

    Returns
    -------
    G : ndarray of shape (H, D + 1) (a workspace buffer), or None.
    gb : ndarray of shape (D,), the unscaled visible-bias statistic.
    h_next : ndarray of shape (m, H) of binary states continuing the chain
        (PCD), or None (CD, or given ``v_chain``).
    h_pos_mean : ndarray of shape (H,), the mean of p(h | v_pos), or None.
    """
    dtype = theta.dtype
    B = v_pos.shape[0]
    H, D = theta.shape[0] - 1, theta.shape[1] - 1
    if v_chain is not None:
        m = v_chain.shape[0]
    else:
        m = B if h_chain is None else h_chain.shape[0]
    sparse = hasattr(v_pos, "tocsr")
    W_t = theta[:H].T  # (D + 1, H): [v, 1] @ W_t = c + W v
    Wv = theta[:, :D]  # (H + 1, D): [h, 1] @ Wv = b + W^T h
    # Rows [0, B) hold the positive phase and rows [B, B + m) the negative one,
    # so the statistics come out of one matrix product. A sparse minibatch is
    # never densified: then only the negative rows exist.
    n_pos = 0 if sparse else B
    Hs = ws.get("Hs", (n_pos + m, H), dtype)
    Vs = ws.get("Vs", (n_pos + m, D + 1), dtype)
    Vs[:, D] = 1.0
    scratch = ws.get("scratch", (m, max(H, D)), dtype)
    pre_v = ws.get("pre_v", (m, D), dtype)  # contiguous: fast element-wise work
    h = ws.get("h", (m, H + 1), dtype)
    h[:, H] = 1.0
    v_neg, h_neg = Vs[n_pos:], Hs[n_pos:]

    def chain_(n):
        # n block-Gibbs steps from the binary hidden states in h; the last
        # step stops at the binary visibles v' (their p(h | v') comes later)
        for step in range(n):
            # v' needs no probabilities, only draws: sampled from pre-activations
            np.matmul(h, Wv, out=pre_v)
            sample_bernoulli_logits_(v_neg[:, :D], pre_v, rng, scratch=scratch)
            if step < n - 1:
                np.matmul(v_neg, W_t, out=h_neg)
                sigmoid_(h_neg)
                sample_bernoulli_(h[:, :H], h_neg, rng, fast=True, scratch=scratch)

    persistent = h_chain is not None or v_chain is not None
    if persistent and not sparse:
        # The negative chain does not depend on the minibatch: run it first,
        # then p(h | v) of data and chains in ONE product, so the weights
        # stream from memory once for both phases (the products of small
        # minibatches are memory-bound).
        if v_chain is not None:
            v_neg[:, :D] = v_chain
        else:
            h[:, :H] = h_chain
            chain_(n_steps)
        Vs[:B, :D] = v_pos
        np.matmul(Vs, W_t, out=Hs)
        sigmoid_(Hs)
        h_pos = Hs[:B]
    else:
        if sparse:
            h_pos = ws.get("h_pos", (B, H), dtype)
            h_pos[...] = safe_sparse_dot(v_pos, theta[:H, :D].T, dense_output=True)
            h_pos += theta[:H, D]
        else:
            h_pos = Hs[:B]
            Vs[:B, :D] = v_pos
            np.matmul(Vs[:B], W_t, out=h_pos)
        sigmoid_(h_pos)
        if v_chain is not None:
            v_neg[:, :D] = v_chain
        else:
            if h_chain is None:
                sample_bernoulli_(h[:, :H], h_pos, rng, fast=True, scratch=scratch)
            else:
                h[:, :H] = h_chain
            chain_(n_steps)
        np.matmul(v_neg, W_t, out=h_neg)
        sigmoid_(h_neg)
    h_pos_mean = h_pos.mean(axis=0) if need_h_mean else None
    h_next = None
    if h_chain is not None and v_chain is None:
        h_next = sample_bernoulli_(
            np.empty((m, H), dtype), h_neg, rng, fast=True, scratch=scratch
        )

    ratio = B / m
    gb = ws.get("gb", (D,), dtype)
    if sparse:
        np.sum(v_neg[:, :D], axis=0, out=gb)
        gb *= dtype.type(-ratio)
        gb += np.asarray(v_pos.sum(axis=0), dtype=dtype).ravel()
    else:
        # one gemv; exact for 0/1 and k/16 data in float32 like the sums
        signs = ws.get("signs", (B + m,), dtype)
        signs[:B] = 1.0
        signs[B:] = -ratio
        np.matmul(signs, Vs[:, :D], out=gb)

    h_neg *= dtype.type(-scale * ratio)
    h_pos *= dtype.type(scale)
    if accumulate:
        # theta[:H]^T (F-contiguous view) += Vs^T Hs, in place in BLAS
        gemm = _gemm(dtype)
        gemm(
            1.0, Vs.T, Hs.T, beta=1.0, c=theta.T[:, :H], trans_b=True, overwrite_c=True
        )
        target = theta[:H]
        G = None
    else:
        G = ws.get("G", (H, D + 1), dtype)
        np.matmul(Hs.T, Vs, out=G)
        target = G
    if sparse:
        target[:, :D] += np.asarray(
            safe_sparse_dot(v_pos.T, h_pos, dense_output=True)
        ).T
        target[:, D] += h_pos.sum(axis=0)
    return G, gb, h_next, h_pos_mean


def _gemm(dtype):
    from scipy.linalg.blas import get_blas_funcs

    return get_blas_funcs("gemm", dtype=dtype)


def rbm_cd_gradient(v_pos, W, b, c, rng, *, h_chain=None, n_steps=1):
    """CD-k / PCD-k gradient estimate of a Bernoulli RBM in plain form.

    Returns ``B`` times the gradient estimates ``(gW, gb, gc)`` (sums over the
    minibatch of size B; the negative statistics are scaled by B / m for m
    chains) and the next persistent hidden states (or None for CD). See
    :func:`cd_statistics_`.
    """
    theta = augmented_parameters(W, b, c)
    G, gb, h_next, _ = cd_statistics_(
        GradientWorkspace(), theta, v_pos, rng, h_chain=h_chain, n_steps=n_steps
    )
    D = W.shape[1]
    return G[:, :D], gb, G[:, D], h_next


def center_statistics_(G, gb, mu, lam, scale):
    """Turn the statistics of :func:`cd_statistics_` into a centered step.

    Centered RBM (Montavon & Mueller 2012; Melchior, Fischer & Wiskott 2016):
    with visible offsets ``mu`` and hidden offsets ``lam`` the weight step is
    ``sum +-(h - lam)(v - mu)^T`` = G_W - lam (s gb)^T - G_c mu^T (the offset
    products cancel between the phases), and the centered biases move by the
    plain bias statistics. Expressed in the standard parameters the model is
    stored in (b = b~ - W^T lam, c = c~ - W mu), the bias steps become
    ``db = s gb - dW^T lam`` and ``dc = G_c - dW mu``.

    Parameters
    ----------
    G : ndarray of shape (H, D + 1), scaled statistics (updated in place into
        the weight and hidden-bias step).
    gb : ndarray of shape (D,), the unscaled visible-bias statistic.
    mu, lam : offsets of shapes (D,) and (H,).
    scale : float, the ``scale`` the statistics were computed with.

    Returns
    -------
    db : ndarray of shape (D,), the visible-bias step.
    """
    D = G.shape[1] - 1
    db = gb * scale
    dc = G[:, D].copy()
    dW = G[:, :D]
    dW -= np.outer(lam, db).astype(G.dtype, copy=False)
    dW -= np.outer(dc, mu).astype(G.dtype, copy=False)
    G[:, D] = dc - dW @ mu
    return (db - dW.T @ lam).astype(G.dtype, copy=False)


def parallel_tempering_step_(v, theta, betas, rng, parity):
    """One parallel-tempering update of replicas of a Bernoulli RBM.

    ``v`` holds ``K = len(betas)`` groups of ``m`` chains, shape (K * m, D);
    group k samples p_k(v, h) ~ exp(-betas[k] E(v, h)) (Desjardins et al.
    2010). Every chain makes one block-Gibbs step at its temperature, then
    neighbouring groups (k, k + 1) with k of the given ``parity`` propose to
    swap states, accepted with probability
    min(1, exp((beta_k - beta_k+1)(E_k - E_k+1))). Updates ``v`` in place.

    Returns
    -------
    acceptance : float, the fraction of proposed swaps accepted.
    """
    K = len(betas)
    m, D = v.shape[0] // K, v.shape[1]
    H = theta.shape[0] - 1
    dtype = theta.dtype
    beta_col = np.repeat(np.asarray(betas, dtype=dtype), m)[:, None]
    a = v @ theta[:H, :D].T
    a += theta[:H, D]
    a *= beta_col
    h = sample_bernoulli_(a, sigmoid_(a), rng)
    pre = h @ theta[:H, :D]
    pre += theta[H, :D]
    p = sigmoid_(pre * beta_col)
    sample_bernoulli_(v, p, rng)
    # E(v, h) = -v.(W^T h + b) - h.c for the pair just drawn
    energy = -(np.einsum("ij,ij->i", v, pre) + h @ theta[:H, D]).reshape(K, m)
    ks = np.arange(parity % 2, K - 1, 2)
    if ks.size == 0:
        return 0.0
    log_ratio = (np.asarray(betas)[ks] - np.asarray(betas)[ks + 1])[:, None] * (
        energy[ks] - energy[ks + 1]
    )
    accept = np.log(rng.random(log_ratio.shape)) < log_ratio
    v3 = v.reshape(K, m, D)
    lo, hi = v3[ks], v3[ks + 1]
    sel = accept[:, :, None]
    v3[ks], v3[ks + 1] = np.where(sel, hi, lo), np.where(sel, lo, hi)
    return float(accept.mean())
