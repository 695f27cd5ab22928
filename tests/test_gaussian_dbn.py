"""DBN and DBNClassifier with a Gaussian-Bernoulli first layer.

References are written from the model's definition: a two-layer DBN on
real-valued data is p(x) = sum_h1 N(x; b1 + W1^T h1, diag s) p(h1), with
p(h1) the visible marginal of the top Bernoulli RBM, enumerated here with
scipy (no skebm enumeration). Statistical tolerances are fixed before the
runs: sample means within 5 standard errors, Monte Carlo bounds within 5
standard errors of the replicates.
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skebm import DBN, DBNClassifier, GaussianBernoulliRBM
from skebm._dbn import dbn_lower_bound


def _all(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _tiny_dbn(seed=0, scale=1.5):
    """A fitted 3 -> 4 -> 3 Gaussian DBN with its weights set at random."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    dbn = DBN(
        (4, 3),
        visible_units="gaussian",
        learning_rate=[0.01, 0.1],
        n_iter=1,
        random_state=0,
    ).fit(X)
    g, top = dbn.rbms_
    g.components_[...] = scale * rng.normal(size=(4, 3))
    g.intercept_visible_[...] = rng.normal(size=3)
    g.intercept_hidden_[...] = rng.normal(size=4)
    g.log_variances_[...] = np.log(rng.uniform(0.2, 2.0, size=3))
    top.components_[...] = scale * rng.normal(size=(3, 4))
    top.intercept_visible_[...] = rng.normal(size=4)
    top.intercept_hidden_[...] = rng.normal(size=3)
    return dbn, X


def _reference_log_p(dbn, X):
    g, top = dbn.rbms_
    W, b, s = g.components_, g.intercept_visible_, g.variances_
    V, Ht = _all(4), _all(3)
    joint = np.array(
        [
            [
                v @ top.intercept_visible_
                + h @ top.intercept_hidden_
                + h @ top.components_ @ v
                for h in Ht
            ]
            for v in V
        ]
    )
    log_p_h1 = logsumexp(joint, axis=1) - logsumexp(joint)
    dens = np.array(
        [[multivariate_normal(b + W.T @ h, np.diag(s)).logpdf(x) for h in V] for x in X]
    )
    return logsumexp(dens + log_p_h1, axis=1), log_p_h1


def test_one_layer_gaussian_dbn_is_the_gaussian_rbm():
    X = np.random.default_rng(1).normal(size=(60, 5)) * [1, 2, 3, 4, 5]
    kw = dict(n_iter=3, batch_size=10, random_state=0, learning_rate=0.01)
    rbm = GaussianBernoulliRBM(4, **kw).fit(X)
    dbn = DBN(4, visible_units="gaussian", **kw).fit(X)
    assert isinstance(dbn.rbms_[0], GaussianBernoulliRBM)
    np.testing.assert_array_equal(dbn.rbms_[0].components_, rbm.components_)
    np.testing.assert_array_equal(dbn.rbms_[0].variances_, rbm.variances_)
    np.testing.assert_allclose(dbn.score_samples(X), rbm.score_samples(X))
    np.testing.assert_allclose(dbn.log_likelihood(X), rbm.log_likelihood(X))
    np.testing.assert_allclose(dbn.transform(X), rbm.transform(X))
    np.testing.assert_array_equal(
        dbn.sample(7, n_steps=5, random_state=3),
        rbm.sample(7, n_steps=5, random_state=3),
    )


def test_two_layer_exact_log_marginal_and_bound_against_enumeration():
    dbn, X = _tiny_dbn()
    X = X[:10] * 2.0
    ref, _ = _reference_log_p(dbn, X)
    np.testing.assert_allclose(dbn.log_likelihood(X), ref, rtol=0, atol=1e-9)
    bound = dbn.score_samples(X)  # exact expectation: 2**4 <= n_bound_samples
    assert np.all(bound <= ref + 1e-9)
    # The gap is KL(Q(h1 | x) || p(h1 | x)): recompute it from the reference.
    g = dbn.rbms_[0]
    q = expit(g.intercept_hidden_ + (X / g.variances_) @ g.components_.T)
    V = _all(4)
    log_q = np.log(q) @ V.T + np.log1p(-q) @ (1 - V).T
    _, log_p_h1 = _reference_log_p(dbn, X)
    W, b, s = g.components_, g.intercept_visible_, g.variances_
    log_joint = (
        np.array(
            [
                [multivariate_normal(b + W.T @ h, np.diag(s)).logpdf(x) for h in V]
                for x in X
            ]
        )
        + log_p_h1
    )
    post = log_joint - ref[:, None]
    kl = np.sum(np.exp(log_q) * (log_q - post), axis=1)
    np.testing.assert_allclose(ref - bound, kl, rtol=0, atol=1e-8)


def test_sampled_bound_agrees_with_the_exact_bound():
    dbn, X = _tiny_dbn(seed=2)
    X = X[:6]
    layers = dbn._layers()
    var = dbn.rbms_[0].variances_
    exact = dbn_lower_bound(X, layers, 0.0, var=var)
    rng = np.random.default_rng(0)
    reps = np.array(
        [
            dbn_lower_bound(X, layers, 0.0, uniforms=[rng.random((256, 4))], var=var)
            for _ in range(16)
        ]
    )
    se = reps.std(axis=0, ddof=1) / np.sqrt(len(reps))
    assert np.all(np.abs(reps.mean(axis=0) - exact) <= 5 * se + 1e-12)


def test_two_layer_samples_have_the_model_mean():
    dbn, _ = _tiny_dbn(seed=3, scale=0.7)
    _, log_p_h1 = _reference_log_p(dbn, np.zeros((1, 3)))
    g = dbn.rbms_[0]
    means = g.intercept_visible_ + _all(4) @ g.components_
    exact_mean = np.exp(log_p_h1) @ means
    S = dbn.sample(4000, n_steps=50, random_state=0)
    assert S.shape == (4000, 3) and np.isfinite(S).all()
    se = S.std(axis=0, ddof=1) / np.sqrt(len(S))
    assert np.all(np.abs(S.mean(axis=0) - exact_mean) <= 5 * se)
    M = dbn.sample(50, n_steps=5, probabilities=True, random_state=0)
    # the means of p(x | h1) lie among the 16 component means
    assert np.all(np.min(np.abs(M[:, None, :] - means[None]).max(axis=2), 1) < 1e-12)


def test_gaussian_dbn_accepts_real_data_and_bernoulli_refuses_it():
    X = np.random.default_rng(0).normal(size=(30, 4)) * 10
    DBN((3, 2), visible_units="gaussian", n_iter=1, learning_rate=0.001).fit(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DBN((3, 2), n_iter=1).fit(X)
    with pytest.raises(ValueError, match="visible_units"):
        DBN(visible_units="normal").fit(X)
    with pytest.raises(ValueError, match="GaussianBernoulliRBM"):
        DBN(
            (3, 2), visible_units="gaussian", rbm_params={"dynamic_binarization": True}
        ).fit(X)
    with pytest.raises(ValueError, match="layer 0"):
        DBN((3, 2), visible_units="gaussian", method="fpcd").fit(X)
    with pytest.raises(ValueError, match="NaN"):
        DBN(visible_units="gaussian").fit(np.where(X > 9, np.nan, X))
    fixed = DBN(
        (3, 2),
        visible_units="gaussian",
        n_iter=2,
        rbm_params=[{"variance": "fixed"}, {}],
        random_state=0,
    ).fit(X)
    np.testing.assert_allclose(fixed.rbms_[0].variances_, X.var(axis=0), rtol=1e-6)


def test_gaussian_dbn_partial_fit_and_float32():
    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    dbn = DBN((3, 2), visible_units="gaussian", learning_rate=0.01, random_state=0)
    for s in range(0, 40, 10):
        dbn.partial_fit(X[s : s + 10])
    assert isinstance(dbn.rbms_[0], GaussianBernoulliRBM)
    assert dbn.transform(X).dtype == np.float32
    assert np.isfinite(dbn.score_samples(X)).all()


def test_near_constant_pixels_of_a_small_standardized_set_stay_finite():
    # StandardScaler leaves ~1e-33 variances on constant pixels, and a few
    # pixels of 200 digits take one rare value: without the constant-feature
    # rule and the variance ceiling these fits overflowed to NaN.
    X = StandardScaler().fit_transform(load_digits().data)[:200]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rbm = GaussianBernoulliRBM(16, n_iter=5, random_state=0).fit(X)
        assert all(np.isfinite(a).all() for a in rbm._trained())
        assert np.all(rbm.variances_ <= rbm.variance_ceiling_ * (1 + 1e-12))
        assert np.all(rbm.variances_ >= rbm.variance_floor_ * (1 - 1e-12))
        assert np.isfinite(rbm.score(X))


def test_dbn_classifier_on_standardized_digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = DBNClassifier(
        (64,),
        visible_units="gaussian",
        learning_rate=0.01,
        n_iter=3,
        max_iter=1,
        random_state=0,
    )
    clf._validate_params()
    _, mlp = clf._pretrain(X[:300])
    # the untrained network computes the DBN's up-pass exactly
    (coef, intercept), *_ = mlp.pretrained
    np.testing.assert_allclose(
        expit(X[300:310] @ coef + intercept), clf.dbn_.transform(X[300:310]), atol=1e-12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fine-tuning's ConvergenceWarning
        clf.set_params(max_iter=30).fit(X[:1200], y[:1200])
    assert clf.score(X[1200:], y[1200:]) > 0.8
    pipe = make_pipeline(
        DBN(64, visible_units="gaussian", learning_rate=0.01, n_iter=3, random_state=0),
        LogisticRegression(max_iter=500),
    ).fit(X[:1200], y[:1200])
    assert pipe.score(X[1200:], y[1200:]) > 0.8
