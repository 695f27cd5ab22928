"""BernoulliRBM against exact enumeration, and its estimator behaviour."""

import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from skebm import BernoulliRBM
from skebm._gibbs import (
    rbm_cd_gradient,
    sample_bernoulli_,
    sample_bernoulli_logits_,
    sigmoid_scaled_,
)
from skebm._partition import pseudo_likelihood
from skebm._rbm import _FLOAT64_WORK

from .exact import (
    all_states,
    chi_square_pvalue,
    rbm_joint_log_unnorm,
    rbm_log_pv,
    rbm_log_z,
    state_index,
)

# Goodness-of-fit tests reject at this p-value; chosen before running them.
# With ~10 such tests the chance of a false failure is ~1e-5.
ALPHA = 1e-6

X_DIGITS = load_digits().data / 16.0


def tiny_rbm(D=6, H=4, scale=1.0, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    rbm = BernoulliRBM(n_components=H)
    rbm.components_ = (scale * rng.normal(size=(H, D))).astype(dtype)
    rbm.intercept_visible_ = (scale * rng.normal(size=D)).astype(dtype)
    rbm.intercept_hidden_ = (scale * rng.normal(size=H)).astype(dtype)
    rbm.n_features_in_ = D
    rbm._n_features_out = H
    rbm.h_samples_ = np.zeros((10, H), dtype=dtype)
    return rbm


def params(rbm):
    return rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_


# --------------------------------------------------------------- exact maths
def test_free_energy_matches_enumeration():
    rbm = tiny_rbm(scale=2.0)
    V = all_states(6)
    J = rbm_joint_log_unnorm(*params(rbm))  # (2**D, 2**H)
    assert_allclose(rbm.free_energy(V), -logsumexp(J, axis=1), rtol=1e-12)


def test_conditionals_match_enumeration():
    rbm = tiny_rbm(scale=1.5)
    W, b, c = params(rbm)
    V, Hs = all_states(6), all_states(4)
    J = rbm_joint_log_unnorm(W, b, c)
    p_h_given_v = np.exp(J - logsumexp(J, axis=1, keepdims=True))  # (2**D, 2**H)
    assert_allclose(rbm.transform(V), p_h_given_v @ Hs, rtol=1e-10)
    p_v_given_h = np.exp(J - logsumexp(J, axis=0, keepdims=True))
    assert_allclose(expit(Hs @ W + b), p_v_given_h.T @ V, rtol=1e-10)


def test_exact_pseudo_likelihood_matches_enumeration():
    rbm = tiny_rbm(scale=1.5)
    log_pv = rbm_log_pv(*params(rbm))
    V = all_states(6)
    expected = np.zeros(len(V))
    for i in range(6):
        flipped = V.copy()
        flipped[:, i] = 1 - flipped[:, i]
        lp, lq = log_pv[state_index(V)], log_pv[state_index(flipped)]
        expected += lp - np.logaddexp(lp, lq)
    assert_allclose(rbm.score_samples(V), expected, rtol=1e-10)
    # fractional inputs: the same formula with mean-field visibles
    Xf = np.random.default_rng(0).random((5, 6))
    pl = pseudo_likelihood(Xf, *params(rbm))
    ref = np.zeros(5)
    for i in range(6):
        fl = Xf.copy()
        fl[:, i] = 1 - fl[:, i]
        d = rbm.free_energy(fl) - rbm.free_energy(Xf)
        ref += -np.logaddexp(0, -d)
    assert_allclose(pl, ref, rtol=1e-10)


def test_stochastic_pseudo_likelihood_is_unbiased():
    rbm = tiny_rbm(scale=1.0)
    V = all_states(6)
    exact = rbm.score_samples(V)
    rbm.set_params(pseudo_likelihood="stochastic")
    est = np.mean(
        [rbm.set_params(random_state=s).score_samples(V) for s in range(600)], axis=0
    )
    # per-state std of the estimator is < 6*|log sigma| range; 600 draws.
    assert_allclose(est, exact, atol=0.5)


def test_gibbs_sampler_matches_exact_distribution():
    rbm = tiny_rbm(scale=1.0, seed=1)
    p = np.exp(rbm_log_pv(*params(rbm)))
    S = rbm.sample(20000, n_steps=50, random_state=0)
    counts = np.bincount(state_index(S), minlength=64)
    assert chi_square_pvalue(counts, p) > ALPHA


def test_pcd_gradient_matches_exact_gradient():
    rbm = tiny_rbm(scale=1.0, seed=2)
    W, b, c = params(rbm)
    rng = np.random.default_rng(0)
    data = (rng.random((40, 6)) < 0.4).astype(float)
    # exact: E_data[p(h|v) v^T] - E_model[h v^T]
    V, Hs = all_states(6), all_states(4)
    J = rbm_joint_log_unnorm(W, b, c)
    P = np.exp(J - logsumexp(J))
    model_hv = Hs.T @ P.T @ V  # (H, D)
    ph = expit(data @ W.T + c)
    exact_W = ph.T @ data / len(data) - model_hv
    # PCD with many persistent chains run long enough to mix
    m = 20000
    h_chain = (rng.random((m, 4)) < 0.5).astype(float)
    gW, gb, gc, _ = rbm_cd_gradient(data, W, b, c, rng, h_chain=h_chain, n_steps=60)
    B = len(data)
    # each entry is a mean of m bounded terms in [0, 1]: std <= 0.5/sqrt(m);
    # 6 standard errors.
    tol = 6 * 0.5 / np.sqrt(m)
    assert_allclose(gW / B, exact_W, atol=tol)
    assert_allclose(gb / B, data.mean(0) - P.sum(1) @ V, atol=tol)
    assert_allclose(gc / B, ph.mean(0) - P.sum(0) @ Hs, atol=tol)


@pytest.mark.parametrize("k", [1, 3])
def test_cd_gradient_matches_exact_cd_expectation(k):
    rbm = tiny_rbm(scale=1.0, seed=3)
    W, b, c = params(rbm)
    V, Hs = all_states(6), all_states(4)
    data = V[[3, 17, 40, 63]]
    # exact k-step transition T[v, v'] = sum_h p(h|v) p(v'|h)
    ph = expit(V @ W.T + c)
    p_h = np.prod(np.where(Hs[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)
    pv = expit(Hs @ W + b)
    p_v = np.prod(np.where(V[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)
    T = p_h @ p_v
    Tk = np.linalg.matrix_power(T, k)[state_index(data)]  # (n_data, 2**D)
    neg = (Tk.mean(0)[:, None] * ph).T @ V  # E[p(h|v_k) v_k^T]
    pos = ph[state_index(data)].T @ data / len(data)
    reps = 5000
    batch = np.repeat(data, reps, axis=0)
    gW, *_ = rbm_cd_gradient(batch, W, b, c, np.random.default_rng(1), n_steps=k)
    tol = 6 * 0.5 / np.sqrt(len(batch))
    assert_allclose(gW / len(batch), pos - neg, atol=tol)


def test_training_increases_exact_likelihood():
    rng = np.random.default_rng(0)
    patterns = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]])
    X = patterns[rng.integers(0, 3, 300)].astype(float)
    kw = dict(n_components=4, batch_size=10, random_state=0)
    init = BernoulliRBM(n_iter=0, **kw).fit(X).log_likelihood(X).mean()
    # log(1/3) = -1.10 is the optimum; the initial model sits near -6 log 2 = -4.16
    assert init < -4.1
    default = BernoulliRBM(n_iter=20, **kw).fit(X).log_likelihood(X).mean()
    assert default > init + 1.0
    rbm = BernoulliRBM(
        n_iter=60,
        n_chains=100,
        n_gibbs_steps=5,
        learning_rate=0.1,
        learning_rate_schedule="linear",
        **kw,
    ).fit(X)
    ll = rbm.log_likelihood(X).mean()
    assert ll > -2.0
    assert rbm.log_likelihood(X, method="exact").mean() == ll


# -------------------------------------------------------- estimator behaviour
def test_fit_matches_sklearn_statistically():
    rbm = BernoulliRBM(
        n_components=64, learning_rate=0.1, batch_size=10, n_iter=7, random_state=9
    ).fit(X_DIGITS)
    assert -22.5 < rbm.score_samples(X_DIGITS).mean() < -19.5


def test_legacy_random_state_reproduces_sklearn_stream():
    from sklearn.neural_network import BernoulliRBM as SkRBM

    X = X_DIGITS[:200]  # 200 = 20 * batch_size: no ragged last batch
    kw = dict(n_components=8, batch_size=10, n_iter=3)
    ours = BernoulliRBM(random_state=np.random.RandomState(5), **kw).fit(X)
    theirs = SkRBM(random_state=np.random.RandomState(5), **kw).fit(X)
    assert_allclose(ours.components_, theirs.components_, atol=1e-10)
    assert_allclose(ours.h_samples_, theirs.h_samples_)


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_float32_and_float64_follow_the_same_stream(method):
    # 20 * 64 * 64 multiply-adds per product: trained in float32 arithmetic
    X = X_DIGITS[:100]
    kw = dict(n_components=64, batch_size=20, n_iter=5, random_state=42, method=method)
    assert kw["batch_size"] * X.shape[1] * kw["n_components"] >= _FLOAT64_WORK
    r64 = BernoulliRBM(**kw).fit(X.astype(np.float64))
    r32 = BernoulliRBM(**kw).fit(X.astype(np.float32))
    assert r32.components_.dtype == np.float32
    assert_allclose(r64.transform(X), r32.transform(X.astype(np.float32)), rtol=1e-5)
    assert_allclose(r64.components_, r32.components_, rtol=1e-3, atol=1e-6)
    assert not np.array_equal(r64.components_.astype(np.float32), r32.components_)


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_small_float32_fit_is_the_float64_fit_rounded(method):
    # 5 * 64 * 16 multiply-adds per product: trained in float64, stored float32
    # (scikit-learn's own float32 test compares every weight to rtol 1e-3, which
    # a float32 trajectory misses for weights within ~1e-4 of zero)
    X = X_DIGITS[:100]
    kw = dict(n_components=16, batch_size=5, n_iter=5, random_state=42, method=method)
    assert kw["batch_size"] * X.shape[1] * kw["n_components"] < _FLOAT64_WORK
    kw.update(momentum=0.5, centering=True)  # optimiser state is cast too
    r64 = BernoulliRBM(**kw).fit(X.astype(np.float64))
    r32 = BernoulliRBM(**kw).fit(X.astype(np.float32))
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        a, b = getattr(r64, name), getattr(r32, name)
        assert b.dtype == np.float32
        assert_array_equal(b, a.astype(np.float32))
    assert r32.h_samples_.dtype == np.float32
    assert r32.transform(X.astype(np.float32)).dtype == np.float32
    # partial_fit goes on the same way and keeps each model's dtype
    r64.partial_fit(X[:5].astype(np.float64))
    r32.partial_fit(X[:5].astype(np.float32))
    assert r32.components_.dtype == np.float32
    assert_allclose(r32.components_, r64.components_, rtol=1e-6, atol=1e-9)
    r64.partial_fit(X[:5].astype(np.float32))
    assert r64.components_.dtype == np.float64


def test_partial_fit_returns_self_and_keeps_float32():
    X = X_DIGITS[:50].astype(np.float32)
    rbm = BernoulliRBM(n_components=8, random_state=0)
    assert rbm.partial_fit(X) is rbm
    rbm.partial_fit(X)
    assert rbm.components_.dtype == np.float32
    assert rbm.transform(X).dtype == np.float32


def test_fit_equals_repeated_partial_fit():
    X = X_DIGITS[:100]
    a = BernoulliRBM(n_components=8, batch_size=10, n_iter=1, random_state=3).fit(X)
    b = BernoulliRBM(n_components=8, batch_size=10, random_state=3)
    for i in range(0, 100, 10):
        b.partial_fit(X[i : i + 10])
    assert_allclose(a.components_, b.components_, rtol=1e-12)
    assert_array_equal(a.h_samples_, b.h_samples_)


@pytest.mark.parametrize("fmt", ["csr", "csc", "lil"])
def test_sparse_and_dense_give_the_same_model(fmt):
    X = X_DIGITS[:120]
    kw = dict(n_components=10, batch_size=10, n_iter=3, random_state=1)
    dense = BernoulliRBM(**kw).fit(X)
    sparse = BernoulliRBM(**kw).fit(sp.csr_matrix(X).asformat(fmt))
    assert_allclose(dense.components_, sparse.components_, rtol=1e-9, atol=1e-12)
    Xs = sp.csr_matrix(X)
    assert_allclose(dense.transform(X), sparse.transform(Xs), rtol=1e-9)
    assert_allclose(dense.score_samples(X), sparse.score_samples(Xs), rtol=1e-9)
    assert_allclose(dense.free_energy(X), sparse.free_energy(Xs), rtol=1e-9)
    s1 = BernoulliRBM(**kw).fit(X).partial_fit(X[:10])
    s2 = BernoulliRBM(**kw).fit(Xs).partial_fit(Xs[:10])
    assert_allclose(s1.components_, s2.components_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "extra",
    [
        dict(method="cd"),
        dict(method="cd", n_gibbs_steps=3),
        dict(method="pcd", n_gibbs_steps=2, n_chains=7),
        dict(momentum=0.5, weight_decay=1e-4),
        dict(learning_rate_schedule="linear", visible_bias_init="data"),
        dict(learning_rate_schedule="invscaling"),
    ],
)
def test_options_train_and_improve_pseudo_likelihood(extra):
    X = X_DIGITS[:300]
    base = BernoulliRBM(n_components=16, n_iter=0, random_state=0).fit(X)
    rbm = BernoulliRBM(n_components=16, n_iter=5, random_state=0, **extra).fit(X)
    assert rbm.score(X) > base.score(X) + 3
    if extra.get("n_chains"):
        assert rbm.h_samples_.shape == (7, 16)


def test_visible_bias_init_from_data():
    X = X_DIGITS[:200]
    rbm = BernoulliRBM(n_components=4, n_iter=0, visible_bias_init="data").fit(X)
    p = (X.sum(0) + 1) / (len(X) + 2)
    assert_allclose(rbm.intercept_visible_, np.log(p / (1 - p)))


def test_score_is_mean_of_score_samples():
    rbm = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X_DIGITS[:100])
    assert rbm.score(X_DIGITS[:50]) == pytest.approx(
        rbm.score_samples(X_DIGITS[:50]).mean()
    )


def test_pseudo_likelihood_chunks_do_not_change_the_result(monkeypatch):
    import skebm._partition as part

    rbm = BernoulliRBM(n_components=20, n_iter=1, random_state=0).fit(X_DIGITS[:100])
    full = rbm.score_samples(X_DIGITS[:37])
    monkeypatch.setattr(part, "_PL_CHUNK_ELEMENTS", 64 * 20 * 3)  # 3 rows a chunk
    assert_allclose(rbm.score_samples(X_DIGITS[:37]), full, rtol=1e-12)


def test_verbose_line(capsys):
    BernoulliRBM(n_components=4, n_iter=2, verbose=1, random_state=0).fit(X_DIGITS)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"\[BernoulliRBM\] Iteration {i}, pseudo-likelihood = -?\d+\.\d\d, "
            r"time = \d+\.\d\ds",
            line,
        )


def test_feature_names_out():
    rbm = BernoulliRBM(n_components=3, n_iter=1).fit(X_DIGITS[:20])
    assert_array_equal(
        rbm.get_feature_names_out(), ["bernoullirbm0", "bernoullirbm1", "bernoullirbm2"]
    )


def test_random_state_kinds():
    X = X_DIGITS[:30]
    for rs in (0, np.random.RandomState(0), np.random.default_rng(0), None):
        BernoulliRBM(n_components=3, n_iter=1, random_state=rs).fit(X)
    a = BernoulliRBM(n_components=3, n_iter=2, random_state=7).fit(X)
    b = BernoulliRBM(n_components=3, n_iter=2, random_state=7).fit(X)
    assert_array_equal(a.components_, b.components_)


def test_pickle_round_trip():
    rbm = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X_DIGITS[:100])
    clone = pickle.loads(pickle.dumps(rbm))
    assert_array_equal(clone.transform(X_DIGITS), rbm.transform(X_DIGITS))
    assert_array_equal(clone.score_samples(X_DIGITS), rbm.score_samples(X_DIGITS))
    assert_array_equal(
        clone.sample(5, n_steps=10, random_state=1),
        rbm.sample(5, n_steps=10, random_state=1),
    )


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("n_components", 0, "n_components"),
        ("batch_size", 0, "batch_size"),
        ("n_iter", -1, "n_iter"),
        ("learning_rate", 0.0, "learning_rate"),
        ("learning_rate", -1.0, "learning_rate"),
        ("n_gibbs_steps", 0, "n_gibbs_steps"),
        ("method", "bogus", "method"),
        ("momentum", 1.5, "momentum"),
        ("weight_decay", -1.0, "weight_decay"),
        ("n_chains", 0, "n_chains"),
        ("learning_rate_schedule", "fast", "learning_rate_schedule"),
    ],
)
def test_bad_parameters(param, value, message):
    with pytest.raises(ValueError, match=rf"'{message}' parameter of BernoulliRBM"):
        BernoulliRBM(**{param: value}).fit(X_DIGITS[:20])


def test_wrong_width_after_fit():
    rbm = BernoulliRBM(n_components=2, n_iter=1).fit(X_DIGITS[:20])
    with pytest.raises(ValueError, match="64 features"):
        rbm.transform(X_DIGITS[:5, :10])
    with pytest.raises(ValueError, match="64 features"):
        rbm.partial_fit(X_DIGITS[:5, :10])


@pytest.mark.parametrize(
    "method", ["transform", "score_samples", "gibbs", "free_energy", "score"]
)
def test_not_fitted(method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(BernoulliRBM(), method)(X_DIGITS[:3])


def test_not_fitted_sample_and_log_partition():
    with pytest.raises(NotFittedError):
        BernoulliRBM().sample(2)
    with pytest.raises(NotFittedError):
        BernoulliRBM().log_partition()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_weights_stay_finite_without_warnings(dtype):
    # pytest turns warnings into errors; overflow would raise RuntimeWarning.
    rbm = tiny_rbm(D=6, H=4, scale=1e3, seed=4, dtype=dtype)
    V = all_states(6)
    for out in (
        rbm.transform(V),
        rbm.score_samples(V),
        rbm.free_energy(V),
        rbm.gibbs(V),
        rbm.log_likelihood(V),
        rbm.sample(3, n_steps=5, random_state=0),
    ):
        assert np.all(np.isfinite(out))
    ref = rbm_log_z(*(np.asarray(p, np.float64) for p in params(rbm)))
    assert_allclose(rbm.log_partition(), ref, rtol=1e-12)
    # training steps with such weights stay finite too
    rbm.partial_fit(V[:10].astype(dtype))
    assert np.all(np.isfinite(rbm.components_))
    # extreme inputs at evaluation (scikit-learn's #2785 stability case)
    big = np.arange(6)[None, :] * 100.0
    assert np.all(np.isfinite(rbm.score_samples(big)))
    rbm.set_params(pseudo_likelihood="stochastic", random_state=0)
    assert np.all(np.isfinite(rbm.score_samples(big)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("numerator", [1.0, 0.003, -65536.0, 65536.0])
def test_sigmoid_scaled_extremes(dtype, numerator):
    x = np.array([-1e4, -800.0, -90.0, -30.0, -1.0, 0.0, 2.5, 40.0, 800.0, 1e4])
    got = sigmoid_scaled_(x.astype(dtype), numerator)  # filterwarnings=error
    assert got.dtype == dtype
    assert np.all(np.isfinite(got))
    # float32: exp overflows beyond |x| ~ 88, so values below 1e-38 are 0
    tiny = 1e-37 if dtype == np.float32 else 0.0
    rtol = 2e-6 if dtype == np.float32 else 1e-14
    assert_allclose(got, numerator * expit(x), rtol=rtol, atol=tiny * abs(numerator))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("unit", [65536.0, -65536.0, -32768.0, 0.25])
@pytest.mark.parametrize("make_rng", [np.random.default_rng, np.random.RandomState])
def test_bernoulli_draws_with_scaled_probabilities(dtype, unit, make_rng):
    # probabilities stored times a power of 2 give exactly the same draws
    p = np.random.default_rng(0).random((50, 40)).astype(dtype)
    for fast in (False, True):
        ref = sample_bernoulli_(np.empty_like(p), p, make_rng(1), fast=fast)
        got = sample_bernoulli_(
            np.empty_like(p), p * dtype(unit), make_rng(1), fast=fast, unit=unit
        )
        assert_array_equal(got, ref)
        assert 0.4 < ref.mean() < 0.6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_draws_from_logits(dtype):
    # the training loop's draws from pre-activations: the same event as a
    # 16-bit comparison with 2**16 sigmoid(a) (sigmoid in float32), extreme
    # pre-activations give 0 or 1 without warnings (filterwarnings=error)
    a = np.random.default_rng(0).normal(0, 4, (200, 50)).astype(dtype)
    a[0, :6] = [-1e4, -200.0, -np.inf, 1e4, 200.0, np.inf]
    if dtype == np.float64:
        a[1, :2] = [-1e300, 1e300]
    out = sample_bernoulli_logits_(np.empty_like(a), a.copy(), np.random.default_rng(1))
    assert_array_equal(out[0, :6], [0, 0, 0, 1, 1, 1])
    if dtype == np.float64:
        assert_array_equal(out[1, :2], [0, 1])
    with np.errstate(over="ignore"):  # the reference's own cast of 1e300
        p = expit(a.astype(np.float32)).astype(np.float32)
    ref = sample_bernoulli_(
        np.empty_like(a),
        p * np.float32(65536.0),
        np.random.default_rng(1),
        fast=True,
        unit=65536.0,
    )
    assert np.mean(out != ref) < 1e-3  # rounding of the float32 sigmoid only
    # frequencies against the exact probabilities (binomial, 6 sigma)
    big = np.full((2000, 5), [-3.0, -0.5, 0.0, 1.0, 4.0], dtype=dtype)
    draws = sample_bernoulli_logits_(
        np.empty_like(big), big.copy(), np.random.default_rng(2)
    )
    q = expit(big[0].astype(np.float64))
    assert np.all(np.abs(draws.mean(axis=0) - q) < 6 * np.sqrt(q * (1 - q) / 2000))
    # a legacy RandomState keeps scikit-learn's float stream
    legacy = sample_bernoulli_logits_(
        np.empty_like(a), a.copy(), np.random.RandomState(3)
    )
    expected = np.random.RandomState(3).uniform(size=a.shape) < expit(a)
    assert_array_equal(legacy, expected)


def test_h_samples_is_an_array_of_its_own():
    # the chains continue in a workspace buffer during training; the fitted
    # attribute must not change behind the user's back
    X = X_DIGITS[:100]
    rbm = BernoulliRBM(n_components=8, batch_size=10, n_iter=2, random_state=0)
    rbm.fit(X)
    h = rbm.h_samples_
    assert h.base is None and h.flags.c_contiguous and h.shape == (10, 8)
    kept = h.copy()
    for _ in range(3):
        rbm.partial_fit(X[:10])
        assert rbm.h_samples_.base is None
    assert_array_equal(h, kept)
    assert not np.shares_memory(rbm.h_samples_, h)
    assert "_ws" not in pickle.loads(pickle.dumps(rbm)).__dict__
