"""Pure functions for Bernoulli units: activations, sampling, Gibbs steps.

Every function takes arrays and an explicit random generator and never seeds
itself. Functions whose name ends in ``_`` write into their first argument.
"""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

__all__ = [
    "bernoulli_draw",
    "log_sigmoid",
    "sample_bernoulli_",
    "sigmoid_scaled_",
    "sigmoid_",
    "softplus",
    "softplus_",
    "uniform_like",
]


def sigmoid_(x):
    """Logistic sigmoid of ``x`` in place; returns ``x``.

    Floating arrays (float32, float64) use 1 / (1 + exp(-x)) with numpy's
    vectorised exp: measured 2.7 ns against ``scipy.special.expit``'s 7.3 ns
    per float32 value (relative error ~1e-7), and 1.3 ns against 3.7 ns per
    float64 value (relative error ~3e-16). exp(-x) overflowing to inf (x < -88
    in float32, x < -709 in float64) gives exactly 0, where the true value
    is below the smallest normal number, so that overflow is expected and
    silenced. Other dtypes go through ``expit``.
    """
    if x.dtype not in (np.float32, np.float64):
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


def sample_bernoulli_(out, p, rng, *, fast=False, scratch=None, unit=1.0, order="C"):
    """Write Bernoulli(p) draws (0.0 or 1.0) into ``out``; return ``out``.

    Parameters
    ----------
    out : ndarray of the shape of ``p``
        Destination; any real or boolean dtype.
    p : ndarray
        Probabilities, times ``unit``.
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
    unit : float, default=1.0
        ``p`` holds probabilities multiplied by ``unit`` (non-zero, may be
        negative): the training loop folds its step size into the sigmoid. With
        ``fast`` and ``unit=65536`` the draws need no multiplication at all.
    order : {"C", "F"}, default="C"
        With ``fast``: the order in which the uniforms of the stream go to
        the entries of ``p`` (row by row, or column by column), whatever
        ``p``'s memory layout. The training loop's hidden units live in
        column-major buffers and use "F": the comparison then streams
        ``p``, the uniforms and the states in one order (measured twice as
        fast as mixing the two layouts).
    """
    if fast and isinstance(rng, np.random.Generator):
        n = p.size
        words = rng.bit_generator.random_raw((n + 3) // 4)
        u = words.view(np.uint16)[:n].reshape(p.shape, order=order)
        if unit == _U16:
            t = p
        else:
            buf = None
            if scratch is not None:
                buf = scratch.ravel()[:n].reshape(p.shape, order=order)
            # u < p * 2**16  <=>  u / 2**16 < p ; exact for float32 and float64.
            t = np.multiply(p, p.dtype.type(_U16 / unit), out=buf)
        np.less(u, t, out=out)
    else:
        if unit != 1.0:
            p = p / p.dtype.type(unit)
        np.less(uniform_like(p, rng), p, out=out)
    return out


def sigmoid_scaled_(x, numerator, *, negated=False):
    """``x <- numerator * sigmoid(x)`` in place, in one pass more than exp.

    The numerator rides on the final division (no extra pass): the training
    loop uses it to fold the step size and the sampling threshold 2**16 into
    the hidden probabilities. Exact scaling when ``numerator`` is a power of 2.
    ``numerator`` is a number or an array that broadcasts against ``x`` (e.g.
    one value per row, of ``x``'s dtype). With ``negated=True``, ``x`` holds
    the negated arguments (-x) on entry, which saves a pass.
    """
    with np.errstate(over="ignore"):
        if not negated:
            np.negative(x, out=x)
        np.exp(x, out=x)
    x += 1.0
    if not isinstance(numerator, np.ndarray):
        numerator = x.dtype.type(numerator)
    return np.divide(numerator, x, out=x)


_U16 = 65536.0


def sample_bernoulli_logits_(out, a, rng, *, scratch=None, negated=False, copies=1):
    """Write Bernoulli(sigmoid(a)) draws into ``out`` from pre-activations ``a``.

    With a ``Generator``: a 16-bit uniform integer k per unit gives v = 1
    exactly when ``k < 2**16 sigmoid(a)`` (as :func:`sample_bernoulli_` with
    ``fast=True``), the sigmoid computed in single precision whatever the dtype
    of ``a``: its relative error (~1e-7) is far below the 1/65536 resolution
    of the draw, and single-precision ``exp`` is about four times faster than
    double here (measured: 1.7 against 6 ns per value). Used by the training
    loop for the negative visibles, which need draws only. A legacy
    ``RandomState`` falls back to ``sigmoid_`` and float uniforms, which keeps
    scikit-learn's stream. ``a`` may be overwritten.

    Parameters
    ----------
    out : ndarray of shape (n, d)
    a : ndarray of float32 or float64, of shape (n, d) or (n, d + k)
        Pre-activations; only the first d columns are drawn from. A wider,
        contiguous ``a`` (a product's whole output) keeps the element-wise
        passes contiguous: measured twice as fast as on a strided column
        block.
    rng : numpy.random.Generator or numpy.random.RandomState
    scratch : ndarray of float32, optional
        At least ``a.size`` elements; used when ``a`` is not float32.
    negated : bool, default=False
        ``a`` holds the negated pre-activations (-a): one pass fewer.
    copies : int, default=1
        With a ``Generator``: write the sum of this many independent draws
        (tied duplicated units; see ``_cd.cd_statistics_``).
    """
    cols = out.shape[-1]
    if not isinstance(rng, np.random.Generator):
        a = a[..., :cols]
        p = sigmoid_(-a if negated else a)
        sample_bernoulli_(out, p, rng)
        for _ in range(copies - 1):
            out += sample_bernoulli_(np.empty_like(out), p, rng)
        return out
    n = out.size
    words = rng.bit_generator.random_raw((n + 3) // 4)
    u = words.view(np.uint16)[:n].reshape(out.shape)
    if a.dtype == np.float32:
        p = a
    elif scratch is None:
        p = np.empty(a.shape, np.float32)
    else:
        p = scratch.ravel()[: a.size].reshape(a.shape)
    # exp(-a) overflowing (and |a| beyond float32 range in the cast) gives
    # p = 0 or 2**16: never or always drawn, which is the right limit
    with np.errstate(over="ignore"):
        if not negated:
            np.negative(a, out=p, casting="same_kind")
            np.exp(p, out=p)
        elif p is a:
            np.exp(p, out=p)
        else:
            # cast first: single-precision exp is the fast one
            np.copyto(p, a, casting="same_kind")
            np.exp(p, out=p)
    p += np.float32(1.0)
    np.divide(np.float32(_U16), p, out=p)
    np.less(u, p[..., :cols], out=out)
    for _ in range(copies - 1):
        words = rng.bit_generator.random_raw((n + 3) // 4)
        u = words.view(np.uint16)[:n].reshape(out.shape)
        out += np.less(u, p[..., :cols])
    return out


def bernoulli_draw(X, rng, *, out=None):
    """A binary draw of ``X``: each value x in [0, 1] becomes 1 with probability x.

    Used for dynamic binarization (a new binary version of grey-level training
    data every time it is seen). Dense and sparse ``X`` consume the same random
    numbers, one per entry of the dense shape, so the same generator gives the
    same draws for both; a sparse ``X`` stays sparse (only its stored entries
    are compared) and is not modified. With a ``Generator`` the draws use
    16-bit uniform integers (each probability resolved to 1/65536, as in
    :func:`sample_bernoulli_` with ``fast=True``); a legacy ``RandomState``
    uses float uniforms.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Probabilities in [0, 1].
    rng : numpy.random.Generator or numpy.random.RandomState
    out : ndarray of the shape and dtype of ``X``, optional
        Destination for dense ``X``.

    Returns
    -------
    ndarray or CSR matrix of 0.0 / 1.0 in the dtype of ``X``.
    """
    n_rows, n_cols = X.shape
    n = n_rows * n_cols
    if isinstance(rng, np.random.Generator):
        u = rng.bit_generator.random_raw((n + 3) // 4).view(np.uint16)[:n]
        scale = X.dtype.type(_U16)  # u < x 2**16  <=>  u / 2**16 < x, exactly
    else:
        u = rng.uniform(size=n)
        scale = 1.0
    if hasattr(X, "tocsr"):
        X = X.tocsr(copy=True)
        rows = np.repeat(np.arange(n_rows, dtype=np.intp), np.diff(X.indptr))
        drawn = u[rows * n_cols + X.indices] < X.data * scale
        X.data = drawn.astype(X.dtype)
        X.eliminate_zeros()
        return X
    if out is None:
        out = np.empty(X.shape, X.dtype)
    np.multiply(X, scale, out=out)
    return np.less(u.reshape(X.shape), out, out=out)


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


def rbm_cd_gradient(v_pos, W, b, c, rng, *, h_chain=None, n_steps=1):
    """CD-k / PCD-k gradient estimate of a Bernoulli RBM in plain form.

    Returns ``B`` times the gradient estimates ``(gW, gb, gc)`` (sums over the
    minibatch of size B; the negative statistics are scaled by B / m for m
    chains) and the next persistent hidden states (or None for CD). See
    :func:`cd_statistics_`.
    """
    from ._cd import GradientWorkspace, cd_statistics_  # _cd imports this module

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
    db = (gb * scale).astype(G.dtype, copy=False)
    steps = [db, G[:, D]]  # visible and hidden statistics; G[:, D] a view
    center_layer_statistics_([G[:, :D]], steps, [mu, lam])
    return steps[0]


def center_layer_statistics_(gWs, gbs, offsets):
    """Turn a layered model's statistics into a centered step, in place.

    The one centering of the library: a DBM's layers, and an RBM as the
    one-weight case (:func:`center_statistics_`).

    With offsets mu^l subtracted from every layer's states (centered DBM:
    Montavon & Mueller 2012, Melchior et al. 2016) the weight statistic of
    W^l is sum +-(x^l - mu^l)(x^{l-1} - mu^{l-1})^T = G^l - mu^l g^{l-1 T}
    - g^l mu^{l-1 T} (G^l, g^l the plain statistics; the offset products
    cancel because both phases are weighted to the same total), and the
    centered biases move by the plain g^l. In the standard parameters the
    model is stored in, b^l = b~^l - W^l mu^{l-1} - W^{l+1 T} mu^{l+1}, so
    the bias steps become g^l - dW^l mu^{l-1} - dW^{l+1 T} mu^{l+1}.

    Parameters
    ----------
    gWs : list of ndarray, the weight statistics G^1..G^L, shapes
        (n_l, n_{l-1}); replaced in place by the centered ones.
    gbs : list of ndarray, the bias statistics g^0..g^L; replaced in place
        by the bias steps in the standard parametrisation.
    offsets : list of ndarray, mu^0..mu^L.
    """
    plain = [g.copy() for g in gbs]
    for k, gW in enumerate(gWs, start=1):
        # both rank-one corrections in one product
        gW -= np.column_stack([offsets[k], plain[k]]) @ np.vstack(
            [plain[k - 1], offsets[k - 1]]
        )
    for k, gW in enumerate(gWs, start=1):
        gbs[k] -= gW @ offsets[k - 1]
        gbs[k - 1] -= gW.T @ offsets[k]


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


def sparsity_step_(bias, q, mean, target, cost, lr):
    """One sparsity-penalty step (Lee, Ekanadham & Ng 2008), in place on ``bias``.

    ``q`` is the moving average (0.9) of the hidden units' mean activity, None
    before the first step; ``mean`` this minibatch's (a fresh array: it may
    become the average). The biases move by ``lr * cost * (target - q)``.
    Returns the new average.
    """
    q = mean if q is None else 0.9 * q + 0.1 * mean
    bias += lr * cost * (target - q)
    return q
