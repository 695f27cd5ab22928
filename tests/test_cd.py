"""The CD/PCD/PT/FPCD orchestrator of skebm._cd: its paths agree."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skebm._cd import GradientWorkspace, cd_statistics_
from skebm._gibbs import augmented_parameters


def _problem(dtype=np.float64, B=6, m=3, H=5, D=7):
    rng = np.random.default_rng(0)
    theta = augmented_parameters(
        rng.normal(0, 0.3, (H, D)).astype(dtype),
        rng.normal(0, 0.3, D).astype(dtype),
        rng.normal(0, 0.3, H).astype(dtype),
    )
    V = (rng.random((B, D)) < 0.4).astype(dtype)
    h_chain = (rng.random((m, H)) < 0.5).astype(dtype)
    return theta, V, h_chain


def _copy(out):
    return [None if x is None else np.array(x, copy=True) for x in out]


@pytest.mark.parametrize("n_steps", [1, 3])
def test_fpcd_with_equal_chain_weights_is_pcd(n_steps):
    # theta_chain takes the unfused path (positive phase first): same draws,
    # same statistics up to rounding of the product grouping
    theta, V, h_chain = _problem()
    kw = dict(h_chain=h_chain, n_steps=n_steps, need_h_mean=True)
    fused = _copy(
        cd_statistics_(GradientWorkspace(), theta, V, np.random.default_rng(1), **kw)
    )
    unfused = _copy(
        cd_statistics_(
            GradientWorkspace(),
            theta,
            V,
            np.random.default_rng(1),
            theta_chain=theta.copy(),
            **kw,
        )
    )
    assert_array_equal(fused[2], unfused[2])  # same chain states
    for a, b in zip(fused, unfused, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["cd", "pcd", "pt"])
def test_sparse_minibatch_matches_dense(mode):
    theta, V, h_chain = _problem()
    kw = {"pcd": dict(h_chain=h_chain), "pt": dict(v_chain=V[:3]), "cd": {}}[mode]
    outs = [
        _copy(
            cd_statistics_(
                GradientWorkspace(),
                theta,
                X,
                np.random.default_rng(2),
                theta_chain=theta.copy(),  # both unfused: same draw order
                **kw,
            )
        )
        for X in (V, sp.csr_matrix(V))
    ]
    for a, b in zip(*outs, strict=True):
        if a is None:
            assert b is None
        else:
            assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_pcd_accepts_its_own_h_next():
    # the returned h_next is a workspace view: passing it back is not copied
    theta, V, h_chain = _problem()
    ws, rng = GradientWorkspace(), np.random.default_rng(3)
    h_next = cd_statistics_(ws, theta, V, rng, h_chain=h_chain)[2]
    again = _copy(cd_statistics_(ws, theta, V, rng, h_chain=h_next))
    ws2, rng2 = GradientWorkspace(), np.random.default_rng(3)
    h2 = np.array(cd_statistics_(ws2, theta, V, rng2, h_chain=h_chain)[2])
    copied = _copy(cd_statistics_(ws2, theta, V, rng2, h_chain=h2))
    for a, b in zip(again, copied, strict=True):
        if a is not None:
            assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1.0, -1.0])
def test_product_matches_matmul_for_every_layout(dtype, alpha):
    # _product_ sends a @ b to scipy's gemm through transposes; every layout
    # the training loop uses (and the fallbacks) must give matmul's numbers
    from skebm._cd import _product_

    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 5)).astype(dtype)
    b = rng.normal(size=(5, 6)).astype(dtype)
    want = alpha * (a.astype(np.float64) @ b.astype(np.float64))
    wide = rng.normal(size=(9, 8)).astype(dtype)
    strided_b = wide[:5, :6]  # neither C- nor F-contiguous: matmul fallback
    big_f = np.empty((10, 6), dtype, order="F")
    cases = {
        "C out": np.empty((7, 6), dtype),
        "F out": np.empty((7, 6), dtype, order="F"),
        "rows of an F array (scratch)": big_f[3:],
    }
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    for name, out in cases.items():
        for aa, bb in [(a, b), (np.asfortranarray(a), b), (a, np.asfortranarray(b))]:
            got = _product_(aa, bb, out, np.empty(out.size, dtype), alpha=alpha)
            assert got is out, name
            assert_allclose(out, want, err_msg=name, **tol)
    out = np.empty((7, 6), dtype)
    wide[:5, :6] = b
    assert_allclose(_product_(a, strided_b, out, alpha=alpha), want, **tol)
    # a strided destination without scratch: matmul's own fallback
    assert_allclose(_product_(a, b, big_f[3:], alpha=alpha), want, **tol)


@pytest.mark.parametrize("copies", [(2, 1), (1, 2)])
def test_tied_copies_match_the_duplicated_rbm_by_enumeration(copies):
    # The doubling trick (a DBM's pretraining RBMs): with two tied visible
    # (or hidden) copies, the chain's statistics of one copy average to the
    # expectations of the RBM with that layer duplicated, enumerated exactly.
    # Tolerance fixed beforehand: 5 standard errors of a mean of m chains
    # (each statistic lies in [0, 1], so its s.e. is at most 0.5 / sqrt(m)).
    import itertools

    vc, hc = copies
    rng = np.random.default_rng(3)
    H, D, m = 2, 3, 40000
    W = rng.normal(0, 0.8, (H, D))
    b, c = rng.normal(0, 0.5, D), rng.normal(0, 0.5, H)
    theta = augmented_parameters(W, b, c)
    # exact: states (v_1..v_vc, h_1..h_hc) of the duplicated model
    EW, Eb, Ec, Z = np.zeros((H, D)), np.zeros(D), np.zeros(H), 0.0
    bits = lambda n: itertools.product([0.0, 1.0], repeat=n)  # noqa: E731
    for vs in itertools.product(bits(D), repeat=vc):
        for hs in itertools.product(bits(H), repeat=hc):
            vs_, hs_ = np.array(vs), np.array(hs)
            e = sum(h @ W @ v for v in vs_ for h in hs_)
            e += sum(b @ v for v in vs_) + sum(c @ h for h in hs_)
            w = np.exp(e)
            Z += w
            EW += w * np.outer(hs_[0], vs_[0])
            Eb += w * vs_[0]
            Ec += w * hs_[0]
    EW, Eb, Ec = EW / Z, Eb / Z, Ec / Z
    # one data row of zeros: the statistics are then exactly known up to the
    # chains' part (scale 1, ratio 1 / m)
    v0 = np.zeros((1, D))
    h0 = (rng.random((m, H)) < 0.5).astype(float) * hc
    G, gb, h_next, _ = cd_statistics_(
        GradientWorkspace(),
        theta,
        v0,
        np.random.default_rng(4),
        h_chain=h0,
        n_steps=40,
        visible_copies=vc,
        hidden_copies=hc,
    )
    tol = 5 * 0.5 / np.sqrt(m)
    p_h0 = 1 / (1 + np.exp(-c))
    assert_allclose(G[:, :D], -EW, atol=tol)
    assert_allclose(G[:, D], p_h0 - Ec, atol=tol)
    assert_allclose(gb, -Eb, atol=tol)
    # the chain carries sums of its hidden copies
    assert set(np.unique(h_next)) <= set(np.arange(hc + 1.0))


def test_tied_copies_refuse_the_modes_they_do_not_support():
    theta, V, h_chain = _problem()
    for kw in (dict(accumulate=True), dict(v_chain=V[:3]), dict(theta_chain=theta)):
        with pytest.raises(ValueError, match="tied copies take neither"):
            cd_statistics_(
                GradientWorkspace(),
                theta.copy(),
                V,
                np.random.default_rng(0),
                visible_copies=2,
                **kw,
            )
