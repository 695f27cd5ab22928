"""DBM with Gaussian visible units (``visible_units="gaussian"``).

References are written from the energy (Cho, Ilin & Raiko 2011
parameterisation)

    E(v, h1, h2) = sum_i (v_i - b_i)^2 / (2 s_i) - (v / s) . W1^T h1
                   - c1 . h1 - h2 . W2 h1 - c2 . h2,

with scipy: every hidden state enumerated, v integrated in closed form
(completing the square) or by quadrature, sharing no code with skebm.
Statistical tolerances are fixed before the runs: sample means within 5
standard errors, AIS inside its own reported interval.
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import integrate
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skebm import DBM, BernoulliRBM, GaussianBernoulliRBM
from skebm._dbm_math import DBMChain
from skebm._gaussian import gaussian_log_partition_exact
from skebm._sampling import run_chains


def _states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _tiny(sizes=(3, 2), D=3, seed=0, scale=1.5, var=(0.05, 1.5), dtype=np.float64):
    """A Gaussian DBM with its parameters set at random (weights ~ scale)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, D)).astype(dtype)
    model = DBM(
        sizes,
        visible_units="gaussian",
        pretrain=False,
        n_iter=0,
        mean_field_max_iter=500,
        mean_field_tol=1e-13,
        random_state=0,
    ).fit(X)
    dims = [D, *sizes]
    for k, W in enumerate(model.coefs_, start=1):
        W[...] = scale * rng.normal(size=(dims[k], dims[k - 1]))
    for b in model.intercepts_:
        b[...] = rng.normal(size=b.size)
    model.variances_[...] = rng.uniform(*var, size=D)
    return model, X


def _params(model):
    Ws = [W.astype(np.float64) for W in model.coefs_]
    bs = [b.astype(np.float64) for b in model.intercepts_]
    return Ws, bs, model.variances_.astype(np.float64)


def _hidden_grid(model):
    """Every joint state of the hidden layers: one array (S, n_l) per layer."""
    sizes = [W.shape[0] for W in model.coefs_]
    H = _states(sum(sizes))
    return np.split(H, np.cumsum(sizes)[:-1], axis=1)


def _hidden_terms(hs, Ws, bs):
    """sum_l c_l . h_l + sum_{l >= 2} h_l . W_l h_{l-1} per hidden state."""
    out = sum(h @ c for h, c in zip(hs, bs[1:], strict=True))
    for k in range(1, len(hs)):
        out = out + np.einsum("sj,kj,sk->s", hs[k - 1], Ws[k], hs[k])
    return out


def _neg_energy(V, hs, Ws, bs, s):
    """-E(v, h) for every row of V (n, D) and every hidden state: (n, S)."""
    quad = (((V - bs[0]) ** 2) / (2 * s)).sum(axis=1)
    return -quad[:, None] + (V / s) @ Ws[0].T @ hs[0].T + _hidden_terms(hs, Ws, bs)


def _log_marginal_h(hs, Ws, bs, s):
    """log of the integral of exp(-E) over v, per hidden state (closed form)."""
    b = bs[0]
    mean = b + hs[0] @ Ws[0]  # completing the square: v ~ N(b + W1^T h1, s)
    gauss = (((mean**2 - b**2) / (2 * s)).sum(axis=1)) + 0.5 * np.sum(
        np.log(2 * np.pi * s)
    )
    return gauss + _hidden_terms(hs, Ws, bs)


def _ref_log_z(model):
    Ws, bs, s = _params(model)
    return float(logsumexp(_log_marginal_h(_hidden_grid(model), Ws, bs, s)))


def _ref_neg_free_energy(model, V):
    Ws, bs, s = _params(model)
    return logsumexp(_neg_energy(V, _hidden_grid(model), Ws, bs, s), axis=1)


# ----------------------------------------------------------- exact values
@pytest.mark.parametrize("scale, var", [(0.5, (0.5, 2.0)), (4.0, (0.01, 0.1))])
def test_exact_log_partition_matches_enumeration(scale, var):
    model, _ = _tiny(scale=scale, var=var)
    assert model.log_partition(method="exact") == pytest.approx(
        _ref_log_z(model), rel=1e-10, abs=1e-8
    )


@pytest.mark.parametrize("D", [1, 2])
def test_exact_log_partition_matches_quadrature(D):
    model, _ = _tiny(sizes=(2, 2), D=D, seed=3, scale=1.0, var=(0.3, 1.0))
    # the mixture's component means b + W1^T h1 and 12 standard deviations
    means = model.intercepts_[0] + _states(2) @ model.coefs_[0]
    sd = np.sqrt(model.variances_)
    lo, hi = means.min(axis=0) - 12 * sd, means.max(axis=0) + 12 * sd

    def f(*v):
        return np.exp(_ref_neg_free_energy(model, np.array([v]))[0])

    if D == 1:
        z, _ = integrate.quad(f, lo[0], hi[0], epsabs=0, epsrel=1e-12, limit=200)
    else:
        z, _ = integrate.dblquad(
            lambda y, x: f(x, y), lo[0], hi[0], lo[1], hi[1], epsabs=0, epsrel=1e-10
        )
    assert model.log_partition(method="exact") == pytest.approx(np.log(z), abs=1e-8)


def test_free_energy_and_log_likelihood_are_exact():
    model, X = _tiny(scale=3.0, var=(0.02, 0.5))
    neg_f = _ref_neg_free_energy(model, X)
    np.testing.assert_allclose(-model.free_energy(X), neg_f, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(
        model.log_likelihood(X), neg_f - _ref_log_z(model), rtol=1e-10, atol=1e-8
    )


def test_three_hidden_layers_exact():
    model, X = _tiny(sizes=(2, 3, 2), scale=2.0, var=(0.05, 1.0))
    assert model.log_partition(method="exact") == pytest.approx(
        _ref_log_z(model), rel=1e-10, abs=1e-8
    )
    np.testing.assert_allclose(
        -model.free_energy(X), _ref_neg_free_energy(model, X), rtol=1e-10, atol=1e-8
    )


def test_extreme_parameters_stay_finite_without_warnings():
    # weights of 30 against variances of 1e-4: activations of ~1e6
    model, X = _tiny(scale=30.0, var=(1e-4, 1e-3))
    assert model.log_partition(method="exact") == pytest.approx(
        _ref_log_z(model), rel=1e-12
    )
    log_p = model.log_likelihood(X)
    assert np.all(np.isfinite(log_p))
    assert np.all(model.variational_bound(X) <= log_p + 1e-6 * np.abs(log_p))
    assert np.all(np.isfinite(model.sample(20, n_steps=10, random_state=0)))
    info = model.log_partition(
        method="ais", n_betas=200, n_runs=10, random_state=0, return_details=True
    )
    assert np.isfinite(info["log_z"])


def test_importance_weights_are_unbiased():
    # exp(estimate) is the mean importance weight, an unbiased estimate of
    # p(x): over independent replicates, the ratio to the exact p(x) has
    # mean 1 (within 5 standard errors of the replicates)
    model, X = _tiny(scale=1.5, var=(0.2, 1.0))
    log_p = _ref_neg_free_energy(model, X) - _ref_log_z(model)
    ratios = np.array(
        [
            np.exp(model.importance_log_likelihood(X, n_samples=50, random_state=r))
            / np.exp(log_p)
            for r in range(40)
        ]
    )
    se = ratios.std(axis=0, ddof=1) / np.sqrt(len(ratios))
    assert np.all(np.abs(ratios.mean(axis=0) - 1) < 5 * se + 1e-12)
    assert np.all(ratios.mean(axis=0) > np.exp(model.variational_bound(X) - log_p))


def test_one_hidden_layer_is_the_gaussian_rbm():
    model, X = _tiny(sizes=(4,), scale=2.0)
    W, (b, c), s = model.coefs_[0], model.intercepts_, model.variances_
    assert model.log_partition(method="exact") == pytest.approx(
        gaussian_log_partition_exact(W, b, c, s), abs=1e-9
    )
    rbm = GaussianBernoulliRBM(4, n_iter=0).fit(X)
    rbm.components_[...], rbm.intercept_visible_[...] = W, b
    rbm.intercept_hidden_[...], rbm.log_variances_[...] = c, np.log(s)
    np.testing.assert_allclose(model.free_energy(X), rbm.free_energy(X), atol=1e-9)
    np.testing.assert_allclose(model.transform(X), rbm.transform(X), atol=1e-12)


# ------------------------------------------------------------ mean field
def test_mean_field_is_a_fixed_point():
    model, X = _tiny(scale=2.0, var=(0.1, 1.0))
    (W1, W2), (_, c1, c2), s = _params(model)
    mu1, mu2 = model.mean_field(X)
    np.testing.assert_allclose(mu1, expit(c1 + (X / s) @ W1.T + mu2 @ W2), atol=1e-9)
    np.testing.assert_allclose(mu2, expit(c2 + mu1 @ W2.T), atol=1e-9)
    np.testing.assert_allclose(model.transform(X), mu2)


def test_variational_bound_is_log_p_minus_kl():
    model, X = _tiny(scale=2.0, var=(0.05, 1.0))
    Ws, bs, s = _params(model)
    h1, h2 = hs = _hidden_grid(model)
    mu1, mu2 = model.mean_field(X)
    # q(h) of every hidden state, and the exact posterior p(h | v)
    log_q = (np.log(np.where(h1[None], mu1[:, None], 1 - mu1[:, None]))).sum(-1)
    log_q += (np.log(np.where(h2[None], mu2[:, None], 1 - mu2[:, None]))).sum(-1)
    neg_e = _neg_energy(X, hs, Ws, bs, s)
    log_post = neg_e - logsumexp(neg_e, axis=1, keepdims=True)
    q = np.exp(log_q)
    kl = (q * (log_q - log_post)).sum(axis=1)
    log_p = _ref_neg_free_energy(model, X) - _ref_log_z(model)
    bound = model.variational_bound(X)
    np.testing.assert_allclose(bound, log_p - kl, rtol=1e-10, atol=1e-8)
    assert np.all(bound <= log_p + 1e-12)
    np.testing.assert_allclose(model.score_samples(X), bound)
    # the bound without log Z: E_q[-E] + H(q)
    ref = (q * (neg_e - log_q)).sum(axis=1)
    np.testing.assert_allclose(model.variational_bound(X, log_z=0), ref, atol=1e-8)


# ------------------------------------------------- sampling and AIS
def _exact_moments(model):
    """E[v], Var[v], E[h1] under the model, by enumeration."""
    Ws, bs, s = _params(model)
    hs = _hidden_grid(model)
    log_w = _log_marginal_h(hs, Ws, bs, s)
    p = np.exp(log_w - logsumexp(log_w))
    mean_v = bs[0] + hs[0] @ Ws[0]
    ev = p @ mean_v
    var_v = p @ (s + mean_v**2) - ev**2
    return ev, var_v, p @ hs[0]


class _FirstHiddenChain(DBMChain):
    """Returns the h^1 states instead of the visible ones (tests only)."""

    def visible(self, state, probabilities):
        return state["x"][1].copy()


def test_sampler_marginals_match_enumeration():
    model, _ = _tiny(seed=1, scale=1.0, var=(0.5, 1.5))
    ev, var_v, eh1 = _exact_moments(model)
    n = 2000
    v = model.sample(n, n_steps=100, random_state=0)
    se = np.sqrt(var_v / n)
    assert np.all(np.abs(v.mean(axis=0) - ev) < 5 * se), (v.mean(0), ev, se)
    h1 = run_chains(model._chain_model(_FirstHiddenChain), n, 100, random_state=1)
    se = np.sqrt(eh1 * (1 - eh1) / n)
    assert np.all(np.abs(h1.mean(axis=0) - eh1) < 5 * se), (h1.mean(0), eh1, se)
    # probabilities=True gives the means b + W1^T h1 of p(v | h1)
    means = model.sample(n, n_steps=100, probabilities=True, random_state=0)
    assert np.all(np.abs(means.mean(axis=0) - ev) < 5 * np.sqrt(var_v / n))


def test_sample_does_not_depend_on_n_jobs():
    model, _ = _tiny(seed=1, scale=1.0, var=(0.5, 1.5))
    a = model.sample(40, n_steps=5, random_state=7, n_jobs=1)
    b = model.sample(40, n_steps=5, random_state=7, n_jobs=2)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))


def test_ais_brackets_the_exact_log_partition():
    model, X = _tiny(seed=2, scale=1.0, var=(0.3, 1.0))
    exact = _ref_log_z(model)
    info = model.log_partition(
        method="ais", n_betas=2000, n_runs=100, random_state=0, return_details=True
    )
    assert info["log_z_low"] <= exact <= info["log_z_high"], (info, exact)
    rev = model.log_partition(
        method="reverse_ais",
        n_betas=2000,
        n_runs=100,
        init=X,
        n_burn=100,
        random_state=0,
        return_details=True,
    )
    assert rev["log_z_low"] <= exact <= rev["log_z_high"], (rev, exact)


# ---------------------------------------------------------------- fitting
def _digits(n=300):
    X = load_digits().data[:n]
    return StandardScaler().fit_transform(X)  # has constant (all-zero) pixels


def test_fit_on_standardized_digits():
    X = _digits()
    model = DBM(
        (16, 8),
        visible_units="gaussian",
        n_iter=3,
        pretrain_n_iter=3,
        batch_size=50,
        random_state=0,
    ).fit(X)
    params = [*model.coefs_, *model.intercepts_, model.variances_]
    assert all(np.all(np.isfinite(p)) for p in params)
    assert model.variances_.shape == (64,) and np.all(model.variances_ > 0)
    score = model.score(X)
    assert np.isfinite(score)
    # the bound is below the exact log-likelihood (16 odd units: enumerable)
    assert np.all(model.score_samples(X[:20]) <= model.log_likelihood(X[:20]) + 1e-9)
    assert np.all(np.isfinite(model.transform(X)))
    assert np.all(np.isfinite(model.sample(5, n_steps=20, random_state=0)))


def test_fit_without_pretraining_and_partial_fit():
    X = _digits(100)
    kw = dict(visible_units="gaussian", batch_size=20, random_state=0)
    model = DBM((6, 4), pretrain=False, n_iter=2, **kw).fit(X)
    assert np.isfinite(model.score(X))
    # fixed: the data's variances, a constant feature the mean of the others'
    var = X.var(axis=0)
    const = var < 1e-12
    assert const.any()
    fixed = DBM((6, 4), pretrain=False, n_iter=2, variance="fixed", **kw).fit(X)
    np.testing.assert_allclose(fixed.variances_[const], var[~const].mean())
    np.testing.assert_allclose(fixed.variances_[~const], var[~const])
    # learned: inside [floor, ceiling], which scale with those variances
    scale = fixed.variances_
    np.testing.assert_allclose(model.variance_floor_, 0.01 * scale)
    np.testing.assert_allclose(model.variance_ceiling_, 100 * scale)
    assert np.all(model.variances_ >= model.variance_floor_ * (1 - 1e-12))
    assert np.all(model.variances_ <= model.variance_ceiling_ * (1 + 1e-12))
    assert not np.allclose(model.variances_, scale)
    pf = DBM((6, 4), **kw).partial_fit(X).partial_fit(X)
    assert np.isfinite(pf.score(X))


def test_training_options_and_init():
    X = _digits(100)
    kw = dict(visible_units="gaussian", batch_size=20, random_state=0)
    for extra in (
        dict(centering=True),
        dict(average=True, momentum=0.9),
        dict(average_from_epoch=1, sparsity_cost=0.1, max_norm=3.0),
    ):
        model = DBM((6, 4), n_iter=2, pretrain_n_iter=1, **kw, **extra).fit(X)
        assert np.isfinite(model.score(X)), extra
        assert len(model.last_intercepts_) == 3
    rbm = GaussianBernoulliRBM(6, n_iter=2, random_state=0).fit(X)
    model = DBM((6, 4), n_iter=0, init=rbm, **kw).fit(X)
    np.testing.assert_array_equal(model.coefs_[0], rbm.components_)
    np.testing.assert_array_equal(model.variances_, rbm.variances_)
    again = DBM((6, 4), n_iter=1, init=model, **kw).fit(X)
    assert np.isfinite(again.score(X))


def test_float32_is_kept():
    X = _digits(60).astype(np.float32)
    model = DBM(
        (5, 3),
        visible_units="gaussian",
        n_iter=1,
        pretrain_n_iter=1,
        batch_size=20,
        random_state=0,
    ).fit(X)
    assert model.variances_.dtype == np.float32
    assert all(W.dtype == np.float32 for W in model.coefs_)
    assert model.transform(X).dtype == np.float32
    assert model.sample(2, n_steps=2, random_state=0).dtype == np.float32


def test_warm_start_continues_bit_for_bit():
    X = _digits(60)
    kw = dict(visible_units="gaussian", batch_size=20, pretrain_n_iter=1)
    one = DBM((5, 3), n_iter=2, random_state=0, **kw).fit(X)
    two = DBM((5, 3), n_iter=1, random_state=0, warm_start=True, **kw).fit(X)
    two.fit(X)
    pairs = zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_, strict=True)
    for a, b in pairs:
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one.particles_[0], two.particles_[0])
    two.set_params(visible_units="bernoulli")
    with pytest.raises(ValueError, match="cannot change visible_units"):
        two.fit(X)


# ------------------------------------------------------------- bad input
def test_bad_input_is_refused():
    X = _digits(40)
    model = DBM((4, 3), visible_units="gaussian", n_iter=1, pretrain_n_iter=1)
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[3, 5] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            model.fit(Xb)
    with pytest.raises(TypeError, match="does not accept sparse X"):
        model.fit(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="dynamic_binarization"):
        DBM((4, 3), visible_units="gaussian", dynamic_binarization=True).fit(X)
    model.fit(X)
    with pytest.raises(TypeError, match="does not accept sparse X"):
        model.score_samples(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.transform(np.full_like(X, np.inf))
    # real values outside [0, 1] are data, not an error
    assert np.isfinite(model.score(10 * X))
    with pytest.raises(ValueError, match="GaussianBernoulliRBM or a DBM"):
        DBM((4, 3), visible_units="gaussian", init=BernoulliRBM(4)).fit(X)
    binary = DBM((4, 3), n_iter=1, pretrain_n_iter=1).fit(expit(X))
    with pytest.raises(ValueError, match="other visible units"):
        DBM((4, 3), visible_units="gaussian", init=binary).fit(X)
