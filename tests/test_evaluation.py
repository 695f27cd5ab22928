"""Sampling, exact log Z, AIS and log-likelihoods of BernoulliRBM (issue 3)."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from skebm import BernoulliRBM
from skebm._partition import ais_betas, ais_summary

from .exact import all_states, chi_square_pvalue, rbm_log_pv, rbm_log_z, state_index
from .test_rbm import ALPHA, params, tiny_rbm

X_BIN = (load_digits().data >= 8).astype(np.float64)


@pytest.fixture(scope="module")
def digits_rbm16():
    return BernoulliRBM(
        n_components=16, n_iter=20, learning_rate=0.05, batch_size=20, random_state=0
    ).fit(X_BIN)


@pytest.mark.parametrize(
    "D, H, scale",
    [(6, 4, 1.0), (5, 8, 1.0), (7, 3, 30.0), (4, 6, 50.0), (8, 8, 1e3)],
)
def test_exact_log_partition_matches_enumeration_of_both_layers(D, H, scale):
    rbm = tiny_rbm(D=D, H=H, scale=scale, seed=D * H)
    assert_allclose(
        rbm.log_partition(method="exact"), rbm_log_z(*params(rbm)), rtol=1e-12
    )


def test_exact_log_partition_chunked_and_parallel_is_identical(monkeypatch):
    import skebm._partition as part

    rbm = tiny_rbm(D=10, H=12, scale=0.3, seed=1)
    whole = rbm.log_partition(method="exact")
    monkeypatch.setattr(part, "_ENUM_CHUNK", 2**7)  # 32 chunks
    del rbm.log_partition_info_
    one = rbm.log_partition(method="exact", n_jobs=1)
    del rbm.log_partition_info_
    two = rbm.log_partition(method="exact", n_jobs=2)
    assert_allclose(one, whole, rtol=1e-13)
    assert_allclose(two, one, rtol=1e-13)


def test_log_likelihood_matches_enumeration_and_normalises():
    rbm = tiny_rbm(D=6, H=4, scale=2.0, seed=5)
    V = all_states(6)
    ll = rbm.log_likelihood(V)
    assert_allclose(ll, rbm_log_pv(*params(rbm)), rtol=1e-10, atol=1e-12)
    assert_allclose(np.exp(ll).sum(), 1.0, rtol=1e-12)


def test_log_likelihood_sparse_equals_dense(digits_rbm16):
    X = X_BIN[:50]
    assert_allclose(
        digits_rbm16.log_likelihood(X),
        digits_rbm16.log_likelihood(sp.csr_matrix(X)),
        rtol=1e-13,
    )


def test_ais_default_settings_within_a_tenth_of_a_nat(digits_rbm16):
    exact = digits_rbm16.log_partition(method="exact")
    info = digits_rbm16.log_partition(method="ais", random_state=0, return_details=True)
    assert info["settings"]["n_betas"] == 14500 and info["n_runs"] == 100
    assert abs(info["log_z"] - exact) < 0.1
    assert info["log_z_low"] <= exact <= info["log_z_high"]
    assert 1 <= info["ess"] <= 100


@pytest.mark.parametrize("H", [12, 20])
def test_ais_fast_settings_on_trained_models(H):
    rbm = BernoulliRBM(
        n_components=H, n_iter=10, learning_rate=0.05, batch_size=20, random_state=1
    ).fit(X_BIN)
    exact = rbm.log_partition(method="exact")
    info = rbm.log_partition(
        method="ais", n_betas=1000, n_runs=64, random_state=0, return_details=True
    )
    # 1000 betas: looser than the default schedule, still well inside 0.3 nat.
    assert abs(info["log_z"] - exact) < 0.3


def test_reverse_ais_gives_an_upper_estimate(digits_rbm16):
    exact = digits_rbm16.log_partition(method="exact")
    fwd = digits_rbm16.log_partition(method="ais", n_betas=2000, random_state=3)
    rev = digits_rbm16.log_partition(
        method="reverse_ais",
        n_betas=2000,
        init=X_BIN[:100],
        n_burn=200,
        random_state=3,
        return_details=True,
    )
    assert abs(rev["log_z"] - exact) < 0.2
    # the sandwich: the forward estimate is low, the reverse one high, on average;
    # individually each may cross by its own noise (a few hundredths here).
    assert fwd - 0.05 <= exact <= rev["log_z"] + 0.05


def test_ais_is_n_jobs_invariant(digits_rbm16):
    kw = dict(
        method="ais", n_betas=300, n_runs=70, random_state=11, return_details=True
    )
    a = digits_rbm16.log_partition(n_jobs=1, **kw)
    b = digits_rbm16.log_partition(n_jobs=2, **kw)
    c = digits_rbm16.log_partition(n_jobs=-1, **kw)
    assert_array_equal(a["log_w"], b["log_w"])
    assert_array_equal(a["log_w"], c["log_w"])


def test_log_partition_cache(digits_rbm16):
    rbm = digits_rbm16
    first = rbm.log_partition(method="ais", n_betas=200, random_state=5)
    info = rbm.log_partition_info_
    assert rbm.log_partition(method="ais", n_betas=200, random_state=5) == first
    assert rbm.log_partition_info_ is info  # reused
    assert info["settings"] == {
        "method": "ais",
        "n_betas": 200,
        "n_runs": 100,
        "random_state": 5,
    }
    clone = BernoulliRBM(**rbm.get_params()).fit(X_BIN[:100])
    clone.log_partition(method="exact")
    clone.partial_fit(X_BIN[:10])  # parameters change: the cache must not be reused
    assert clone.log_partition(method="exact") != info["log_z"]
    assert clone.log_partition_info_["digest"] == clone._params_digest()


def test_ais_summary_interval_and_ess():
    log_w = np.log(np.array([1.0, 1.0, 1.0, 1.0]))
    s = ais_summary(log_w, 2.0)
    assert s["log_z"] == pytest.approx(2.0) and s["ess"] == pytest.approx(4.0)
    assert s["log_z_low"] == pytest.approx(2.0) and s["log_z_high"] == pytest.approx(
        2.0
    )
    s = ais_summary(np.log([1.0, 3.0]), 0.0)
    mean, band = 2.0, 3 * 1.0 / np.sqrt(2)
    assert s["log_z_high"] == pytest.approx(np.log(mean + band))
    assert s["log_z_low"] == -np.inf  # the band reaches zero
    assert s["ess"] == pytest.approx(16 / 10)


def test_default_schedule_is_the_papers():
    b = ais_betas()
    assert len(b) == 14500 and b[0] == 0.0 and b[-1] == 1.0
    assert np.sum(b < 0.5) == 500 and np.sum((b >= 0.5) & (b < 0.9)) == 4000
    assert np.all(np.diff(b) > 0)


# --------------------------------------------------------------------- sample
def test_sample_is_n_jobs_invariant(digits_rbm16):
    kw = dict(n_steps=20, random_state=4)
    a = digits_rbm16.sample(100, n_jobs=1, **kw)
    assert_array_equal(a, digits_rbm16.sample(100, n_jobs=2, **kw))
    assert_array_equal(a, digits_rbm16.sample(100, n_jobs=-1, **kw))
    with joblib.parallel_backend("threading", n_jobs=2):
        assert_array_equal(a, digits_rbm16.sample(100, **kw))
    assert a.shape == (100, 64) and set(np.unique(a)) <= {0.0, 1.0}


def test_sample_options(digits_rbm16):
    rbm = digits_rbm16
    thin = rbm.sample(7, n_steps=30, thin=10, random_state=0)
    assert thin.shape == (7, 3, 64)
    last = rbm.sample(7, n_steps=30, random_state=0)
    assert_array_equal(thin[:, -1], last)  # the kept states are the chain's states
    p = rbm.sample(7, n_steps=30, probabilities=True, random_state=0)
    assert p.shape == (7, 64) and np.all((p >= 0) & (p <= 1))
    assert not np.all((p == 0) | (p == 1))
    init = rbm.sample(4, n_steps=0, init=X_BIN[:2])
    assert_array_equal(init, X_BIN[[0, 1, 0, 1]])
    assert_array_equal(
        rbm.sample(3, n_steps=5, init=sp.csr_matrix(X_BIN[:3]), random_state=2),
        rbm.sample(3, n_steps=5, init=X_BIN[:3], random_state=2),
    )


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(n_samples=0), "n_samples"),
        (dict(n_steps=-1), "n_steps"),
        (dict(thin=0), "thin"),
        (dict(init=np.ones((2, 3))), "features"),
        (dict(init=2 * np.ones((2, 64))), r"\[0, 1\]"),
    ],
)
def test_sample_bad_arguments(digits_rbm16, kw, message):
    with pytest.raises(ValueError, match=message):
        digits_rbm16.sample(**kw)


def test_log_partition_bad_arguments(digits_rbm16):
    with pytest.raises(ValueError, match="method must be one of"):
        digits_rbm16.log_partition(method="magic")
    with pytest.raises(ValueError, match="n_runs"):
        digits_rbm16.log_partition(method="ais", n_runs=0)
    big = tiny_rbm(D=40, H=35)
    with pytest.raises(ValueError, match="use method='ais'"):
        big.log_partition(method="exact")


def test_sample_from_init_matches_exact_distribution():
    # chains started at data still converge to p(v)
    rbm = tiny_rbm(scale=1.0, seed=7)
    p = np.exp(rbm_log_pv(*params(rbm)))
    S = rbm.sample(20000, n_steps=50, init=np.zeros((1, 6)), random_state=1)
    counts = np.bincount(state_index(S), minlength=64)
    assert chi_square_pvalue(counts, p) > ALPHA


def test_verbose_reports_sampling_and_log_partition(capsys, digits_rbm16):
    rbm = BernoulliRBM(**{**digits_rbm16.get_params(), "verbose": 1})
    rbm.__dict__.update(
        {k: v for k, v in digits_rbm16.__dict__.items() if k.endswith("_")}
    )
    rbm.__dict__.pop("log_partition_info_", None)
    rbm.sample(3, n_steps=2, random_state=0)
    rbm.log_partition(method="ais", n_betas=50, n_runs=4, random_state=0)
    out = capsys.readouterr().out
    assert "[BernoulliRBM] sample: 3 chains x 2 Gibbs steps, time = " in out
    assert "[BernoulliRBM] log_partition ais: log Z = " in out
    assert "50 betas x 4 runs" in out


def test_custom_ais_schedule(digits_rbm16):
    exact = digits_rbm16.log_partition(method="exact")
    betas = np.linspace(0, 1, 3000) ** 2
    info = digits_rbm16.log_partition(
        method="ais", n_betas=betas, n_runs=50, random_state=1, return_details=True
    )
    assert info["settings"]["n_betas"] == 3000
    assert abs(info["log_z"] - exact) < 0.3
    with pytest.raises(ValueError, match="rise strictly from exactly 0 to exactly 1"):
        digits_rbm16.log_partition(method="ais", n_betas=[0.0, 0.5, 0.9])


def test_log_likelihood_reuses_the_last_log_partition(digits_rbm16):
    from sklearn.base import clone

    X = (load_digits().data[:20] / 16.0 >= 0.5).astype(np.float64)
    rbm = clone(digits_rbm16).set_params(n_components=12).fit(X)
    info = rbm.log_partition(
        method="ais", n_betas=200, n_runs=16, random_state=3, return_details=True
    )
    F = rbm.free_energy(X)
    # the estimate just made, not a new differently seeded AIS
    np.testing.assert_array_equal(rbm.log_likelihood(X), -F - info["log_z"])
    d = rbm.log_likelihood(X, return_details=True)
    assert d["method"] == "ais" and d["ess"] == info["ess"]
    np.testing.assert_array_equal(d["log_likelihood_low"], -F - info["log_z_high"])
    np.testing.assert_array_equal(d["log_likelihood_high"], -F - info["log_z_low"])
    assert np.all(d["log_likelihood_low"] <= d["log_likelihood_high"])
    # new parameters: the cached estimate no longer applies
    rbm.components_ = rbm.components_ * 0.5
    exact = rbm.log_likelihood(X, method="exact", return_details=True)
    assert exact["method"] == "exact" and exact["ess"] is None
    np.testing.assert_array_equal(exact["log_z_low"], exact["log_z_high"])


def test_log_likelihood_reverse_ais_sandwich(digits_rbm16):
    X = (load_digits().data[:200] / 16.0 >= 0.5).astype(np.float64)
    exact = digits_rbm16.log_partition(method="exact")
    d = digits_rbm16.log_likelihood(
        X,
        method="ais",
        n_betas=500,
        n_runs=50,
        random_state=0,
        return_details=True,
        reverse_ais=True,
    )
    true = -digits_rbm16.free_energy(X) - exact
    # 16 hidden units: both estimates are close to the exact figure; the
    # tolerance is the AIS interval's width plus 0.05 nats
    width = d["log_z_high"] - d["log_z_low"] + 0.05
    assert abs(d["log_z"] - exact) < width
    assert abs(d["log_z_reverse"] - exact) < width
    np.testing.assert_allclose(
        d["log_likelihood_reverse"] - true, exact - d["log_z_reverse"]
    )
    with pytest.raises(ValueError, match="needs return_details"):
        digits_rbm16.log_likelihood(X, reverse_ais=True)
