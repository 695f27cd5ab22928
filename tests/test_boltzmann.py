"""Fully visible Boltzmann machine: exact references, samplers, training, API.

Tiny models (D <= 8) are enumerated exactly. Every statistical tolerance is
fixed in advance with its reason next to it; seeds are fixed, so the tests
are deterministic and the stated false-failure probabilities only say how
much slack the bounds carry.
"""

import re
import warnings
from itertools import combinations
from math import comb

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skebm._boltzmann import (
    BoltzmannMachine,
    GibbsChain,
    bm_log_likelihood_grad,
    bm_log_partition_exact,
    bm_pseudo_likelihood_grad,
    flip_log_ratio,
    metropolis_step_,
    random_subsets,
    to_spins,
)
from skebm._partition import binary_states


# ------------------------------------------------------------------ helpers
def random_model(D, scale, seed, bias=0.3):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.normal(0, scale, (D, D)), 1)
    return W + W.T, rng.normal(0, bias, D)


def all_states(D):
    """All {0,1}^D states (row k is the binary expansion of k, bit i = unit i)."""
    return binary_states(0, 2**D, D)


def exact_probs(W, b):
    """p over all_states(D), by brute force."""
    x = 2 * all_states(b.size) - 1
    lw = np.array([0.5 * xi @ W @ xi + b @ xi for xi in x])
    return np.exp(lw - logsumexp(lw))


def state_index(v):
    return (np.asarray(v, dtype=np.int64) << np.arange(v.shape[1])).sum(axis=1)


def exact_sample(W, b, n, seed):
    p = exact_probs(W, b)
    rng = np.random.default_rng(seed)
    return all_states(b.size)[rng.choice(p.size, size=n, p=p)]


def fitted(W, b, **params):
    """A BoltzmannMachine with the given parameters (bypassing fit)."""
    bm = BoltzmannMachine(**params).fit(exact_sample(W, b, 20, 0))
    bm.coef_, bm.intercept_ = W.copy(), b.copy()
    return bm


def chi_square_pvalue(samples, p):
    """Pearson goodness of fit of {0,1} samples to p over all states.

    States with expected count < 5 are pooled into one bin so that the
    chi-square approximation holds.
    """
    n = samples.shape[0]
    obs = np.bincount(state_index(samples), minlength=p.size)
    exp = n * p
    small = exp < 5
    obs = np.append(obs[~small], obs[small].sum())
    exp = np.append(exp[~small], exp[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    chi2 = np.sum((obs - exp) ** 2 / exp)
    return stats.chi2.sf(chi2, obs.size - 1)


# A moderately coupled 5-unit model (|W| up to ~1): sampled exactly and by chains.
W5, B5 = random_model(5, 0.5, 11)


# -------------------------------------------------------------- data coding
def test_to_spins_maps_both_codings():
    v = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert_array_equal(to_spins(v), 2 * v - 1)
    assert_array_equal(to_spins(2 * v - 1), 2 * v - 1)
    assert_array_equal(to_spins(sp.csr_matrix(v)), 2 * v - 1)
    assert_array_equal(to_spins(np.ones((2, 2))), np.ones((2, 2)))


def test_zero_one_and_pm_one_data_give_the_same_model():
    X = exact_sample(W5, B5, 300, 1)
    a = BoltzmannMachine("pseudo_likelihood").fit(X)
    b = BoltzmannMachine("pseudo_likelihood").fit(2 * X - 1)
    assert_allclose(a.coef_, b.coef_)
    assert_allclose(a.score_samples(X), b.score_samples(2 * X - 1))
    s = b.sample(3, n_steps=2, random_state=0)
    assert set(np.unique(s)) <= {0.0, 1.0}


@pytest.mark.parametrize(
    "X, match",
    [
        (
            np.array([[0.0, 0.5], [1.0, 0.0]]),
            re.escape("only 0 and 1, or only -1 and +1; got e.g. 0.5."),
        ),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), "mixed encodings"),
        (np.array([[2.0, 1.0], [1.0, 0.0]]), "needs binary data"),
    ],
)
def test_non_binary_data_is_rejected(X, match):
    with pytest.raises(ValueError, match=match):
        BoltzmannMachine().fit(X)
    bm = BoltzmannMachine("pseudo_likelihood").fit([[0, 1], [1, 1], [0, 0]])
    for method in (bm.score_samples, bm.transform, bm.free_energy, bm.partial_fit):
        with pytest.raises(ValueError, match=match):
            method(X)
    with pytest.raises(ValueError, match=match):
        bm.sample(2, init=X)


def test_nan_and_wrong_width_are_rejected():
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BoltzmannMachine().fit([[0, np.nan], [1, 0]])
    bm = BoltzmannMachine("pseudo_likelihood").fit([[0, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="X has 3 features, but BoltzmannMachine is"):
        bm.score_samples([[0, 1, 1]])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        bm.transform([[0, np.nan]])
    with pytest.raises(NotFittedError):
        BoltzmannMachine().sample(2)


def test_bad_sampling_arguments():
    bm = fitted(W5, B5)
    with pytest.raises(ValueError, match="sampler must be 'gibbs' or 'metropolis'"):
        bm.sample(2, sampler="hmc")
    with pytest.raises(ValueError, match=re.escape("n_flips must be an integer in")):
        bm.sample(2, sampler="metropolis", n_flips=6)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        bm.sample(0)
    with pytest.raises(ValueError, match="method must be one of"):
        bm.log_partition(method="bogus")


def test_exact_training_refuses_large_models():
    X = (np.random.default_rng(0).random((5, 21)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="method='exact' enumerates"):
        BoltzmannMachine("exact").fit(X)


# ---------------------------------------------------------- exact references
def test_log_partition_free_energy_and_likelihood_match_brute_force():
    W, b = random_model(6, 0.6, 2)
    x = 2 * all_states(6) - 1
    lw = np.array([0.5 * xi @ W @ xi + b @ xi for xi in x])
    log_z = logsumexp(lw)
    assert_allclose(bm_log_partition_exact(W, b), log_z, rtol=1e-12)
    bm = fitted(W, b)
    V = all_states(6)
    assert_allclose(bm.free_energy(V), -lw, rtol=1e-12, atol=1e-12)
    assert_allclose(bm.log_partition(), log_z, rtol=1e-12)
    log_p = bm.log_likelihood(V)
    assert_allclose(logsumexp(log_p), 0.0, atol=1e-12)


def test_conditionals_and_pseudo_likelihood_match_brute_force():
    W, b = random_model(5, 0.7, 3)
    bm = fitted(W, b)
    p = exact_probs(W, b)
    V = all_states(5)
    idx = state_index(V)
    cond = np.empty_like(V)
    pl = np.zeros(len(V))
    for i in range(5):
        on = V.copy()
        on[:, i] = 1
        off = V.copy()
        off[:, i] = 0
        p_on, p_off = p[state_index(on)], p[state_index(off)]
        cond[:, i] = p_on / (p_on + p_off)
        pl += np.log(p[idx] / (p_on + p_off))
    assert_allclose(bm.transform(V), cond, rtol=1e-10)
    assert_allclose(bm.score_samples(V), pl, rtol=1e-10)
    assert_allclose(bm.score(V), pl.mean(), rtol=1e-10)
    # The lecture's rule: p(x_i = +1 | x_-i) = sigmoid(2 a_i).
    x = 2 * V - 1
    assert_allclose(cond, expit(2 * (x @ W + b)), rtol=1e-10)


@pytest.mark.parametrize("grad_fn", [bm_pseudo_likelihood_grad, bm_log_likelihood_grad])
def test_gradients_match_finite_differences(grad_fn):
    W, b = random_model(4, 0.5, 4)
    x = 2 * exact_sample(W, b, 50, 5) - 1
    _, gW, gb = grad_fn(x, W, b)
    assert_allclose(gW, gW.T)
    assert_array_equal(np.diag(gW), 0)
    eps = 1e-6
    for i, j in [(0, 1), (1, 3), (2, 3)]:
        E = np.zeros_like(W)
        E[i, j] = E[j, i] = eps
        num = (grad_fn(x, W + E, b)[0] - grad_fn(x, W - E, b)[0]) / (2 * eps)
        assert_allclose(gW[i, j], num, rtol=1e-5, atol=1e-8)
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        num = (grad_fn(x, W, b + e)[0] - grad_fn(x, W, b - e)[0]) / (2 * eps)
        assert_allclose(gb[i], num, rtol=1e-5, atol=1e-8)


def test_ais_matches_exact_log_partition():
    W, b = random_model(10, 0.3, 6)
    bm = fitted(W, b)
    exact = bm.log_partition(method="exact")
    info = bm.log_partition(
        method="ais", n_betas=1000, n_runs=64, random_state=0, return_details=True
    )
    # Errors measured over 5 seeds at these settings: |err| <= 0.04 nat for
    # both directions (sd ~0.02); 0.1 is a 5-sd bound.
    assert abs(info["log_z"] - exact) < 0.1
    assert info["log_z_low"] - 0.1 < exact < info["log_z_high"] + 0.1
    rev = bm.log_partition(
        method="reverse_ais", n_betas=1000, n_runs=64, n_burn=50, random_state=0
    )
    assert abs(rev - exact) < 0.1


# ------------------------------------------------------------------ samplers
# 2000 independent chains, one sample each, 20 sweeps from fair coin flips (the
# 5-unit model forgets its start within a few sweeps). The Pearson test of the
# 32-state histogram against exact enumeration must not reject at level 1e-3:
# a false failure has probability 1e-3 if the chains are exact, and with the
# fixed seed the outcome is deterministic. Measured p-values over 10 seeds:
# 0.02-0.94 for each sampler.
@pytest.mark.parametrize(
    "sampler, n_flips", [("gibbs", 1), ("metropolis", 1), ("metropolis", 3)]
)
def test_samplers_match_exact_distribution(sampler, n_flips):
    bm = fitted(W5, B5)
    s = bm.sample(2000, sampler=sampler, n_flips=n_flips, n_steps=20, random_state=0)
    assert s.shape == (2000, 5)
    assert chi_square_pvalue(s, exact_probs(W5, B5)) > 1e-3


def test_samplers_detect_a_wrong_model():
    # Power check of the test above: samples of the model are rejected as
    # samples of a model with the couplings scaled by 0.7.
    s = fitted(W5, B5).sample(2000, n_steps=20, random_state=0)
    assert chi_square_pvalue(s, exact_probs(0.7 * W5, B5)) < 1e-3


@pytest.mark.parametrize("n_flips", [1, 2, 3])
def test_flip_log_ratio_matches_enumeration(n_flips):
    W, b = random_model(6, 0.6, 7)
    rng = np.random.default_rng(0)
    p = exact_probs(W, b)
    v = (rng.random((50, 6)) < 0.5).astype(float)
    xT = np.ascontiguousarray((2 * v - 1).T)
    aT = W @ xT + b[:, None]
    idx = random_subsets(rng, 6, n_flips, (50,))
    assert all(len(set(row)) == n_flips for row in idx)
    delta, _, _ = flip_log_ratio(xT, aT, W, idx)
    v_hat = v.copy()
    for c in range(50):
        v_hat[c, idx[c]] = 1 - v_hat[c, idx[c]]
    expected = np.log(p[state_index(v_hat)] / p[state_index(v)])
    assert_allclose(delta, expected, rtol=1e-10, atol=1e-10)


def test_metropolis_step_accepts_with_probability_min_one_ratio():
    W, b = random_model(6, 0.6, 7)
    p = exact_probs(W, b)
    rng = np.random.default_rng(1)
    n = 20000
    v0 = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    for units in [(0,), (1,), (2, 4), (0, 3, 5)]:
        xT = np.ascontiguousarray(np.tile(2 * v0 - 1, (n, 1)).T)
        aT = W @ xT + b[:, None]
        idx = np.tile(units, (n, 1))
        accepted = metropolis_step_(xT, aT, W, idx, rng.random(n))
        v_hat = v0.copy()
        v_hat[list(units)] = 1 - v_hat[list(units)]
        ratio = p[state_index(v_hat[None])[0]] / p[state_index(v0[None])[0]]
        target = min(1.0, ratio)
        # Binomial std <= 0.5 / sqrt(20000) = 0.0035; 5 std: false failure < 1e-6.
        assert abs(accepted.mean() - target) < 5 * 0.0036
        # Accepted chains moved to x_hat, rejected ones stayed; fields kept exact.
        moved = np.where(accepted[:, None], 2 * v_hat - 1, 2 * v0 - 1)
        assert_array_equal(xT.T, moved)
        assert_allclose(aT, W @ xT + b[:, None], atol=1e-12)


@pytest.mark.parametrize("n_flips", [1, 2])
def test_stationary_acceptance_rate_matches_exact(n_flips):
    # Started from exact samples, every proposal is made at stationarity, so
    # the expected acceptance rate is E_p[ E_proposal min(1, p(x_hat)/p(x)) ].
    W, b = W5, B5
    D = 5
    p = exact_probs(W, b)
    V = all_states(D)
    expected = 0.0
    for m in range(1, n_flips + 1):
        for S in combinations(range(D), m):
            Vh = V.copy()
            Vh[:, S] = 1 - Vh[:, S]
            acc = np.minimum(1.0, p[state_index(Vh)] / p)
            expected += (p @ acc) / (n_flips * comb(D, m))
    bm = fitted(W, b)
    init = exact_sample(W, b, 2000, 3)
    bm.sample(
        2000,
        sampler="metropolis",
        n_flips=n_flips,
        n_steps=5,
        init=init,
        random_state=0,
    )
    # 50 000 proposals; measured sd of the rate over 6 seeds <= 0.003, so
    # 0.015 is a 5-sd bound.
    assert abs(bm.acceptance_rate_ - expected) < 0.015


@pytest.mark.parametrize("sampler", ["gibbs", "metropolis"])
def test_sampling_does_not_depend_on_n_jobs(sampler):
    bm = fitted(W5, B5)
    kw = {"sampler": sampler, "n_steps": 3, "random_state": 42}
    a = bm.sample(100, n_jobs=1, **kw)
    rate = getattr(bm, "acceptance_rate_", None)
    # Threads: the same code path as processes, without the pool start-up.
    with parallel_config(backend="threading"):
        b = bm.sample(100, n_jobs=2, **kw)
    assert_array_equal(a, b)
    if sampler == "metropolis":
        assert bm.acceptance_rate_ == rate
    assert_array_equal(a, bm.sample(100, **kw))


def test_sample_thin_init_and_probabilities():
    bm = fitted(W5, B5)
    s = bm.sample(4, sampler="metropolis", n_steps=10, thin=3, random_state=0)
    assert s.shape == (4, 3, 5)
    assert 0 < bm.acceptance_rate_ < 1
    init = np.array([[1, 1, 1, 1, 1]])
    s = bm.sample(3, n_steps=0, init=init)
    assert_array_equal(s, np.ones((3, 5)))
    p = bm.sample(3, n_steps=0, init=init, probabilities=True)
    assert_allclose(p, bm.transform(np.ones((3, 5))))
    s = bm.sample(3, sampler="metropolis", n_steps=2, thin=5)
    assert s.shape == (3, 0, 5) and np.isnan(bm.acceptance_rate_)


def test_gibbs_chain_float32_keeps_dtype():
    chain = GibbsChain(W5.astype(np.float32), B5.astype(np.float32))
    rng = np.random.default_rng(0)
    state = chain.init_state(chain.random_visible(7, rng))
    chain.step_(state, rng)
    assert chain.visible(state, False).dtype == np.float32


# ------------------------------------------------------------------ training
def test_exact_and_pcd_training_agree():
    X = exact_sample(*random_model(5, 0.5, 1), 1000, 10)
    exact = BoltzmannMachine("exact", tol=1e-9).fit(X)
    pcd = BoltzmannMachine(
        learning_rate=0.05,
        learning_rate_schedule="linear",
        n_iter=100,
        batch_size=100,
        random_state=0,
    ).fit(X)
    # Max deviation measured over 5 seeds: <= 0.017 (couplings and biases); the
    # couplings themselves are up to ~0.8, so 0.05 still tells them apart.
    assert np.abs(pcd.coef_ - exact.coef_).max() < 0.05
    assert np.abs(pcd.intercept_ - exact.intercept_).max() < 0.05
    # The exact fit is the maximum-likelihood point: the model's moments match
    # the data's.
    x = 2 * X - 1
    _, gW, gb = bm_log_likelihood_grad(x, exact.coef_, exact.intercept_)
    assert np.abs(gW).max() < 1e-4 and np.abs(gb).max() < 1e-4


def test_pseudo_likelihood_recovers_the_generating_model():
    W, b = random_model(8, 0.4, 3)
    X = exact_sample(W, b, 20000, 0)
    bm = BoltzmannMachine("pseudo_likelihood").fit(X)
    # Max error over the 28 couplings, measured over 5 seeds: 0.022-0.030 at
    # n = 20000 (sd ~ 0.3 / sqrt(n) per entry); the couplings reach ~0.8.
    assert np.abs(bm.coef_ - W).max() < 0.08
    assert np.abs(bm.intercept_ - b).max() < 0.08
    assert_allclose(bm.coef_, bm.coef_.T)
    assert_array_equal(np.diag(bm.coef_), 0)
    assert bm.n_iter_ > 0 and len(bm.score_curve_) == bm.n_iter_


def test_pcd_fit_equals_partial_fit_and_is_reproducible():
    X = exact_sample(W5, B5, 60, 2)
    a = BoltzmannMachine(n_iter=1, batch_size=60, random_state=3).fit(X)
    b = BoltzmannMachine(batch_size=60, random_state=3).partial_fit(X)
    assert_allclose(a.coef_, b.coef_)
    assert_array_equal(a.persistent_chains_, b.persistent_chains_)
    c = BoltzmannMachine(n_iter=1, batch_size=60, random_state=3).fit(X)
    assert_array_equal(a.coef_, c.coef_)
    assert a.partial_fit(X) is a


@pytest.mark.parametrize("method", ["exact", "pseudo_likelihood"])
def test_partial_fit_steps_increase_the_objective(method):
    X = exact_sample(W5, B5, 200, 4)
    bm = BoltzmannMachine(method, learning_rate=0.2)
    curve = []
    for _ in range(5):
        bm.partial_fit(X)
        curve.append(
            bm.score(X)
            if method == "pseudo_likelihood"
            else bm.log_likelihood(X).mean()
        )
    assert np.all(np.diff(curve) > 0)


def test_float32_is_kept_and_agrees_with_float64():
    X = exact_sample(W5, B5, 500, 5)
    a = BoltzmannMachine("pseudo_likelihood").fit(X.astype(np.float32))
    b = BoltzmannMachine("pseudo_likelihood").fit(X)
    assert a.coef_.dtype == np.float32
    assert a.transform(X.astype(np.float32)).dtype == np.float32
    assert a.sample(3, n_steps=2, random_state=0).dtype == np.float32
    assert_allclose(a.coef_, b.coef_, atol=1e-5)
    p32 = BoltzmannMachine(n_iter=2, random_state=0).fit(X.astype(np.float32))
    p64 = BoltzmannMachine(n_iter=2, random_state=0).fit(X)
    assert p32.coef_.dtype == np.float32
    assert_allclose(p32.coef_, p64.coef_, atol=1e-5)


def test_sparse_and_dense_agree():
    X = exact_sample(W5, B5, 200, 6)
    a = BoltzmannMachine(n_iter=2, random_state=0).fit(X)
    b = BoltzmannMachine(n_iter=2, random_state=0).fit(sp.csr_matrix(X))
    assert_allclose(a.coef_, b.coef_)
    assert_allclose(a.score_samples(sp.csr_matrix(X)), a.score_samples(X))


def test_lbfgs_reports_non_convergence():
    X = exact_sample(W5, B5, 200, 7)
    with pytest.warns(ConvergenceWarning, match="L-BFGS did not converge"):
        BoltzmannMachine("pseudo_likelihood", max_iter=1).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BoltzmannMachine("pseudo_likelihood").fit(X)


def test_weight_decay_shrinks_couplings():
    X = exact_sample(W5, B5, 300, 8)
    free = BoltzmannMachine("pseudo_likelihood").fit(X)
    decayed = BoltzmannMachine("pseudo_likelihood", weight_decay=1.0).fit(X)
    assert np.abs(decayed.coef_).sum() < 0.8 * np.abs(free.coef_).sum()


def test_verbose_prints_one_line_per_epoch(capsys):
    X = exact_sample(W5, B5, 50, 9)
    BoltzmannMachine(n_iter=3, verbose=1, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert re.match(
        r"\[BoltzmannMachine\] Iteration 1, pseudo-likelihood = -?\d+\.\d+, "
        r"time = \d+\.\d+s",
        lines[0],
    )
