"""Tests of the deep Boltzmann machine against brute-force enumeration."""

import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import parallel_backend
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import chi2
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skebm._dbm import DBM, _BottomRBM, _TopRBM
from skebm._dbm_math import (
    DBMAnnealingPath,
    _EvenStateChain,
    _parity_log_f,
    dbm_activation,
    dbm_log_partition_exact,
)
from skebm._partition import binary_states
from skebm._rbm import BernoulliRBM
from skebm._sampling import run_chains

# False-failure probability of each goodness-of-fit test for an exact sampler.
ALPHA = 1e-4


# ----------------------------------------------------------------- helpers
def random_params(sizes, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(0, scale, (sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
    bs = [rng.normal(0, scale, s) for s in sizes]
    return Ws, bs


def energy(layers, Ws, bs):
    """-E of each row; ``layers`` a list of (n, n_k) arrays."""
    out = sum(x @ b for x, b in zip(layers, bs, strict=True))
    for k, W in enumerate(Ws, start=1):
        out = out + np.einsum("ni,ji,nj->n", layers[k - 1], W, layers[k])
    return -out


def all_states(sizes):
    """Every joint configuration, split into layers, and -E of each."""
    S = binary_states(0, 2 ** sum(sizes), sum(sizes))
    return np.split(S, np.cumsum(sizes)[:-1], axis=1)


def brute_force(Ws, bs):
    sizes = [b.size for b in bs]
    layers = all_states(sizes)
    neg_e = -energy(layers, Ws, bs)
    log_z = logsumexp(neg_e)
    # log p(v) for every v, v indexed by its bits (bit i = unit i).
    v_idx = layers[0] @ (2 ** np.arange(sizes[0]))
    log_pv = (
        np.array([logsumexp(neg_e[v_idx == i]) for i in range(2 ** sizes[0])]) - log_z
    )
    return layers, neg_e, log_z, log_pv


def fitted_dbm(Ws, bs, **params):
    """A DBM whose parameters are set to ``Ws``, ``bs``."""
    sizes = [b.size for b in bs]
    rng = np.random.default_rng(0)
    X = (rng.random((10, sizes[0])) < 0.5).astype(np.float64)
    model = DBM(
        tuple(sizes[1:]), n_iter=0, pretrain=False, random_state=0, **params
    ).fit(X)
    model.coefs_ = [np.array(W, dtype=np.float64) for W in Ws]
    model.intercepts_ = [np.array(b, dtype=np.float64) for b in bs]
    return model


def digits_binary():
    from sklearn.datasets import load_digits

    return (load_digits().data > 7).astype(np.float64)


def chi_square_pvalue(counts, probs):
    """Pearson goodness-of-fit p-value; cells expecting < 5 are pooled."""
    n = counts.sum()
    expected = n * probs
    small = expected < 5
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    stat = np.sum((obs - exp) ** 2 / exp)
    return chi2.sf(stat, obs.size - 1)


# ------------------------------------------------------ exact quantities
@pytest.mark.parametrize("sizes", [(5, 4, 3), (3, 5, 4), (4, 3, 2, 3), (3, 4)])
def test_log_partition_free_energy_and_likelihood_exact(sizes):
    Ws, bs = random_params(sizes, seed=len(sizes))
    _, _, log_z, log_pv = brute_force(Ws, bs)
    assert_allclose(dbm_log_partition_exact(Ws, bs), log_z, rtol=1e-12)
    model = fitted_dbm(Ws, bs)
    assert model.log_partition(method="exact") == pytest.approx(log_z, rel=1e-12)
    V = binary_states(0, 2 ** sizes[0], sizes[0])
    assert_allclose(model.log_likelihood(V, method="exact"), log_pv, atol=1e-10)
    assert_allclose(model.free_energy(V), -(log_pv + log_z), atol=1e-10)
    # Probabilities sum to one.
    assert logsumexp(log_pv) == pytest.approx(0.0, abs=1e-10)


def test_parity_marginal_matches_brute_force():
    sizes = (5, 4, 3)
    Ws, bs = random_params(sizes, seed=3)
    layers, neg_e, _, _ = brute_force(Ws, bs)
    # Marginal of the even layers (v, h2) with h1 summed out analytically.
    even = np.concatenate([layers[0], layers[2]], axis=1)
    idx = even @ (2 ** np.arange(8))
    expected = np.array([logsumexp(neg_e[idx == i]) for i in range(256)])
    got = _parity_log_f(binary_states(0, 256, 8), Ws, bs, 0)
    assert_allclose(got, expected, atol=1e-10)


def test_conditionals_match_enumeration():
    sizes = (5, 4, 3)
    Ws, bs = random_params(sizes, seed=4)
    rng = np.random.default_rng(0)
    layers = [(rng.random((7, s)) < 0.5).astype(float) for s in sizes]
    for k, size in enumerate(sizes):
        act = dbm_activation(layers, Ws, bs, k)
        for j in range(size):
            on = [x.copy() for x in layers]
            off = [x.copy() for x in layers]
            on[k][:, j], off[k][:, j] = 1.0, 0.0
            # log p(x_kj = 1 | rest) - log p(x_kj = 0 | rest) = E(off) - E(on)
            log_odds = energy(off, Ws, bs) - energy(on, Ws, bs)
            assert_allclose(act[:, j], log_odds, atol=1e-12)


def test_mean_field_bound_below_exact_log_likelihood():
    sizes = (5, 4, 3)
    for seed in range(3):
        Ws, bs = random_params(sizes, seed=10 + seed)
        _, _, _, log_pv = brute_force(Ws, bs)
        model = fitted_dbm(Ws, bs, mean_field_max_iter=50, mean_field_tol=1e-10)
        V = binary_states(0, 32, 5)
        bound = model.score_samples(V)
        assert np.all(bound <= log_pv + 1e-10)
        # ... and not vacuous: mean-field is close on a model this small.
        assert np.mean(log_pv - bound) < 1.0


def test_one_hidden_layer_is_an_rbm():
    X = digits_binary()
    rbm = BernoulliRBM(n_components=10, n_iter=3, random_state=0).fit(X)
    dbm = DBM((10,), n_iter=0, pretrain=False, random_state=0).fit(X)
    dbm.coefs_ = [rbm.components_.copy()]
    dbm.intercepts_ = [rbm.intercept_visible_.copy(), rbm.intercept_hidden_.copy()]
    log_z = rbm.log_partition(method="exact")
    assert dbm.log_partition(method="exact") == pytest.approx(log_z, rel=1e-12)
    assert_allclose(dbm.free_energy(X[:50]), rbm.free_energy(X[:50]), rtol=1e-10)
    ll = rbm.log_likelihood(X[:50])
    assert_allclose(dbm.log_likelihood(X[:50]), ll, rtol=1e-10)
    # The mean-field posterior of a single hidden layer is exact.
    assert_allclose(dbm.score_samples(X[:50]), ll, rtol=1e-10)
    assert_allclose(dbm.transform(X[:50]), rbm.transform(X[:50]), rtol=1e-12)
    # The odd/even sweep is the RBM's h -> v step: identical random streams.
    for init in (None, X[:7]):
        kw = {"n_steps": 20, "init": init, "random_state": 3}
        assert_array_equal(dbm.sample(40, **kw), rbm.sample(40, **kw))
        assert_array_equal(
            dbm.sample(40, probabilities=True, **kw),
            rbm.sample(40, probabilities=True, **kw),
        )


# --------------------------------------------------------- sampling
def test_gibbs_sampler_matches_exact_joint():
    sizes = (5, 4, 3)
    Ws, bs = random_params(sizes, seed=5)
    layers, neg_e, _, log_pv = brute_force(Ws, bs)
    model = fitted_dbm(Ws, bs)
    # Visible marginal through the public sampler. 100 sweeps: this 12-unit
    # model mixes in a handful, so the bias is far below the test's power.
    n = 20000
    v = model.sample(n, n_steps=100, random_state=0)
    counts = np.bincount((v @ (2 ** np.arange(5))).astype(int), minlength=32)
    assert chi_square_pvalue(counts, np.exp(log_pv)) > ALPHA
    # Joint of the even layers (v, h2) from the chains' full states.
    idx = np.concatenate([layers[0], layers[2]], axis=1) @ (2 ** np.arange(8))
    log_p = np.array([logsumexp(neg_e[idx == i]) for i in range(256)])
    p = np.exp(log_p - logsumexp(log_p))
    chain = model._chain_model(_EvenStateChain)
    states = run_chains(chain, 40000, 60, random_state=1)
    counts = np.bincount((states @ (2 ** np.arange(8))).astype(int), minlength=256)
    assert chi_square_pvalue(counts, p) > ALPHA


def test_sample_n_jobs_invariant_and_shapes():
    model = fitted_dbm(*random_params((6, 4, 3), seed=6))
    a = model.sample(100, n_steps=10, random_state=0, n_jobs=1)
    # Threads: the same blocks and seeds as processes, without their start-up.
    with parallel_backend("threading"):
        b = model.sample(100, n_steps=10, random_state=0, n_jobs=2)
    assert_array_equal(a, b)
    assert a.shape == (100, 6)
    assert set(np.unique(a)) <= {0.0, 1.0}
    c = model.sample(5, n_steps=10, thin=5, random_state=0)
    assert c.shape == (5, 2, 6)


# --------------------------------------------------------------- AIS
@pytest.fixture(scope="module")
def trained_models():
    X = digits_binary()
    # Trained long enough for weights ~1.5 and a clearly non-trivial log Z.
    kw = {"n_iter": 20, "pretrain_n_iter": 10, "learning_rate": 0.05, "random_state": 0}
    return X, DBM((12, 8), **kw).fit(X), DBM((10, 8, 6), **kw).fit(X)


def test_annealing_path_endpoints():
    sizes = (4, 3, 2, 3)
    Ws, bs = random_params(sizes, seed=7)
    b_base = np.random.default_rng(0).normal(size=4)
    path = DBMAnnealingPath(Ws, bs, b_base)
    states = binary_states(0, 2**9, 9)  # (v, h2): 4 + 2 units
    states = states[:, :6]
    state = path.from_visible(states)
    log_f1 = _parity_log_f(states, Ws, bs, 0)
    # At beta = 0 the units are independent: log f_0 sums to log Z_0.
    base_bs = [b_base] + bs[1:]
    log_f0 = _parity_log_f(states, [np.zeros_like(W) for W in Ws], base_bs, 0)
    assert_allclose(path.delta_log_f(state, 0.0, 1.0), log_f1 - log_f0, atol=1e-10)
    uniq = binary_states(0, 2**6, 6)
    log_z0 = logsumexp(_parity_log_f(uniq, [np.zeros_like(W) for W in Ws], base_bs, 0))
    assert path.log_z0 == pytest.approx(log_z0, rel=1e-12)
    with pytest.raises(ValueError, match="needs every even layer"):
        path.from_visible(states[:, :4])


# Tolerance fixed before the first run: 0.1 nat, several times the spread of
# the log of a mean of 100 importance weights with ESS close to 100 on models
# of this size, and the accuracy the DBM benchmark needs.
AIS_TOL = 0.1


@pytest.mark.parametrize("which", [1, 2])
def test_ais_agrees_with_exact_on_trained_model(trained_models, which):
    model = trained_models[which]
    exact = model.log_partition(method="exact")
    for method in ("ais", "reverse_ais"):
        est = model.log_partition(method=method, n_betas=2000, random_state=0)
        assert abs(est - exact) < AIS_TOL, (method, est, exact)


def test_score_samples_uses_cached_log_partition(trained_models):
    X, model, _ = trained_models
    model = pickle.loads(pickle.dumps(model))
    model.set_params(log_partition_params={"method": "ais", "n_betas": 500})
    s1 = model.score_samples(X[:20])
    info = model.log_partition_info_
    assert info["settings"]["method"] == "ais"
    assert info["settings"]["n_betas"] == 500
    # The seed is fixed per fitted model: the cached value is reused as is.
    assert_allclose(model.score_samples(X[:20]), s1, rtol=1e-12)
    assert model.log_partition_info_ is info
    # A user-chosen AIS run is reused by score_samples.
    log_z = model.log_partition(method="ais", n_betas=800, n_runs=30, random_state=1)
    s2 = model.score_samples(X[:20])
    assert_allclose(s1 + info["log_z"] - log_z, s2, rtol=1e-12)
    model.set_params(log_partition_params={"method": "exact"})
    exact = model.score_samples(X[:20])
    assert_allclose(exact, s1 + info["log_z"] - model.log_partition(), rtol=1e-12)


# ---------------------------------------------------------- training
def prototype_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    protos = np.array(
        [[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]],
        dtype=float,
    )
    X = protos[rng.integers(0, 3, n)]
    return np.abs(X - (rng.random(X.shape) < 0.05))


@pytest.mark.parametrize(
    "pretrain, centering", [(False, False), (True, False), (False, True)]
)
def test_training_raises_exact_log_likelihood(pretrain, centering):
    # Three noisy prototypes on 8 bits: the best model reaches about -2.7
    # nats, independent units (the initial model) about -5.
    X = prototype_data()
    kw = {
        "pretrain": pretrain,
        "centering": centering,
        "pretrain_n_iter": 30,
        "learning_rate": 0.05,
        "batch_size": 20,
        "n_chains": 50,
        "random_state": 0,
    }
    before = DBM((6, 4), n_iter=0, **{**kw, "pretrain": False}).fit(X)
    after = DBM((6, 4), n_iter=60, **kw).fit(X)
    ll_before = before.log_likelihood(X).mean()
    ll_after = after.log_likelihood(X).mean()
    assert ll_after > ll_before + 1.5
    assert after.score(X) <= ll_after


def test_fit_equals_partial_fit():
    X = prototype_data(100)
    kw = {"pretrain": False, "batch_size": 25, "random_state": 0}
    a = DBM((5, 3), n_iter=2, **kw).fit(X)
    b = DBM((5, 3), **kw)
    for _ in range(2):
        b.partial_fit(X)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_allclose(x, y, rtol=1e-12)
    for x, y in zip(a.particles_, b.particles_, strict=True):
        assert_array_equal(x, y)
    assert b.partial_fit(X) is b


def test_sparse_equals_dense():
    X = prototype_data(80)
    kw = {"n_iter": 2, "pretrain_n_iter": 2, "batch_size": 20, "random_state": 0}
    dense = DBM((5, 3), **kw).fit(X)
    for fmt in ("csr", "csc", "coo"):
        Xs = sp.csr_matrix(X).asformat(fmt)
        sparse = DBM((5, 3), **kw).fit(Xs)
        for x, y in zip(dense.coefs_, sparse.coefs_, strict=True):
            assert_allclose(x, y, rtol=1e-10, atol=1e-12)
        assert_allclose(sparse.transform(Xs), dense.transform(X), rtol=1e-10)
        assert_allclose(sparse.score_samples(Xs), dense.score_samples(X), rtol=1e-10)
        assert_allclose(sparse.free_energy(Xs), dense.free_energy(X), rtol=1e-10)


def centered_to_standard(Ws, bs_c, offsets):
    """Standard biases of the centered DBM with weights Ws, biases bs_c.

    -E_c = sum_l (x^l - mu^l) W^l (x^{l-1} - mu^{l-1}) + sum_l b~^l (x^l - mu^l);
    expanding the products gives the standard form's linear terms.
    """
    bs = [b.copy() for b in bs_c]
    for k, W in enumerate(Ws, start=1):
        bs[k] -= W @ offsets[k - 1]
        bs[k - 1] -= W.T @ offsets[k]
    return bs


def test_centered_step_is_the_gradient_step_in_centered_coordinates():
    # The centered update is plain gradient ascent in the coordinates
    # phi = (W, b~) of the centered energy. With theta = J phi (+ const) the
    # standard parameters, a step d phi = lr J^T grad_theta becomes
    # d theta = J J^T (lr grad_theta): the centered step must equal J J^T
    # applied to the plain step taken with the same random numbers.
    sizes = [5, 4, 3]
    Ws, bs = random_params(sizes, scale=0.5, seed=3)
    rng = np.random.default_rng(7)
    offsets = [rng.uniform(0.1, 0.9, n) for n in sizes]
    # the map from centered to standard form is right: the two energies
    # differ by a constant over all joint states
    layers = all_states(sizes)
    bs_c = [rng.normal(size=n) for n in sizes]
    centered = -sum(
        (x - mu) @ b for x, mu, b in zip(layers, offsets, bs_c, strict=True)
    ) - sum(
        np.einsum(
            "ni,ji,nj->n", layers[k - 1] - offsets[k - 1], W, layers[k] - offsets[k]
        )
        for k, W in enumerate(Ws, start=1)
    )
    diff = centered - energy(layers, Ws, centered_to_standard(Ws, bs_c, offsets))
    assert np.ptp(diff) < 1e-10

    def flat(Ws, bs):
        return np.concatenate([a.ravel() for a in list(Ws) + list(bs)])

    def unflat(x):
        out, i = [], 0
        for shape in [W.shape for W in Ws] + [b.shape for b in bs]:
            n = int(np.prod(shape))
            out.append(x[i : i + n].reshape(shape))
            i += n
        return out[: len(Ws)], out[len(Ws) :]

    # J: the linear part of phi -> theta, column by column
    n = flat(Ws, bs).size
    J = np.empty((n, n))
    for i in range(n):
        dW, db = unflat(np.eye(n)[i])
        J[:, i] = flat(dW, centered_to_standard(dW, db, offsets))

    X = prototype_data(40)[:, :5]
    steps = {}
    for centering in (False, True):
        model = fitted_dbm(
            Ws, bs, centering=centering, momentum=0.0, n_chains=30, batch_size=40
        )
        model._offsets = [mu.copy() for mu in offsets] if centering else None
        before = flat(model.coefs_, model.intercepts_)
        model._update(X, np.random.default_rng(11), 0.1)
        steps[centering] = flat(model.coefs_, model.intercepts_) - before
    assert np.abs(steps[False]).max() > 1e-3
    assert_allclose(steps[True], J @ J.T @ steps[False], rtol=1e-9, atol=1e-12)


def test_centering_offsets_and_validation():
    X = prototype_data(200)
    kw = {"n_iter": 3, "pretrain_n_iter": 2, "batch_size": 20, "random_state": 0}
    model = DBM((6, 4), centering=True, **kw).fit(X)
    mu = model._offsets
    assert [m.shape for m in mu] == [(8,), (6,), (4,)]
    # the visible offset averages the data: within a few batch-sized
    # fluctuations of the data mean (p(1 - p) / 20 <= 0.0125 per batch)
    assert np.abs(mu[0] - X.mean(0)).max() < 0.1
    # hidden offsets: averages of the mean-field posteriors, so inside (0, 1)
    assert all(np.all((m > 0) & (m < 1)) for m in mu[1:])
    # the offsets change the training
    plain = DBM((6, 4), **kw).fit(X)
    assert not np.allclose(plain.coefs_[0], model.coefs_[0])
    # refitting starts them again
    again = model.fit(X)
    assert_allclose(again._offsets[0], mu[0])
    m32 = DBM((6, 4), centering=True, **kw).fit(X.astype(np.float32))
    assert all(m.dtype == np.float32 for m in m32._offsets)
    assert all(W.dtype == np.float32 for W in m32.coefs_ + m32.intercepts_)
    dense = DBM((6, 4), centering=True, **kw).fit(X)
    sparse = DBM((6, 4), centering=True, **kw).fit(sp.csr_matrix(X))
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for bad in (0.0, 1.5):
        with pytest.raises(InvalidParameterError, match="centering_rate"):
            DBM((3,), centering=True, centering_rate=bad).fit(X)
    with pytest.raises(InvalidParameterError, match="centering"):
        DBM((3,), centering="yes").fit(X)


def test_dynamic_binarization(monkeypatch):
    # Grey prototypes (0.1 / 0.9 pixels): with dynamic binarization the
    # bottom pretraining RBM and joint training see binary draws of them,
    # dense and sparse input alike, and the exact log-likelihood expected
    # under the binarized data's distribution q rises toward its optimum.
    import skebm._dbm

    X = 0.1 + 0.8 * prototype_data(200)
    kw = {
        "pretrain_n_iter": 30,
        "learning_rate": 0.05,
        "batch_size": 20,
        "n_chains": 50,
        "random_state": 0,
        "dynamic_binarization": True,
    }
    seen = []
    draw = skebm._dbm.bernoulli_draw

    def record(v, rng):
        out = draw(v, rng)
        seen.append((v.copy(), out.copy()))
        return out

    monkeypatch.setattr(skebm._dbm, "bernoulli_draw", record)
    after = DBM((6, 4), n_iter=60, **kw).fit(X)
    # 30 pretraining epochs of the bottom RBM, 60 joint epochs, 10 batches each
    assert len(seen) == 900
    for i, (grey, binary) in enumerate(seen):
        assert_array_equal(grey, X[20 * (i % 10) : 20 * (i % 10 + 1)])
        assert set(np.unique(binary)) <= {0.0, 1.0}
    # the 90 draws of the first minibatch: frequency x within 5 standard errors
    first = np.mean([b for _, b in seen[::10]], axis=0)
    assert np.all(np.abs(first - X[:20]) < 5 * np.sqrt(0.09 / 90))
    assert not np.array_equal(seen[0][1], seen[10][1])
    monkeypatch.undo()
    V = binary_states(0, 2**8, 8)
    q = np.mean(np.prod(np.where(V[None] == 1, X[:, None], 1 - X[:, None]), 2), 0)
    before = DBM((6, 4), n_iter=0, **{**kw, "pretrain": False}).fit(X)
    # three quarters of the way from the initial model (-5.2 nats) to -H(q)
    # (-4.2), the best any model can do (measured: 0.83-0.85)
    start, best = q @ before.log_likelihood(V), q @ np.log(q)
    assert (q @ after.log_likelihood(V) - start) / (best - start) > 0.75
    short = {**kw, "n_iter": 2, "pretrain_n_iter": 2}
    sparse = DBM((6, 4), **short).fit(sp.csr_matrix(X))
    dense = DBM((6, 4), **short).fit(X)
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    plain = DBM((6, 4), **{**short, "dynamic_binarization": False}).fit(X)
    assert not np.allclose(plain.coefs_[0], dense.coefs_[0])
    with pytest.raises(InvalidParameterError, match="dynamic_binarization"):
        DBM((3,), dynamic_binarization="yes").fit(X)


def test_float32_preserved_and_close_to_float64():
    X = prototype_data(80)
    kw = {"n_iter": 2, "pretrain_n_iter": 2, "batch_size": 20, "random_state": 0}
    m64 = DBM((5, 3), **kw).fit(X)
    m32 = DBM((5, 3), **kw).fit(X.astype(np.float32))
    assert all(W.dtype == np.float32 for W in m32.coefs_ + m32.intercepts_)
    assert all(x.dtype == np.float32 for x in m32.particles_)
    assert m32.transform(X.astype(np.float32)).dtype == np.float32
    assert m32.sample(3, n_steps=2, random_state=0).dtype == np.float32
    # Same random stream: the fits differ by float32 rounding only.
    for x, y in zip(m32.coefs_, m64.coefs_, strict=True):
        assert_allclose(x, y, atol=1e-3)


def test_transform_layers_and_feature_names():
    X = prototype_data(60)
    model = DBM((5, 3), n_iter=1, pretrain_n_iter=1, random_state=0).fit(X)
    assert model.transform(X).shape == (60, 3)
    names = model.get_feature_names_out()
    assert list(names) == [f"dbm{i}" for i in range(3)]
    model.set_params(transform_layers="all")
    h = model.transform(X)
    assert h.shape == (60, 8)
    assert len(model.get_feature_names_out()) == 8
    model.set_params(transform_layers="top")
    assert_allclose(h[:, 5:], model.transform(X))
    # Each row's mean-field solution does not depend on the other rows.
    assert_allclose(model.transform(X[3:4]), model.transform(X)[3:4], rtol=1e-12)


def test_pretraining_doubling_trick():
    X = prototype_data(60)
    kw = {"n_components": 4, "n_iter": 2, "random_state": 0}
    bottom = _BottomRBM(**kw).fit(X)
    W, c = bottom.components_, bottom.intercept_hidden_
    assert_allclose(bottom.transform(X), 1 / (1 + np.exp(-(2 * X @ W.T + c))))
    top = _TopRBM(**kw).fit(X)
    W, c = top.components_, top.intercept_hidden_
    assert_allclose(top.transform(X), 1 / (1 + np.exp(-(X @ W.T + c))))
    # Composition: 3 layers, the middle weights halved, shared biases averaged.
    model = DBM((4, 3, 2), n_iter=0, pretrain_n_iter=2, random_state=0).fit(X)
    assert [W.shape for W in model.coefs_] == [(4, 8), (3, 4), (2, 3)]
    assert [b.shape for b in model.intercepts_] == [(8,), (4,), (3,), (2,)]


def test_verbose_output(capsys):
    X = prototype_data(40)
    DBM((4, 3), n_iter=2, pretrain_n_iter=1, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"\[DBM\] Pretrained layer 1 \(BottomRBM\), time = ", out[0])
    assert re.match(
        r"\[DBM\] Iteration 2, mean-field bound \+ log Z = -?\d+\.\d\d, "
        r"time = \d+\.\d\ds",
        out[-1],
    )


# ------------------------------------------------------------ bad input
def test_bad_input():
    X = prototype_data(20)
    with pytest.raises(ValueError, match=r"must contain probabilities in \[0, 1\]"):
        DBM((3,), n_iter=1).fit(X - 0.5)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a positive"):
        DBM(()).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a positive"):
        DBM((3, 0)).fit(X)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        DBM((3,), learning_rate=-1.0).fit(X)
    with pytest.raises(InvalidParameterError, match="transform_layers"):
        DBM((3,), transform_layers="middle").fit(X)
    with pytest.raises(NotFittedError):
        DBM((3,)).transform(X)
    with pytest.raises(NotFittedError):
        DBM((3,)).sample(2)
    model = DBM((3, 2), n_iter=1, pretrain_n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match=r"must contain probabilities in \[0, 1\]"):
        model.partial_fit(X + 1.0)
    with pytest.raises(ValueError, match=r"init must contain probabilities"):
        model.sample(2, init=X - 1.0)
    with pytest.raises(ValueError, match="n_samples must be an integer"):
        model.sample(0)


@pytest.mark.parametrize("sizes", [(5, 4, 3), (4, 3, 2, 3), (3, 4)])
def test_importance_log_likelihood_converges_to_exact(sizes):
    Ws, bs = random_params(sizes, seed=3)
    layers, neg_e, _, log_pv = brute_force(Ws, bs)
    model = fitted_dbm(Ws, bs, mean_field_max_iter=100, mean_field_tol=1e-10)
    V = binary_states(0, 2 ** sizes[0], sizes[0])
    K = 20000
    est = model.importance_log_likelihood(V, n_samples=K, random_state=0)
    # Tolerance from the weights' exact relative variance r = E_q[(p/q)^2] - 1
    # of each row (the odd layers' posterior p by enumeration, q mean-field):
    # the estimator's standard error is ~sqrt(r/K), its bias ~ -r/(2K).
    mus = model._mean_field(V)[2]
    odd = list(range(1, len(sizes), 2))
    bits = np.concatenate([layers[k] for k in odd], axis=1)
    h_idx = bits @ (2 ** np.arange(bits.shape[1]))
    v_idx = layers[0] @ (2 ** np.arange(sizes[0]))
    for i in range(V.shape[0]):
        rows = v_idx == i
        log_joint = np.array(
            [
                logsumexp(neg_e[rows][h_idx[rows] == j])
                for j in range(2 ** bits.shape[1])
            ]
        )
        post = np.exp(log_joint - logsumexp(log_joint))
        states = binary_states(0, post.size, bits.shape[1])
        mu = np.concatenate([mus[k - 1][i] for k in odd])
        q = np.prod(np.where(states > 0, mu, 1 - mu), axis=1)
        r = max(np.sum(post**2 / q) - 1.0, 0.0)
        tol = 5 * np.sqrt(r / K) + r / K + 1e-9
        assert abs(est[i] - log_pv[i]) <= tol, (i, est[i], log_pv[i], tol)
    # never below the mean-field bound (beyond the same tolerance scale)
    assert np.mean(est) >= np.mean(model.score_samples(V)) - 1e-6


def test_importance_log_likelihood_api():
    X = prototype_data(40)
    model = DBM((6, 4), n_iter=2, pretrain_n_iter=2, random_state=0).fit(X)
    a = model.importance_log_likelihood(X, n_samples=7, random_state=1)
    b = model.importance_log_likelihood(X, n_samples=7, random_state=1)
    assert_array_equal(a, b)
    assert a.shape == (40,)
    c = model.importance_log_likelihood(sp.csr_matrix(X), n_samples=7, random_state=1)
    assert_allclose(a, c, rtol=1e-10, atol=1e-10)
    # the default log Z is the one score_samples uses (exact on this size)
    b = model.importance_log_likelihood(X, n_samples=7, random_state=1, method="exact")
    assert_allclose(a, b, atol=1e-9)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        model.importance_log_likelihood(X, n_samples=0)
    with pytest.raises(ValueError, match="features"):
        model.importance_log_likelihood(X[:, :3])
    with pytest.raises(NotFittedError):
        DBM((3,)).importance_log_likelihood(X)


def _one_update(model, X, lr, **params):
    """Parameters after one joint update of a copy of ``model`` with ``params``."""
    m = pickle.loads(pickle.dumps(model)).set_params(**params)
    m._update(X, np.random.default_rng(5), lr)
    return m


def test_max_norm_is_the_update_then_row_clipping():
    X = prototype_data(40)
    model = DBM((6, 4), n_iter=0, pretrain=False, random_state=0).fit(X)
    # rows of norms spread over ~0.2 to ~2, so that a cap binds on some
    model.coefs_ = [W * 20 * np.arange(1, len(W) + 1)[:, None] for W in model.coefs_]
    free = _one_update(model, X, 0.5)
    norms = [np.linalg.norm(W, axis=1) for W in free.coefs_]
    cap = np.median(np.concatenate(norms))
    capped = _one_update(model, X, 0.5, max_norm=cap)
    for Wf, Wc, n in zip(free.coefs_, capped.coefs_, norms, strict=True):
        over = n > cap
        assert over.any() and (~over).any()
        assert_allclose(Wc[~over], Wf[~over], rtol=1e-12)
        assert_allclose(Wc[over], Wf[over] * (cap / n[over])[:, None], rtol=1e-12)
    for a, b in zip(free.intercepts_, capped.intercepts_, strict=True):
        assert_allclose(a, b, rtol=1e-12)
    # over a whole fit every row stays within the cap
    fitted = DBM((6, 4), n_iter=5, learning_rate=0.5, max_norm=0.3, random_state=0)
    fitted.fit(X)
    for W in fitted.coefs_:
        assert np.linalg.norm(W, axis=1).max() <= 0.3 * (1 + 1e-12)


def test_sparsity_step_moves_hidden_biases_toward_target():
    X = prototype_data(40)
    model = DBM((6, 4), n_iter=0, pretrain=False, random_state=0).fit(X)
    model.coefs_ = [W * 40 for W in model.coefs_]
    lr, targets = 0.2, [0.05, 0.3]
    free = _one_update(model, X, lr)
    _, _, mus = model._mean_field(X)  # the update's positive phase
    for costs in (3.0, [3.0, 0.0], [0.0, 2.0]):
        sparse = _one_update(model, X, lr, sparsity_cost=costs, sparsity_target=targets)
        assert_allclose(sparse.coefs_[0], free.coefs_[0], rtol=1e-12)
        assert_allclose(sparse.intercepts_[0], free.intercepts_[0], rtol=1e-12)
        for k, (t, c) in enumerate(
            zip(targets, np.broadcast_to(costs, 2), strict=True), 1
        ):
            expect = lr * c * (t - mus[k - 1].mean(axis=0))
            step = sparse.intercepts_[k] - free.intercepts_[k]
            assert_allclose(step, expect, atol=1e-12)
            assert (c == 0) == np.all(step == 0)
    # in training the penalty pulls the mean activation of each layer down
    kw = {"n_iter": 20, "pretrain": False, "batch_size": 20, "random_state": 0}
    plain = DBM((6, 4), learning_rate=0.05, **kw).fit(X)
    pulled = DBM(
        (6, 4), learning_rate=0.05, sparsity_cost=2.0, sparsity_target=0.05, **kw
    ).fit(X)
    for a, b in zip(plain._mean_field(X)[2], pulled._mean_field(X)[2], strict=True):
        assert b.mean() < a.mean() - 0.1


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_norm": 0.0}, "max_norm"),
        ({"max_norm": -1.0}, "max_norm"),
        ({"sparsity_cost": -0.1}, "sparsity_cost"),
        ({"sparsity_cost": [0.1, -0.1]}, "sparsity_cost must be a float >= 0"),
        ({"sparsity_cost": [0.1, 0.1, 0.1]}, r"sparsity_cost.*\(2\)"),
        ({"sparsity_target": 1.0}, "sparsity_target"),
        (
            {"sparsity_target": [0.1, 0.2, 0.3]},
            r"per hidden layer \(2\)",
        ),
        ({"sparsity_target": [0.1, 0.0]}, "sparsity_target must be a float in"),
    ],
)
def test_sparsity_and_max_norm_validation(params, match):
    X = prototype_data(20)
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        DBM((3, 2), n_iter=1, pretrain=False, **params).fit(X)
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        DBM((3, 2), **params).partial_fit(X)


def test_sparsity_average_is_damped():
    X = prototype_data(20)
    model = DBM((3, 2), n_iter=0, pretrain=False, random_state=0).fit(X)
    model.set_params(sparsity_target=[0.1, 0.4], sparsity_cost=[1.0, 2.0])
    b0 = [b.copy() for b in model.intercepts_]
    s1 = [np.array([2.0, 4.0, 6.0]), np.array([1.0, 9.0])]
    s2 = [np.array([8.0, 0.0, 2.0]), np.array([5.0, 5.0])]
    model._sparsity_step(s1, 10, 0.5)
    model._sparsity_step(s2, 10, 0.5)
    for k, (t, c) in enumerate([(0.1, 1.0), (0.4, 2.0)], start=1):
        q1 = s1[k - 1] / 10
        q2 = 0.9 * q1 + 0.1 * s2[k - 1] / 10
        expect = b0[k] + 0.5 * c * (t - q1) + 0.5 * c * (t - q2)
        assert_allclose(model.intercepts_[k], expect, rtol=1e-12)
    assert_array_equal(model.intercepts_[0], b0[0])


# two epochs of 10 updates, large enough steps that average and iterate differ
_AVERAGE_FIT = {
    "pretrain": False,
    "batch_size": 10,
    "n_iter": 2,
    "random_state": 0,
    "learning_rate": 0.1,
}


def _params(model):
    return [p.copy() for p in model.coefs_ + model.intercepts_]


@pytest.mark.parametrize("start", [True, 60])
def test_average_is_the_mean_of_the_iterates(start):
    # A twin without averaging follows the same random stream (averaging
    # draws nothing). Its iterates, averaged by hand, must be what the
    # averaged model shows; and the averaged model must go on training from
    # its last iterate, not from the average, or the twins would drift apart.
    X = prototype_data(300)
    kw = {"pretrain": False, "batch_size": 10, "learning_rate": 0.1}
    kw.update(momentum=0.5, centering=True, random_state=0)
    avg = DBM((5, 3), average=start, **kw)
    twin = DBM((5, 3), **kw)
    iterates = []
    for i in range(30):
        batch = X[10 * i : 10 * (i + 1)]
        avg.partial_fit(batch)
        twin.partial_fit(batch)
        if 10 * (i + 1) >= (0 if start is True else start):
            iterates.append(_params(twin))
    assert len(iterates) == (30 if start is True else 25)
    mean = [np.mean(ps, axis=0) for ps in zip(*iterates, strict=True)]
    for a, m in zip(_params(avg), mean, strict=True):
        assert_allclose(a, m, atol=1e-12)
    for a, t in zip(avg.particles_, twin.particles_, strict=True):
        assert_array_equal(a, t)
    assert np.abs(avg.coefs_[0] - twin.coefs_[0]).max() > 1e-3
    # fit averages the same updates
    fitted = DBM((5, 3), average=start, n_iter=1, **kw).fit(X)
    again = DBM((5, 3), average=start, **kw).partial_fit(X)
    for a, b in zip(_params(fitted), _params(again), strict=True):
        assert_allclose(a, b, rtol=1e-12)
    assert (
        np.abs(fitted.coefs_[0] - DBM((5, 3), n_iter=1, **kw).fit(X).coefs_[0]).max()
        > 1e-3
    )


def test_average_restarts_when_the_user_sets_parameters():
    X = prototype_data(100)
    kw = _AVERAGE_FIT
    avg = DBM((5, 3), average=True, **kw).fit(X)
    plain = DBM((5, 3), **kw).fit(X)
    start = [np.full_like(W, 0.1) for W in plain.coefs_]
    avg.coefs_ = [W.copy() for W in start]
    plain.coefs_ = [W.copy() for W in start]
    avg.intercepts_ = [b.copy() for b in plain.intercepts_]
    # one update from the user's parameters, averaged over itself alone
    avg.partial_fit(X[:10])
    plain.partial_fit(X[:10])
    for a, b in zip(_params(avg), _params(plain), strict=True):
        assert_allclose(a, b, rtol=1e-12)


def test_average_switched_off_shows_the_last_iterate():
    X = prototype_data(100)
    kw = _AVERAGE_FIT
    avg = DBM((5, 3), average=True, **kw).fit(X)
    plain = DBM((5, 3), **kw).fit(X)
    assert np.abs(avg.coefs_[0] - plain.coefs_[0]).max() > 1e-3
    avg.set_params(average=False).partial_fit(X[:10])
    plain.partial_fit(X[:10])
    for a, b in zip(_params(avg), _params(plain), strict=True):
        assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("average", [0, -5, 1.5, "yes"])
def test_average_validation(average):
    with pytest.raises(InvalidParameterError, match="'average' parameter"):
        DBM((3, 2), n_iter=1, pretrain=False, average=average).fit(prototype_data(20))


def test_average_keeps_float32():
    X = prototype_data(100).astype(np.float32)
    avg = DBM((5, 3), average=True, **_AVERAGE_FIT).fit(X)
    assert all(p.dtype == np.float32 for p in avg.coefs_ + avg.intercepts_)
    assert avg._average.mean[0].dtype == np.float64
    assert np.isfinite(avg.score_samples(X)).all()


def test_average_pickles_without_its_scratch():
    # The running mean is state, its difference buffer is not: a pickled
    # copy leaves it out and goes on exactly as the original.
    X = prototype_data(100)
    avg = DBM((5, 3), average=True, **_AVERAGE_FIT).fit(X)
    assert "average_diff_0" in avg._ws._bufs
    copy = pickle.loads(pickle.dumps(avg))
    assert "_ws" not in copy.__dict__
    avg.partial_fit(X[:30])
    copy.partial_fit(X[:30])
    for a, b in zip(_params(avg), _params(copy), strict=True):
        assert_array_equal(a, b)
    # refitting with other shapes starts a new mean with new buffers
    avg.set_params(hidden_layer_sizes=(4,)).fit(X)
    diffs = [avg._ws._bufs[f"average_diff_{i}"] for i in range(3)]
    assert [d.shape for d in diffs] == [(4, 8), (8,), (4,)]


def test_public_mean_field_and_variational_bound():
    from sklearn.datasets import load_digits

    X = (load_digits().data[:80] / 16.0 >= 0.5).astype(np.float64)
    dbm = DBM((5, 4), n_iter=2, pretrain_n_iter=1, random_state=0).fit(X)
    mus = dbm.mean_field(X)
    assert [m.shape for m in mus] == [(80, 5), (80, 4)]
    np.testing.assert_array_equal(mus[-1], dbm.transform(X))
    log_z = dbm.log_partition(method="exact")
    unnormalized = dbm.variational_bound(X, log_z=0.0)
    np.testing.assert_allclose(dbm.score_samples(X), unnormalized - log_z)
    np.testing.assert_allclose(dbm.variational_bound(X, log_z=3.5), unnormalized - 3.5)
    # a given log Z replaces the cached one: the same draws, shifted
    a = dbm.importance_log_likelihood(X, n_samples=5, random_state=0, log_z=1.0)
    b = dbm.importance_log_likelihood(X, n_samples=5, random_state=0)
    np.testing.assert_allclose(a - b, log_z - 1.0)
