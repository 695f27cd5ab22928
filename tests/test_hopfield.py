"""Hopfield network: storage rules, recall dynamics, energy, API."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

from skebm._hopfield import (
    HopfieldNetwork,
    async_sweep_,
    hebbian_update,
    hopfield_energy,
    projection_update,
    storkey_update,
    sync_step_,
)

RULES = ["hebbian", "storkey", "pseudo_inverse"]


def random_patterns(n, D, seed):
    return (np.random.default_rng(seed).random((n, D)) < 0.5).astype(float)


def corrupt(P, fraction, seed, copies=1):
    """``copies`` probes per pattern, each with round(fraction * D) bits flipped."""
    rng = np.random.default_rng(seed)
    probes = np.repeat(P, copies, axis=0)
    k = round(fraction * P.shape[1])
    for row in probes:
        idx = rng.choice(P.shape[1], k, replace=False)
        row[idx] = 1 - row[idx]
    return probes


# ------------------------------------------------------------------- storage
def test_hebbian_rule_formula():
    P = random_patterns(4, 9, 0)
    x = 2 * P - 1
    net = HopfieldNetwork().fit(P)
    W = x.T @ x / 9
    np.fill_diagonal(W, 0)
    assert_allclose(net.coef_, W)
    assert_array_equal(net.intercept_, 0)
    assert net.n_patterns_ == 4


def test_storkey_rule_matches_its_definition():
    # w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / D, h_ij = sum_{k != i,j} w_ik xi_k
    x = 2 * random_patterns(5, 7, 1) - 1
    D = 7
    W_ref = np.zeros((D, D))
    for xi in x:
        h = np.array(
            [
                [
                    sum(W_ref[i, k] * xi[k] for k in range(D) if k not in (i, j))
                    for j in range(D)
                ]
                for i in range(D)
            ]
        )
        W_ref = W_ref + (np.outer(xi, xi) - xi[:, None] * h.T - h * xi[None, :]) / D
        np.fill_diagonal(W_ref, 0)
    assert_allclose(storkey_update(np.zeros((D, D)), x), W_ref, atol=1e-12)


def test_projection_rule_is_the_pseudo_inverse_projector():
    x = 2 * random_patterns(6, 20, 2) - 1
    P = projection_update(np.zeros((20, 20)), x)
    assert_allclose(P, x.T @ np.linalg.pinv(x.T), atol=1e-10)
    # A pattern already in the span changes nothing.
    assert_allclose(projection_update(P.copy(), x[:2]), P, atol=1e-12)


@pytest.mark.parametrize("rule", RULES)
def test_couplings_are_symmetric_with_zero_diagonal(rule):
    net = HopfieldNetwork(rule).fit(random_patterns(8, 30, 3))
    assert_allclose(net.coef_, net.coef_.T, atol=1e-12)
    assert_array_equal(np.diag(net.coef_), 0)


@pytest.mark.parametrize("rule", RULES)
def test_fit_equals_repeated_partial_fit(rule):
    P = random_patterns(7, 25, 4)
    a = HopfieldNetwork(rule).fit(P)
    b = HopfieldNetwork(rule)
    for chunk in (P[:3], P[3:4], P[4:]):
        assert b.partial_fit(chunk) is b
    assert_allclose(a.coef_, b.coef_, atol=1e-12)
    assert b.n_patterns_ == 7
    # fit forgets what was stored before.
    assert_allclose(b.fit(P[:2]).coef_, HopfieldNetwork(rule).fit(P[:2]).coef_)


def test_hebbian_weights_do_not_depend_on_pattern_order():
    P = random_patterns(5, 12, 5)
    W = hebbian_update(np.zeros((12, 12)), 2 * P - 1)
    W2 = hebbian_update(np.zeros((12, 12)), 2 * P[::-1] - 1)
    assert_allclose(W, W2)


# -------------------------------------------------------------------- recall
@pytest.mark.parametrize("rule", RULES)
def test_recall_from_ten_percent_noise(rule):
    # The acceptance test: N = 100 units, 5 random patterns (load
    # 0.05, far below the Hebbian capacity 0.14 N), 10 bits flipped.
    P = random_patterns(5, 100, 6)
    net = HopfieldNetwork(rule, random_state=0).fit(P)
    probes = corrupt(P, 0.10, seed=7, copies=40)
    recalled, info = net.recall(probes, return_info=True)
    success = np.all(recalled == np.repeat(P, 40, axis=0), axis=1)
    assert success.mean() >= 0.95
    assert info["converged"].all()
    assert_array_equal(net.predict(P), P)


@pytest.mark.parametrize("rule", RULES)
def test_energy_never_increases_during_asynchronous_recall(rule):
    P = random_patterns(12, 40, 8)  # a heavy load: many spurious minima
    net = HopfieldNetwork(rule, random_state=0).fit(P)
    W, b = net.coef_, net.intercept_
    rng = np.random.default_rng(9)
    xT = np.ascontiguousarray(np.where(rng.random((40, 50)) < 0.5, 1.0, -1.0))
    energy = hopfield_energy(xT.T, W, b)
    # Unit by unit: every single asynchronous update.
    for _ in range(5):
        for i in rng.permutation(40):
            async_sweep_(xT, W, b, [i])
            new = hopfield_energy(xT.T, W, b)
            assert np.all(new <= energy + 1e-12)
            energy = new
    # Sweep by sweep through the public API, from random probes.
    _, info = net.recall(random_patterns(50, 40, 10), return_history=True)
    assert np.all(np.diff(info["energy"], axis=0) <= 1e-12)
    assert info["states"].shape[1:] == (50, 40)
    assert_allclose(info["energy"][0], net.energy(random_patterns(50, 40, 10)))


def test_recall_reaches_fixed_points_and_reports_iterations():
    P = random_patterns(10, 40, 11)
    net = HopfieldNetwork(random_state=0).fit(P)
    probes = random_patterns(30, 40, 12)
    out, info = net.recall(probes, return_info=True)
    assert info["converged"].all()
    assert np.all(info["n_sweeps"] >= 1) and np.all(info["n_sweeps"] <= net.max_sweeps)
    # A fixed point: one more recall changes nothing, in one sweep.
    again, info2 = net.recall(out, return_info=True)
    assert_array_equal(again, out)
    assert_array_equal(info2["n_sweeps"], 1)


def test_max_sweeps_bounds_the_recall():
    P = random_patterns(10, 40, 11)
    net = HopfieldNetwork(max_sweeps=1, random_state=0).fit(P)
    _, info = net.recall(random_patterns(30, 40, 12), return_info=True)
    assert_array_equal(info["n_sweeps"], 1)
    assert not info["converged"].all()


def test_synchronous_updates_can_cycle_and_are_reported():
    # Two units coupled antiferromagnetically, started equal: synchronous
    # updates flip both at once forever (a 2-cycle); asynchronous ones settle.
    net = HopfieldNetwork(update="sync", max_sweeps=10).fit([[0, 1], [1, 0]])
    out, info = net.recall([[1, 1]], return_info=True)
    assert not info["converged"][0] and info["n_sweeps"][0] == 10
    net.set_params(update="async", random_state=0)
    out, info = net.recall([[1, 1]], return_info=True)
    assert info["converged"][0]
    assert out[0, 0] != out[0, 1]


def test_synchronous_recall_of_stored_patterns():
    P = random_patterns(5, 100, 13)
    net = HopfieldNetwork(update="sync").fit(P)
    recalled, info = net.recall(corrupt(P, 0.1, 14, copies=10), return_info=True)
    assert np.mean(np.all(recalled == np.repeat(P, 10, axis=0), axis=1)) >= 0.95
    xT = np.ascontiguousarray((2 * P - 1).T)
    assert not sync_step_(xT, net.coef_, net.intercept_).any()


def test_pseudo_inverse_stores_correlated_patterns():
    # Strongly correlated patterns (a shared background, as in digit images)
    # defeat the Hebbian rule; the projection rule makes each a fixed point.
    rng = np.random.default_rng(15)
    base = (rng.random(64) < 0.2).astype(float)
    P = np.array([np.where(rng.random(64) < 0.15, 1 - base, base) for _ in range(8)])
    pinv = HopfieldNetwork("pseudo_inverse", random_state=0).fit(P)
    assert_array_equal(pinv.predict(P), P)
    hebb = HopfieldNetwork("hebbian", random_state=0).fit(P)
    assert not np.array_equal(hebb.predict(P), P)


def test_recall_is_reproducible_and_row_independent():
    P = random_patterns(8, 30, 16)
    net = HopfieldNetwork(random_state=3).fit(P)
    probes = random_patterns(20, 30, 17)
    full = net.predict(probes)
    assert_array_equal(full, net.predict(probes))
    assert_array_equal(full[5:9], net.predict(probes[5:9]))
    assert_array_equal(net.transform(probes), full)


# --------------------------------------------------------- energy and scores
def test_energy_and_scores():
    P = random_patterns(3, 10, 18)
    net = HopfieldNetwork().fit(P)
    X = random_patterns(6, 10, 19)
    x = 2 * X - 1
    E = -0.5 * np.einsum("ni,ij,nj->n", x, net.coef_, x)
    assert_allclose(net.energy(X), E)
    assert_allclose(net.energy(x), E)  # ±1 input, same states
    assert_allclose(net.score_samples(X), -E)
    assert net.score(X) == pytest.approx(-E.mean())
    # Stored patterns sit lower than random states.
    assert net.energy(P).mean() < net.energy(X).mean()


def test_sample_returns_attractors():
    P = random_patterns(3, 50, 20)
    net = HopfieldNetwork(random_state=0).fit(P)
    S = net.sample(40, random_state=1)
    assert S.shape == (40, 50) and set(np.unique(S)) <= {0.0, 1.0}
    assert_array_equal(net.predict(S), S)
    # With three patterns most basins belong to the patterns or their negatives.
    hits = [np.all(S == p, axis=1) | np.all(S == 1 - p, axis=1) for p in P]
    assert np.mean(np.any(hits, axis=0)) > 0.5
    assert_array_equal(net.sample(40, random_state=1), S)
    assert_array_equal(net.sample(3, init=P), P)


# --------------------------------------------------------- dtypes and inputs
def test_float32_pm_one_and_sparse_inputs():
    P = random_patterns(4, 20, 21)
    a = HopfieldNetwork(random_state=0).fit(P.astype(np.float32))
    assert a.coef_.dtype == np.float32
    assert a.predict(P.astype(np.float32)).dtype == np.float32
    b = HopfieldNetwork(random_state=0).fit(P)
    c = HopfieldNetwork(random_state=0).fit(2 * P - 1)
    assert_allclose(a.coef_, b.coef_, atol=1e-6)
    assert_allclose(b.coef_, c.coef_)
    # W is dense D x D anyway: sparse input is refused with a clear message.
    with pytest.raises(TypeError, match="dense data is required"):
        HopfieldNetwork().fit(sp.csr_matrix(P))
    assert_array_equal(c.predict(2 * P - 1), P)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match=re.escape("got e.g. 0.3")):
        HopfieldNetwork().fit([[0, 0.3], [1, 0]])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        HopfieldNetwork().fit([[0, np.nan], [1, 0]])
    net = HopfieldNetwork().fit([[0, 1, 1], [1, 0, 1]])
    with pytest.raises(ValueError, match="X has 2 features, but HopfieldNetwork"):
        net.predict([[0, 1]])
    with pytest.raises(ValueError, match="mixed encodings"):
        net.energy([[0, -1, 1]])
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        net.sample(0)
    with pytest.raises(NotFittedError):
        HopfieldNetwork().predict([[0, 1]])
    with pytest.raises(ValueError, match="The 'rule' parameter"):
        HopfieldNetwork(rule="oja").fit([[0, 1]])
    hebb = HopfieldNetwork().fit([[0, 1, 1]])
    hebb.set_params(rule="pseudo_inverse")
    with pytest.raises(ValueError, match="cannot continue a network"):
        hebb.partial_fit([[1, 1, 0]])
