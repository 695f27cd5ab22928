"""CD-k / PCD-k / PT / FPCD statistics of a Bernoulli RBM in augmented form.

:func:`cd_statistics_` is a short orchestrator over one helper per phase:
the positive phase, the negative chain's advance (one function per variant,
dispatched by ``_ADVANCE``), and the accumulation of the statistics in one
matrix product. The unit maths and Bernoulli samplers live in ``_gibbs``.

Every product goes through scipy's BLAS (:func:`_product_`), one library for
the whole loop, so that the thread policy can let that library's pool run two
threads and keep numpy's at one (``_threads.blas_threads_for(work, "scipy")``).
"""

import functools

import numpy as np
from scipy.linalg.blas import get_blas_funcs
from sklearn.utils.extmath import safe_sparse_dot

from ._gibbs import (
    _U16,
    sample_bernoulli_,
    sample_bernoulli_logits_,
    sigmoid_scaled_,
)

__all__ = ["GradientWorkspace", "cd_statistics_"]


class GradientWorkspace:
    """Preallocated buffers for :func:`cd_statistics_`, reused across minibatches."""

    def __init__(self):
        self._bufs = {}

    def get(self, name, shape, dtype):
        buf = self._bufs.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._bufs[name] = np.empty(shape, dtype=dtype)
        return buf

    def cd_buffers(self, n_pos, m, H, D, dtype, num_pos, num_neg):
        """The arrays of :func:`cd_statistics_` for one set of shapes.

        Their constant columns are written once, at creation: one dictionary
        lookup per minibatch instead of a dozen allocations checks and
        writes (the Python overhead of a minibatch is a visible share of its
        time at the sizes the speed targets are set for). A full and a short
        last minibatch keep one set each.
        """
        key = (n_pos, m, H, D, np.dtype(dtype), num_pos, num_neg)
        bufs = self._bufs.get(key)
        if bufs is None:
            bufs = self._bufs[key] = _CDBuffers(n_pos, m, H, D, dtype, num_pos, num_neg)
        return bufs


class _CDBuffers:
    """Work arrays of :func:`cd_statistics_` with their constant columns set.

    ``Hs_full`` (n_pos + m, H + 1): hidden probabilities times the numerator
    of their phase, then the numerator itself as last column; ``Vs``
    (n_pos + m, D + 1): visible rows and a ones column; ``h`` (m, H + 1): the
    chains' binary hidden states and a ones column; ``pre_v_full`` (m, D + 1):
    visible pre-activations of the chains in its first D columns (a product
    with the whole augmented matrix, contiguous); ``prod`` a contiguous
    landing place for products whose destination is a strided block.
    ``Hs_full`` is column-major, so that its first H columns (what the
    sigmoid passes touch) are one contiguous block: measured 30 % faster
    sigmoids than on a row-major block with a row stride of H + 1.
    """

    def __init__(self, n_pos, m, H, D, dtype, num_pos, num_neg):
        self.Hs_full = np.empty((n_pos + m, H + 1), dtype, order="F")
        self.Hs_full[:n_pos, H] = num_pos
        self.Hs_full[n_pos:, H] = num_neg
        self.Hs = self.Hs_full[:, :H]
        self.numerators = self.Hs_full[:, H:]
        self.Vs = np.empty((n_pos + m, D + 1), dtype)
        self.Vs[:, D] = 1.0
        # column-major like Hs_full: the chains' hidden draws then stream
        # their probabilities, uniforms and states in one order
        self.h = np.empty((m, H + 1), dtype, order="F")
        self.h[:, H] = 1.0
        self.h_states = self.h[:, :H]
        self.pre_v_full = np.empty((m, D + 1), dtype)
        self.prod = np.empty(max(n_pos, m) * H, dtype)
        self.v_neg = self.Vs[n_pos:]
        self.v_neg_states = self.v_neg[:, :D]
        self.h_neg = self.Hs[n_pos:]
        self.scratch = np.empty((m, H), dtype)  # CD's first hidden draw
        self.p32 = None if dtype == np.float32 else np.empty((m, D + 1), np.float32)


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
    decay=None,
    need_h_mean=False,
    theta_chain=None,
    visible_copies=1,
    hidden_copies=1,
):
    """CD-k / PCD-k statistics of a Bernoulli RBM in augmented form.

    With B data rows, m chains and r = B / m, the weight and hidden-bias
    statistic is ``G = scale * (sum_pos p(h|v) [v, 1]^T - r sum_neg p(h|v')
    [v', 1]^T)``, shape (H, D + 1) (last column: hidden biases), and the
    visible-bias statistic is ``gb = sum_pos v - r sum_neg v'`` (returned
    without ``scale``). With ``scale=1``, ``G / B`` and ``gb / B`` are the
    gradient estimates. Positive statistics use p(h | v_pos); the negative
    chain runs ``n_steps`` block-Gibbs steps and uses its final binary
    visibles and hidden *probabilities* (MATH.md). CD starts the chain at the
    data (first hidden state drawn from p(h | v_pos)); PCD at the persistent
    binary hidden states ``h_chain``.

    All statistics, visible biases included, come out of one matrix product
    ``Hs^T Vs``: ``Hs`` holds the hidden probabilities of the data rows and
    of the chains plus a constant column, ``Vs`` the visible rows plus a ones
    column. The probabilities are stored times a per-phase numerator (2**16
    for the chains, so their hidden states are drawn by one comparison with
    16-bit integers; -2**16 / r for the data) and the product's alpha turns
    the numerators into ``scale`` and ``-scale * r``: no separate passes for
    the step size, the signs or the bias sums.

    Parameters
    ----------
    ws : GradientWorkspace
    theta : ndarray of shape (H + 1, D + 1)
        Parameters from :func:`augmented_parameters`.
    v_pos : {ndarray, sparse matrix} of shape (B, D)
    rng : Generator or RandomState
    h_chain : ndarray of shape (m, H) or None
        Persistent binary hidden states (PCD). May be the ``h_next`` this
        function returned on the previous call (then it is not copied).
    v_chain : ndarray of shape (m, D) or None
        Negative visible states drawn elsewhere (parallel tempering): no chain
        is run here, the statistics use ``v_chain`` and p(h | v_chain).
    n_steps : int
    scale : float
        Non-zero factor of the statistics (e.g. lr / B).
    accumulate : bool
        Add the scaled statistics (weights, hidden and visible biases)
        straight into ``theta`` inside the matrix product (BLAS gemm with
        beta = 1: measured twice as fast as a product followed by an update
        pass) and return None for ``G`` and ``gb``.
    decay : float, optional
        With ``accumulate``: multiply the weights (not the biases) by this
        factor after the statistics are computed and before the step is added,
        i.e. ``W <- decay * W + step`` with the gradient taken at the old W
        (weight decay in the order the other update paths use).
    need_h_mean : bool
        Return the mean of p(h | v_pos) (centering, sparsity); else None.
    theta_chain : ndarray of the shape of ``theta``, optional
        Parameters the negative chain runs with, and its hidden probabilities
        are computed with (fast-weights PCD: regular plus fast weights);
        default ``theta``.
    visible_copies, hidden_copies : {1, 2}
        Tied duplicated units (the doubling trick of Salakhutdinov & Hinton
        2009, for a DBM's pretraining RBMs): with two visible copies p(h | v)
        = sigmoid(c + 2 W v), with two hidden copies p(v | h) = sigmoid(b +
        2 W^T h). The chain draws each copy independently and carries their
        *sum* (so the products need no scaling: [sum, 1] @ theta is the
        doubled input), the data rows are doubled likewise, and the returned
        statistics are those of one copy (the tied gradient is a constant
        multiple). Not with ``accumulate``, ``v_chain`` or ``theta_chain``;
        ``h_next`` then holds sums of copies. A sparse minibatch is densified
        (one minibatch at a time).

    Returns
    -------
    G : ndarray of shape (H, D + 1) (a workspace buffer), or None.
    gb : ndarray of shape (D,), the visible-bias statistic without ``scale``,
        or None.
    h_next : ndarray of shape (m, H) of binary states continuing the chain
        (PCD; a view of a workspace buffer, overwritten by the next call), or
        None (CD, or given ``v_chain``).
    h_pos_mean : ndarray of shape (H,), the mean of p(h | v_pos), or None.
    """
    dtype = theta.dtype
    B = v_pos.shape[0]
    H, D = theta.shape[0] - 1, theta.shape[1] - 1
    if v_chain is not None:
        m = v_chain.shape[0]
    else:
        m = B if h_chain is None else h_chain.shape[0]
    copies = (visible_copies, hidden_copies) != (1, 1)
    if copies and (accumulate or v_chain is not None or theta_chain is not None):
        raise ValueError("tied copies take neither accumulate, v_chain nor theta_chain")
    if copies and hasattr(v_pos, "tocsr"):
        v_pos = v_pos.toarray()
    sparse = hasattr(v_pos, "tocsr")
    ratio = B / m
    num_pos = -_U16 / ratio
    # Rows [0, B) hold the positive phase and rows [B, B + m) the negative one,
    # so the statistics come out of one matrix product. A sparse minibatch is
    # never densified: then only the negative rows exist.
    n_pos = 0 if sparse else B
    bufs = ws.cd_buffers(n_pos, m, H, D, dtype, num_pos, _U16)
    bufs.copies = (visible_copies, hidden_copies)
    chain = theta if theta_chain is None else theta_chain
    mode = "pt" if v_chain is not None else "cd" if h_chain is None else "pcd"
    advance_ = _ADVANCE[mode]
    args = (bufs, chain, h_chain, v_chain, n_steps, rng)
    if mode != "cd" and not sparse and theta_chain is None:
        h_pos = _fused_phases_(bufs, theta, v_pos, advance_, args)
        pos_unit = num_pos
    else:
        h_pos, pos_unit = _positive_phase_(ws, bufs, theta, v_pos, scale, num_pos)
        advance_(*args, h_pos=h_pos, pos_unit=pos_unit)
        _negative_hiddens_(bufs, chain)
    h_pos_mean = None
    if need_h_mean:
        h_pos_mean = h_pos.mean(axis=0)
        h_pos_mean *= dtype.type(1.0 / pos_unit)
    h_next = None
    if mode == "pcd":
        # the chain buffer is free now: the next call starts from it
        h_next = _draw_hidden_(bufs, bufs.h_neg, rng, _U16)
    G, gb = _statistics_(ws, bufs, theta, v_pos, h_pos, scale, ratio, accumulate, decay)
    if visible_copies != 1:
        # the data and chain rows held sums of copies: one copy's statistics
        k = dtype.type(1.0 / visible_copies)
        G[:, :D] *= k
        gb *= k
    return G, gb, h_next, h_pos_mean


def _draw_hidden_(bufs, p, rng, unit, scratch=None):
    """The chains' hidden states from probabilities ``p`` (times ``unit``):
    binary, or with two hidden copies the sum of two independent draws."""
    out = sample_bernoulli_(
        bufs.h_states, p, rng, fast=True, scratch=scratch, unit=unit, order="F"
    )
    for _ in range(bufs.copies[1] - 1):
        extra = getattr(bufs, "h_extra", None)
        if extra is None:
            extra = bufs.h_extra = np.empty(bufs.h_states.shape, p.dtype, order="F")
        out += sample_bernoulli_(
            extra, p, rng, fast=True, scratch=scratch, unit=unit, order="F"
        )
    return out


def _gibbs_chain_(bufs, chain, n, rng):
    """``n`` block-Gibbs steps from the binary hidden states in ``bufs.h``.

    The last step stops at the binary visibles v' (their p(h | v') comes
    later). ``chain`` is the (H + 1, D + 1) augmented matrix the chain runs
    with.
    """
    H = chain.shape[0] - 1
    Wc_t = chain[:H].T
    for step in range(n):
        # v' needs no probabilities, only draws: sampled from pre-activations
        # ([h, 1] @ chain = [b + W^T h, h.c]; the last column is not used)
        # (negated: the sigmoids start from -x; see _product_)
        _product_(bufs.h, chain, bufs.pre_v_full, alpha=-1.0)
        sample_bernoulli_logits_(
            bufs.v_neg_states,
            bufs.pre_v_full,
            rng,
            scratch=bufs.p32,
            negated=True,
            copies=bufs.copies[0],
        )
        if step < n - 1:
            _product_(bufs.v_neg, Wc_t, bufs.h_neg, bufs.prod, alpha=-1.0)
            sigmoid_scaled_(bufs.h_neg, _U16, negated=True)
            _draw_hidden_(bufs, bufs.h_neg, rng, _U16)


def _advance_cd_(bufs, chain, h_chain, v_chain, n_steps, rng, *, h_pos, pos_unit):
    """CD: the chain starts at the data, h drawn from p(h | v_pos)."""
    _draw_hidden_(bufs, h_pos, rng, pos_unit, scratch=bufs.scratch)
    _gibbs_chain_(bufs, chain, n_steps, rng)


def _advance_pcd_(bufs, chain, h_chain, v_chain, n_steps, rng, **_):
    """PCD / FPCD: the chain continues from the persistent hidden states."""
    if not np.may_share_memory(h_chain, bufs.h):
        bufs.h_states[...] = h_chain
    _gibbs_chain_(bufs, chain, n_steps, rng)


def _advance_pt_(bufs, chain, h_chain, v_chain, n_steps, rng, **_):
    """Parallel tempering: the negative visibles were drawn elsewhere."""
    bufs.v_neg_states[...] = v_chain


# the negative phase of each variant, dispatched in one place
_ADVANCE = {"cd": _advance_cd_, "pcd": _advance_pcd_, "pt": _advance_pt_}


def _fused_phases_(bufs, theta, v_pos, advance_, args):
    """Persistent chain first, then p(h | v) of data and chains in ONE product.

    The negative chain does not depend on the minibatch, so the weights
    stream from memory once for both phases (the products of small
    minibatches are memory-bound). Returns the positive hidden rows (times
    their numerator).
    """
    H = theta.shape[0] - 1
    B, D = v_pos.shape
    advance_(*args, h_pos=None, pos_unit=None)
    _data_rows_(bufs, v_pos)
    _product_(bufs.Vs, theta[:H].T, bufs.Hs, alpha=-1.0)
    # both phases at once, each row times the numerator of its phase
    sigmoid_scaled_(bufs.Hs, bufs.numerators, negated=True)
    return bufs.Hs[:B]


def _data_rows_(bufs, v_pos):
    """The minibatch into the data rows of ``Vs`` (times the visible copies)."""
    B, D = v_pos.shape
    if bufs.copies[0] == 1:
        bufs.Vs[:B, :D] = v_pos
    else:
        np.multiply(v_pos, bufs.copies[0], out=bufs.Vs[:B, :D], casting="unsafe")


def _positive_phase_(ws, bufs, theta, v_pos, scale, num_pos):
    """p(h | v_pos) times its numerator; returns the rows and the numerator.

    A sparse minibatch gets its own buffer, scaled by ``scale`` for the
    sparse product in :func:`_statistics_`.
    """
    H, D = theta.shape[0] - 1, theta.shape[1] - 1
    B = v_pos.shape[0]
    if hasattr(v_pos, "tocsr"):
        h_pos = ws.get("h_pos", (B, H), theta.dtype)
        h_pos[...] = safe_sparse_dot(v_pos, theta[:H, :D].T, dense_output=True)
        h_pos += theta[:H, D]
        np.negative(h_pos, out=h_pos)
        pos_unit = scale
    else:
        h_pos = bufs.Hs[:B]
        _data_rows_(bufs, v_pos)
        _product_(bufs.Vs[:B], theta[:H].T, h_pos, bufs.prod, alpha=-1.0)
        pos_unit = num_pos
    sigmoid_scaled_(h_pos, pos_unit, negated=True)
    return h_pos, pos_unit


def _negative_hiddens_(bufs, chain):
    """p(h | v') of the chains' final visibles, times 2**16."""
    H = chain.shape[0] - 1
    _product_(bufs.v_neg, chain[:H].T, bufs.h_neg, bufs.prod, alpha=-1.0)
    sigmoid_scaled_(bufs.h_neg, _U16, negated=True)


def _statistics_(ws, bufs, theta, v_pos, h_pos, scale, ratio, accumulate, decay):
    """``Hs^T Vs`` into a buffer (returned as ``G, gb``) or into ``theta``.

    target^T (an F-contiguous view) = alpha Vs^T Hs_full + beta target^T, in
    place in BLAS; beta = 1 adds the step straight into theta.
    """
    dtype = theta.dtype
    H, D = theta.shape[0] - 1, theta.shape[1] - 1
    alpha = -scale * ratio / _U16  # alpha * num_pos = scale, alpha * num_neg = -scale r
    target = theta if accumulate else ws.get("G", (H + 1, D + 1), dtype)
    if accumulate and decay is not None:
        theta[:H, :D] *= dtype.type(decay)
    _gemm(dtype)(
        alpha,
        bufs.Vs.T,
        bufs.Hs_full,
        beta=1.0 if accumulate else 0.0,
        c=target.T,
        overwrite_c=True,
    )
    if hasattr(v_pos, "tocsr"):
        target[:H, :D] += np.asarray(
            safe_sparse_dot(v_pos.T, h_pos, dense_output=True)
        ).T
        target[:H, D] += h_pos.sum(axis=0)
        target[H, :D] += (
            dtype.type(scale) * np.asarray(v_pos.sum(axis=0), dtype=dtype).ravel()
        )
    target[H, D] = 0.0  # the corner is no parameter
    if accumulate:
        return None, None
    gb = target[H, :D] * dtype.type(1.0 / scale)
    return target[:H], gb


def _product_(a, b, out, scratch=None, alpha=1.0):
    """``out = alpha * (a @ b)`` in scipy's BLAS; returns ``out``.

    ``alpha=-1`` hands the sigmoids their negated arguments, which saves
    them a pass.

    scipy's ``gemm`` takes contiguous (C or Fortran) operands only, so the
    operands are passed as their Fortran-contiguous transposes where that is
    what they are, and a strided ``out`` (a block of rows of a column-major
    buffer) gets the product in ``scratch`` (a flat buffer of at least
    ``out.size`` elements) and then a copy. Anything else falls back to
    numpy's ``matmul``. Unlike ``matmul``, scipy's wrapper holds the GIL
    during the call: fits run on Python threads of one process take turns
    in their products (joblib's default, process-based backend is not
    affected).
    """
    if out.flags.f_contiguous:
        A, B, C = a, b, out
    elif out.flags.c_contiguous:
        A, B, C = b.T, a.T, out.T  # out^T = b^T a^T, in Fortran order
    elif scratch is not None:
        tmp = scratch[: out.size].reshape(out.shape, order="F")
        out[...] = _product_(a, b, tmp, alpha=alpha)
        return out
    else:
        return _numpy_product_(a, b, out, alpha)
    ops = []
    for x in (A, B):
        if x.dtype != C.dtype:
            return _numpy_product_(a, b, out, alpha)
        if x.flags.f_contiguous:
            ops.append((x, 0))
        elif x.flags.c_contiguous:
            ops.append((x.T, 1))
        else:
            return _numpy_product_(a, b, out, alpha)
    (A, ta), (B, tb) = ops
    _gemm(C.dtype)(alpha, A, B, trans_a=ta, trans_b=tb, c=C, overwrite_c=True)
    return out


def _numpy_product_(a, b, out, alpha):
    np.matmul(a, b, out=out)
    if alpha != 1.0:
        out *= out.dtype.type(alpha)
    return out


@functools.cache
def _gemm(dtype):
    # looked up once per dtype: the lookup cost ~30 us, once per minibatch
    return get_blas_funcs("gemm", dtype=np.dtype(dtype))
