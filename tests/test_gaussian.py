"""GaussianBernoulliRBM against exact answers.

References are written from the energy E(v, h) = sum (v - b)^2 / (2 s)
- sum (v / s) W h - c.h directly (quadrature, per-state 1-D integrals, exact
hidden marginals), sharing no code with skebm's enumeration. Statistical
tolerances are fixed here, before the runs: p-values above 1e-3 and
gradients within 5 standard errors.
"""

import itertools
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import integrate
from scipy.special import expit, logsumexp
from scipy.stats import kstest, norm
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skebm import GaussianBernoulliRBM
from skebm._gaussian import gaussian_log_partition_exact


# --------------------------------------------------------------- references
def _all_h(H):
    return np.array(list(itertools.product([0.0, 1.0], repeat=H)))


def _neg_energy(v, h, W, b, c, s):
    return -np.sum((v - b) ** 2 / (2 * s)) + (v / s) @ W.T @ h + c @ h


def _log_z_per_state_quadrature(W, b, c, s):
    """log Z = log sum_h prod_i (1-D integral over v_i): each v_i integral by
    adaptive quadrature around its peak, in logs so large weights fit."""
    terms = []
    for h in _all_h(W.shape[0]):
        w = W.T @ h
        total = c @ h
        for i in range(W.shape[1]):

            def g(x, i=i, w=w):
                return -((x - b[i]) ** 2) / (2 * s[i]) + x * w[i] / s[i]

            peak = b[i] + w[i]
            width = np.sqrt(s[i])
            val, _ = integrate.quad(
                lambda x, g=g, peak=peak: np.exp(g(x) - g(peak)),
                peak - 40 * width,
                peak + 40 * width,
                epsabs=0,
                epsrel=1e-13,
                limit=200,
            )
            total += np.log(val) + g(peak)
        terms.append(total)
    return float(logsumexp(terms))


def _tiny_model(rng, H=3, D=2, scale=1.0):
    W = rng.normal(0, scale, (H, D))
    b = rng.normal(0, 1, D)
    c = rng.normal(0, 1, H)
    s = np.exp(rng.normal(0, 0.5, D))
    return W, b, c, s


def _set_params(model, W, b, c, s):
    model.components_ = np.array(W, dtype=float)
    model.intercept_visible_ = np.array(b, dtype=float)
    model.intercept_hidden_ = np.array(c, dtype=float)
    model.log_variances_ = np.log(np.array(s, dtype=float))
    model.variance_floor_ = np.full(len(b), 1e-12)
    return model


def _fitted_shell(D, H, n_chains=10, **params):
    X = np.random.default_rng(0).normal(size=(5, D))
    return GaussianBernoulliRBM(
        n_components=H, n_iter=0, n_chains=n_chains, random_state=0, **params
    ).fit(X)


def _hidden_marginal(W, b, c, s):
    """Exact p(h) over every hidden state (lexicographic order)."""
    hs = _all_h(W.shape[0])
    m = hs @ W
    lw = hs @ c + ((m * (m + 2 * b)) / (2 * s)).sum(axis=1)
    return hs, np.exp(lw - logsumexp(lw))


@pytest.fixture(scope="module")
def digits_std():
    d = load_digits()
    X = (d.data + np.random.default_rng(0).random(d.data.shape)) / 17
    Xtr, Xte = train_test_split(X, test_size=0.25, stratify=d.target, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte)


def _box_quadrature(log_f, lo, hi, panels=12, nodes=60):
    """log of the integral of exp(log_f) over a 2-D box: composite
    Gauss-Legendre (panels x nodes per axis), vectorised, summed in logs."""
    x0, w0 = np.polynomial.legendre.leggauss(nodes)
    axes = []
    for a, b in zip(lo, hi, strict=True):
        edges = np.linspace(a, b, panels + 1)
        half = np.diff(edges)[:, None] / 2
        pts = (edges[:-1, None] + half + half * x0).ravel()
        axes.append((pts, (half * w0).ravel()))
    (x, wx), (y, wy) = axes
    grid = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    logw = np.log(np.outer(wx, wy)).ravel()
    return float(logsumexp(log_f(grid) + logw))


# ----------------------------------------------------------------- log Z
def test_log_z_matches_2d_quadrature():
    rng = np.random.default_rng(0)
    W, b, c, s = _tiny_model(rng)
    hs = _all_h(3)

    def log_density(V):
        # log sum_h exp(-E(v, h)) for every row, straight from the energy
        quad = ((V[:, None, :] - b) ** 2 / (2 * s)).sum(axis=2)
        inter = (V / s) @ W.T @ hs.T + hs @ c
        return logsumexp(inter - quad, axis=1)

    spread = 12 * np.sqrt(s) + np.abs(W).sum(axis=0)
    log_z = _box_quadrature(log_density, b - spread, b + spread)
    assert abs(gaussian_log_partition_exact(W, b, c, s) - log_z) < 1e-8


@pytest.mark.parametrize("scale,var_scale", [(1.0, 1.0), (8.0, 1.0), (3.0, 1e-3)])
def test_log_z_enumeration_matches_brute_force(scale, var_scale):
    rng = np.random.default_rng(int(scale * 10 + var_scale * 7))
    W, b, c, s = _tiny_model(rng, H=4, D=3, scale=scale)
    s = s * var_scale
    exact = _log_z_per_state_quadrature(W, b, c, s)
    got = gaussian_log_partition_exact(W, b, c, s)
    assert abs(got - exact) < 1e-8 * max(1.0, abs(exact))


def test_log_z_chunked_and_parallel_enumeration_agree():
    # 2**15 states: more than one enumeration chunk
    rng = np.random.default_rng(3)
    W, b, c, s = _tiny_model(rng, H=15, D=4, scale=0.3)
    idx = np.arange(2**15)
    h = ((idx[:, None] >> np.arange(15)) & 1).astype(float)
    m = h @ W
    direct = logsumexp(h @ c + ((m * (m + 2 * b)) / (2 * s)).sum(axis=1))
    direct += 0.5 * np.sum(np.log(2 * np.pi * s))
    one = gaussian_log_partition_exact(W, b, c, s, n_jobs=1)
    two = gaussian_log_partition_exact(W, b, c, s, n_jobs=2)
    assert one == two
    assert abs(one - direct) < 1e-9 * abs(direct)


def test_log_likelihood_is_a_normalised_density():
    # p(v) integrates to one over the plane (2 visible units)
    rng = np.random.default_rng(5)
    model = _set_params(_fitted_shell(2, 3), *_tiny_model(rng))
    log_z = model.log_partition()

    b, s = model.intercept_visible_, model.variances_
    spread = 12 * np.sqrt(s) + np.abs(model.components_).sum(axis=0)
    log_total = _box_quadrature(
        lambda V: -model.free_energy(V) - log_z, b - spread, b + spread
    )
    assert abs(log_total) < 1e-8
    X = rng.normal(size=(4, 2))
    np.testing.assert_allclose(
        model.score_samples(X), -model.free_energy(X) - log_z, rtol=1e-12
    )


# --------------------------------------------------------------- sampling
def test_sampler_matches_exact_marginals():
    rng = np.random.default_rng(7)
    W, b, c, s = _tiny_model(rng)
    model = _set_params(_fitted_shell(2, 3), W, b, c, s)
    V = model.sample(3000, n_steps=100, random_state=0)
    hs, p = _hidden_marginal(W, b, c, s)
    means = hs @ W + b
    for i in range(2):

        def cdf(x, i=i):
            return np.sum(
                p * norm.cdf((np.asarray(x)[..., None] - means[:, i]) / np.sqrt(s[i])),
                axis=-1,
            )

        assert kstest(V[:, i], cdf).pvalue > 1e-3
    # the conditional means (probabilities=True) average to E[v] exactly
    M = model.sample(3000, n_steps=100, probabilities=True, random_state=1)
    se = np.sqrt(s + (p @ (means - p @ means) ** 2)) / np.sqrt(3000)
    assert np.all(np.abs(M.mean(axis=0) - p @ means) < 5 * se)


def test_sample_does_not_depend_on_n_jobs(digits_std):
    Xtr, _ = digits_std
    model = GaussianBernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(Xtr)
    a = model.sample(100, n_steps=5, n_jobs=1, random_state=3)
    b = model.sample(100, n_steps=5, n_jobs=2, random_state=3)
    np.testing.assert_array_equal(a, b)
    init = model.sample(3, n_steps=2, init=Xtr[:3] * 5.0, random_state=0)
    assert init.shape == (3, 64) and np.isfinite(init).all()


# ---------------------------------------------------------------- gradients
def _exact_gradient(X, W, b, c, s):
    """Finite differences of the exact mean log-likelihood (W, b, c, log s)."""
    params = [W, b, c, np.log(s)]

    def ll(P):
        var = np.exp(P[3])
        inv = 1 / var
        a = (X * inv) @ P[0].T + P[2]
        f = np.sum((X - P[1]) ** 2 * inv / 2, axis=1) - np.logaddexp(0, a).sum(axis=1)
        return np.mean(-f) - gaussian_log_partition_exact(P[0], P[1], P[2], var)

    grads = []
    for k, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            up = [q.copy() for q in params]
            dn = [q.copy() for q in params]
            up[k][idx] += 1e-5
            dn[k][idx] -= 1e-5
            g[idx] = (ll(up) - ll(dn)) / 2e-5
        grads.append(g)
    return grads


@pytest.mark.parametrize("method", ["pcd", "cd", "cd+pcd"])
def test_stochastic_gradient_averages_to_exact_gradient(method):
    rng = np.random.default_rng(11)
    W, b, c, s = _tiny_model(rng, scale=0.7)
    X0 = rng.normal(0, 1.2, (8, 2))
    n = 40000
    if method == "cd":
        # CD-k from the data is unbiased once k sweeps have mixed
        X, kwargs = np.tile(X0, (n // 8, 1)), dict(n_gibbs_steps=30)
    elif method == "cd+pcd":
        # both halves of the negative phase: n/2 CD chains, n/2 persistent
        X = np.tile(X0, (n // 16, 1))
        kwargs = dict(n_gibbs_steps=30, n_chains=n // 2)
    else:
        X, kwargs = X0, dict(n_chains=n)
    model = _set_params(_fitted_shell(2, 3, method=method, **kwargs), W, b, c, s)
    if method != "cd":
        # chains started at exact draws of p(h): the first update has mixed
        hs, p = _hidden_marginal(W, b, c, s)
        model.h_samples_ = hs[rng.choice(len(p), size=kwargs["n_chains"], p=p)]
    lr = 1e-6
    before = [a.copy() for a in model._trained()]
    model.set_params(learning_rate=lr).partial_fit(X)
    got = [(a - a0) / lr for a, a0 in zip(model._trained(), before, strict=True)]
    exact = _exact_gradient(X0, W, b, c, s)
    # 5 standard errors of the n-sample negative phase (per-term std <= ~3)
    tol = 5 * 3.0 / np.sqrt(n)
    for g, e in zip(got, exact, strict=True):
        np.testing.assert_allclose(g, e, atol=tol)


def test_centered_gradient_averages_to_the_exact_centered_gradient():
    """The centered step is the exact gradient in the centered parameters
    (W, b~ = b + W^T lam, c~ = c + W mu, log s), mapped back to the stored
    standard form: finite differences of the exact log-likelihood written in
    those parameters give the reference."""
    rng = np.random.default_rng(12)
    W, b, c, s = _tiny_model(rng, scale=0.7)
    X0 = rng.normal(0, 1.2, (8, 2))
    mu, lam = rng.normal(0, 0.5, 2), rng.uniform(0.2, 0.8, 3)
    n = 40000
    model = _fitted_shell(2, 3, method="pcd", n_chains=n, centering=True)
    model = _set_params(model, W, b, c, s)
    hs, p = _hidden_marginal(W, b, c, s)
    model.h_samples_ = hs[rng.choice(len(p), size=n, p=p)]
    model._offsets = [mu.copy(), lam.copy()]
    lr = 1e-6
    before = [a.copy() for a in model._trained()]
    model.set_params(learning_rate=lr).partial_fit(X0)
    got = [(a - a0) / lr for a, a0 in zip(model._trained(), before, strict=True)]
    # exact gradient in the centered parameters, by the chain rule of the
    # map (W, b~, c~, z) -> (W, b~ - W^T lam, c~ - W mu, z) from the plain one
    gW, gb, gc, gz = _exact_gradient(X0, W, b, c, s)
    gW_c = gW - np.outer(lam, gb) - np.outer(gc, mu)
    # the centered step moves b~, c~ by the centered gradients; in the
    # stored form b = b~ - W^T lam and c = c~ - W mu move with W too
    expected = [gW_c, gb - gW_c.T @ lam, gc - gW_c @ mu, gz]
    tol = 5 * 3.0 / np.sqrt(n) * (1 + np.abs(mu).sum() + lam.sum())
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, atol=tol)
    # and the offsets moved towards the minibatch's means, by centering_rate
    np.testing.assert_allclose(
        model._offsets[0], 0.99 * mu + 0.01 * X0.mean(axis=0) / s, rtol=1e-6
    )


def test_centering_is_a_different_step_with_the_same_api(digits_std):
    Xtr, _ = digits_std
    kw = dict(n_components=8, n_iter=2, random_state=0)
    plain = GaussianBernoulliRBM(**kw).fit(Xtr[:300])
    centered = GaussianBernoulliRBM(centering=True, **kw).fit(Xtr[:300])
    assert not np.array_equal(plain.components_, centered.components_)
    assert np.isfinite(centered.score(Xtr[:300]))
    with pytest.raises(ValueError, match="centering_rate"):
        GaussianBernoulliRBM(centering=True, centering_rate=0.0).fit(Xtr[:50])


def test_fixed_variance_stays_fixed(digits_std):
    Xtr, _ = digits_std
    model = GaussianBernoulliRBM(
        n_components=8, n_iter=3, variance="fixed", random_state=0
    ).fit(Xtr)
    np.testing.assert_allclose(model.variances_, Xtr.var(axis=0), rtol=1e-10)


# -------------------------------------------------------------------- AIS
def test_ais_matches_exact_on_digits(digits_std):
    Xtr, Xte = digits_std
    model = GaussianBernoulliRBM(
        n_components=16, n_iter=10, batch_size=20, random_state=0
    ).fit(Xtr)
    exact = model.log_partition(method="exact")
    ais = model.log_partition(
        method="ais", n_betas=5000, n_runs=100, random_state=0, return_details=True
    )
    assert abs(ais["log_z"] - exact) < 0.1
    assert ais["log_z_low"] <= exact <= ais["log_z_high"]
    rev = model.log_likelihood(
        Xte[:50],
        return_details=True,
        reverse_ais=True,
        method="ais",
        n_betas=5000,
        n_runs=100,
        random_state=1,
        n_burn=200,
    )
    assert abs(rev["log_z_reverse"] - exact) < 0.1
    exact_ll = -model.free_energy(Xte[:50]) - exact
    np.testing.assert_allclose(rev["log_likelihood"], exact_ll, atol=0.1)


# -------------------------------------------------------------- stability
def test_learned_variances_are_stable_over_seeds(digits_std):
    Xtr, Xte = digits_std
    diverged = 0
    for lr in (1e-3, 1e-2):
        for seed in range(20):
            model = GaussianBernoulliRBM(
                n_components=8, n_iter=3, learning_rate=lr, random_state=seed
            ).fit(Xtr[:400])
            ok = all(np.isfinite(a).all() for a in model._trained())
            ok &= bool(np.all(model.variances_ >= model.variance_floor_ * (1 - 1e-12)))
            ok &= bool(np.isfinite(model.score(Xte)))
            diverged += not ok
    assert diverged == 0


def test_no_overflow_at_extreme_weights_and_tiny_variances():
    model = _fitted_shell(3, 4)
    W = np.array([[60.0, -60.0, 30.0]] * 4) * np.array([[1], [-1], [2], [-2]])
    _set_params(model, W, [0.0, 5.0, -5.0], [40.0, -40.0, 0.0, 1.0], [1e-6] * 3)
    X = np.array([[1e3, -1e3, 0.0], [0.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for out in (
            model.transform(X),
            model.free_energy(X),
            model.log_partition(),
            model.score_samples(X),
            model.sample(20, n_steps=3, random_state=0),
            model.gibbs(X),
        ):
            assert np.all(np.isfinite(out))


# ----------------------------------------------------------- input checks
def test_constant_feature_gets_the_documented_floor():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(200, 3)), np.full(200, 4.0)]
    model = GaussianBernoulliRBM(n_components=4, n_iter=30, random_state=0).fit(X)
    scale = X[:, :3].var(axis=0).mean()
    np.testing.assert_allclose(model.variance_floor_[3], 0.01 * scale, rtol=1e-12)
    assert model.variances_[3] >= model.variance_floor_[3] * (1 - 1e-12)
    assert np.isfinite(model.score_samples(X)).all()
    assert all(np.isfinite(a).all() for a in model._trained())


def test_bad_parameters_and_unfitted_calls():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="min_variance"):
        GaussianBernoulliRBM(min_variance=0).fit(X)
    with pytest.raises(ValueError, match="variance"):
        GaussianBernoulliRBM(variance="free").fit(X)
    with pytest.raises(ValueError, match="n_components <= 20"):
        GaussianBernoulliRBM(n_components=21, early_stopping=True).fit(X)
    with pytest.raises(NotFittedError):
        GaussianBernoulliRBM().transform(X)
    model = GaussianBernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        model.score_samples(np.full((1, 3), np.nan))


def test_sparse_input_equals_dense():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)) * (rng.random((60, 5)) < 0.4)
    dense = GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X)
    sparse = GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(
        sp.csr_matrix(X)
    )
    for a, b in zip(dense._trained(), sparse._trained(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        dense.score_samples(X), sparse.score_samples(sp.csr_matrix(X)), rtol=1e-10
    )
    np.testing.assert_allclose(
        dense.transform(X), sparse.transform(sp.csr_matrix(X)), rtol=1e-10
    )


def test_float32_is_kept(digits_std):
    Xtr, _ = digits_std
    model = GaussianBernoulliRBM(n_components=4, n_iter=2, random_state=0)
    model.fit(Xtr.astype(np.float32))
    assert model.components_.dtype == np.float32
    assert model.transform(Xtr[:5].astype(np.float32)).dtype == np.float32
    assert model.sample(3, n_steps=2, random_state=0).dtype == np.float32


def test_cd_plus_pcd_runs_persistent_chains_beside_cd(digits_std):
    """ "cd+pcd" keeps batch_size // 5 persistent chains by default, advances
    them every update, and its negative phase differs from plain CD's."""
    Xtr, _ = digits_std
    X = Xtr[:200]
    params = dict(n_components=6, batch_size=50, n_iter=1, random_state=0)
    hybrid = GaussianBernoulliRBM(method="cd+pcd", **params).fit(X)
    assert hybrid.h_samples_.shape == (10, 6)
    assert hybrid.h_samples_.any()  # left their all-zero start
    cd = GaussianBernoulliRBM(method="cd", **params).fit(X)
    assert not np.allclose(hybrid.components_, cd.components_)
    small = GaussianBernoulliRBM(2, method="cd+pcd", batch_size=3, n_iter=1)
    assert small.fit(X[:20]).h_samples_.shape == (1, 2)  # at least one chain


# ------------------------------------------------------------ warm start
@pytest.mark.parametrize(
    "params",
    [
        dict(method="pcd", momentum=0.5),
        dict(method="cd", n_gibbs_steps=2, average=True),
        dict(method="pt", n_temperatures=3, shuffle=True),
        dict(method="cd+pcd", n_gibbs_steps=2, momentum=0.5, shuffle=True),
        dict(method="pcd", centering=True, momentum=0.5, average=True),
    ],
)
def test_warm_start_is_bit_identical(params, digits_std):
    Xtr, _ = digits_std
    X = Xtr[:300]
    full = GaussianBernoulliRBM(n_components=6, n_iter=5, random_state=0, **params).fit(
        X
    )
    part = GaussianBernoulliRBM(
        n_components=6, n_iter=3, random_state=0, warm_start=True, **params
    ).fit(X)
    part = pickle.loads(pickle.dumps(part))
    part.set_params(n_iter=2).fit(X)
    for a, b in zip(full._trained(), part._trained(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.h_samples_, part.h_samples_)
    assert part.n_iter_ == 5 and part.t_ == full.t_ and len(part.history_) == 5


def test_early_stopping_keeps_the_best_epoch(digits_std):
    Xtr, _ = digits_std
    model = GaussianBernoulliRBM(
        n_components=8,
        n_iter=30,
        learning_rate=0.05,
        early_stopping=True,
        n_iter_no_change=2,
        random_state=0,
    ).fit(Xtr)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert len(model.history_) == len(model.validation_scores_) <= 30


def test_pipeline_with_logistic_regression(digits_std):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    d = load_digits()
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("rbm", GaussianBernoulliRBM(n_components=64, n_iter=10, random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    ).fit(d.data[:1000], d.target[:1000])
    assert pipe.score(d.data[1000:], d.target[1000:]) > 0.8


def test_hidden_conditional_is_the_documented_equation():
    rng = np.random.default_rng(2)
    W, b, c, s = _tiny_model(rng)
    model = _set_params(_fitted_shell(2, 3), W, b, c, s)
    X = rng.normal(size=(5, 2))
    np.testing.assert_allclose(model.transform(X), expit(c + (X / s) @ W.T))
