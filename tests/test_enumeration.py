"""Memory-bounded exact enumeration: chunked results equal brute force."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp

import skebm._partition as part
from skebm._dbn import dbn_log_marginal_exact
from skebm._partition import rbm_log_partition_exact

from .exact import all_states, rbm_log_z


def _layers(sizes, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return [
        (
            scale * rng.standard_normal((h, d)),
            rng.standard_normal(d),
            rng.standard_normal(h),
        )
        for d, h in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def _log_bernoulli(x, a):
    """log p(x | activations a) for every pair: (len(x), len(a))."""
    return x @ a.T - np.logaddexp(0, a).sum(axis=1)


def _brute_log_marginal(X, layers, var=None):
    """-F(x) by the plain formula: a dense sum over every hidden layer at once."""
    *lower, (Wt, bt, ct) = layers
    top_v = all_states(Wt.shape[1])
    top = logsumexp(
        top_v @ Wt.T @ all_states(Wt.shape[0]).T
        + (top_v @ bt)[:, None]
        + (all_states(Wt.shape[0]) @ ct)[None, :],
        axis=1,
    )  # log sum_h exp(-E_top) per state of the top's visible layer
    for k in range(len(lower) - 1, 0, -1):
        W, b, _ = lower[k]
        below = all_states(W.shape[1])
        top = logsumexp(_log_bernoulli(below, all_states(W.shape[0]) @ W + b) + top, 1)
    W, b, _ = lower[0]
    A = all_states(W.shape[0]) @ W + b
    if var is None:
        log_cond = _log_bernoulli(X, A)
    else:
        d = X[:, None, :] - A[None, :, :]
        log_cond = -0.5 * (d * d / var).sum(-1) - 0.5 * np.log(2 * np.pi * var).sum()
    return logsumexp(log_cond + top, axis=1)


@pytest.mark.parametrize("sizes", [(6, 5, 3), (5, 4, 3, 2), (4, 3, 4, 2, 2)])
def test_chunked_exact_free_energy_equals_brute_force(monkeypatch, sizes):
    layers = _layers(sizes, seed=len(sizes))
    X = all_states(sizes[0])[::3]
    whole = dbn_log_marginal_exact(X, layers)
    assert_allclose(whole, _brute_log_marginal(X, layers), rtol=1e-10, atol=1e-10)
    # a budget of a few states a chunk: many state chunks at every level
    monkeypatch.setattr(part, "ENUM_BUDGET_BYTES", 1500)
    one = dbn_log_marginal_exact(X, layers, n_jobs=1)
    two = dbn_log_marginal_exact(X, layers, n_jobs=2)
    assert_allclose(one, whole, rtol=1e-10, atol=1e-10)
    # same chunks whatever n_jobs; a worker's BLAS may round the last bit
    # differently, so not asserted bit-identical
    assert_allclose(two, one, rtol=1e-13, atol=1e-13)


def test_chunked_exact_free_energy_gaussian_first_layer(monkeypatch):
    layers = _layers((5, 4, 3), seed=3, scale=0.5)
    var = np.linspace(0.5, 2.0, 5)
    X = np.random.default_rng(0).standard_normal((7, 5))
    ref = _brute_log_marginal(X, layers, var)
    assert_allclose(dbn_log_marginal_exact(X, layers, var=var), ref, rtol=1e-10)
    monkeypatch.setattr(part, "ENUM_BUDGET_BYTES", 1500)
    assert_allclose(dbn_log_marginal_exact(X, layers, var=var), ref, rtol=1e-10)


def test_chunked_rows_one_state_chunk(monkeypatch):
    # few states, many rows: the rows are chunked instead
    layers = _layers((6, 2, 3), seed=4)
    X = all_states(6)
    whole = dbn_log_marginal_exact(X, layers)
    monkeypatch.setattr(part, "ENUM_BUDGET_BYTES", 4000)
    assert_allclose(dbn_log_marginal_exact(X, layers, n_jobs=2), whole, rtol=1e-12)


def test_exact_log_partition_with_a_tiny_budget(monkeypatch):
    W, b, c = _layers((7, 9), seed=5)[0]
    monkeypatch.setattr(part, "ENUM_BUDGET_BYTES", 1000)
    assert_allclose(rbm_log_partition_exact(W, b, c), rbm_log_z(W, b, c), rtol=1e-12)


def test_exact_free_energy_peak_memory_is_bounded():
    # 17 hidden units over 64 visibles: the unchunked code built the (2**17, 64)
    # activations (67 MB) and a copy of them for one row; the bound, fixed
    # before measuring, is twice the budget.
    layers = _layers((64, 17, 6), seed=6, scale=0.1)
    X = (np.random.default_rng(1).random((3, 64)) < 0.5).astype(float)
    bound = 2 * part.ENUM_BUDGET_BYTES
    assert 2 * 2**17 * 64 * 8 > bound  # what the unchunked code needed
    tracemalloc.start()
    try:
        got = dbn_log_marginal_exact(X, layers, n_jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < bound, peak
    assert np.all(np.isfinite(got))


def test_deep_upper_recursion_beyond_the_cost_limit_is_refused():
    layers = [
        (np.zeros((20, 10)), np.zeros(10), np.zeros(20)),
        (np.zeros((20, 20)), np.zeros(20), np.zeros(20)),
        (np.zeros((3, 20)), np.zeros(20), np.zeros(3)),
    ]
    with pytest.raises(ValueError, match=r"multiply-adds.*score_samples"):
        dbn_log_marginal_exact(np.zeros((1, 10)), layers)
