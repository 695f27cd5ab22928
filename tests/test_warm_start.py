"""warm_start continues a fit bit for bit; progress counters and history."""

import pickle

import numpy as np
import pytest

from skebm import BernoulliRBM


def _data(n=60, d=12, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, d)) < 0.35).astype(dtype)


_STATE = ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_")

RBM_SETTINGS = {
    "pcd": {},
    "cd-2": dict(method="cd", n_gibbs_steps=2),
    "momentum+decay": dict(momentum=0.5, weight_decay=1e-3),
    "centering": dict(centering=True),
    "average": dict(average=True, momentum=0.3),
    "average-late": dict(average=150),
    "shuffle+dynamic": dict(shuffle=True, dynamic_binarization=True),
    "pt": dict(method="pt", n_temperatures=3),
    "fpcd": dict(method="fpcd", momentum=0.2),
    "invscaling+sparsity": dict(learning_rate_schedule="invscaling", sparsity_cost=0.5),
}


def _assert_same(a, b):
    for name in _STATE:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), name)
        assert getattr(a, name).dtype == getattr(b, name).dtype


@pytest.mark.parametrize("name", list(RBM_SETTINGS))
@pytest.mark.parametrize("roundtrip", [False, True])
def test_rbm_warm_start_is_bit_identical(name, roundtrip):
    X = _data()
    kw = dict(n_components=5, batch_size=10, random_state=0, **RBM_SETTINGS[name])
    whole = BernoulliRBM(n_iter=5, **kw).fit(X)
    part = BernoulliRBM(n_iter=2, warm_start=True, **kw).fit(X)
    if roundtrip:
        part = pickle.loads(pickle.dumps(part))
    part.set_params(n_iter=3).fit(X)
    _assert_same(whole, part)
    assert part.n_iter_ == whole.n_iter_ == 5
    assert part.t_ == whole.t_ == 5 * 6
    assert [h["epoch"] for h in part.history_] == [1, 2, 3, 4, 5]
    assert [h["learning_rate"] for h in part.history_] == [
        h["learning_rate"] for h in whole.history_
    ]


@pytest.mark.parametrize("d", [12, 200])
def test_rbm_warm_start_float32(d):
    # d=12: a small float32 model worked in float64 (the float64 trajectory
    # is kept aside between fits); d=200: worked in float32
    X = _data(d=d, dtype=np.float32)
    kw = dict(n_components=5, batch_size=10, random_state=0, momentum=0.5)
    whole = BernoulliRBM(n_iter=4, **kw).fit(X)
    part = BernoulliRBM(n_iter=1, warm_start=True, **kw).fit(X)
    part = pickle.loads(pickle.dumps(part))
    part.set_params(n_iter=3).fit(X)
    _assert_same(whole, part)
    assert part.components_.dtype == np.float32


def test_rbm_fit_without_warm_start_starts_again():
    X = _data()
    rbm = BernoulliRBM(n_components=5, n_iter=2, random_state=0).fit(X)
    first = rbm.components_.copy()
    rbm.fit(X)
    np.testing.assert_array_equal(rbm.components_, first)
    assert rbm.n_iter_ == 2 and rbm.t_ == 12 and len(rbm.history_) == 2


def test_rbm_warm_start_needs_same_features():
    rbm = BernoulliRBM(n_components=3, n_iter=1, warm_start=True, random_state=0)
    rbm.fit(_data(d=12))
    with pytest.raises(ValueError, match="12 features"):
        rbm.fit(_data(d=10))


def test_rbm_warm_start_then_partial_fit_counts_updates():
    X = _data()
    rbm = BernoulliRBM(n_components=4, n_iter=1, warm_start=True, random_state=0)
    rbm.fit(X).partial_fit(X[:10])
    assert rbm.t_ == 7 and rbm.n_iter_ == 1
    rbm.fit(X)
    assert rbm.t_ == 13 and rbm.n_iter_ == 2


def test_rbm_linear_schedule_decays_to_end_of_each_fit():
    X = _data()
    rbm = BernoulliRBM(
        n_components=4,
        n_iter=2,
        learning_rate=0.1,
        learning_rate_schedule="linear",
        warm_start=True,
        random_state=0,
    ).fit(X)
    rbm.fit(X)
    rates = [h["learning_rate"] for h in rbm.history_]
    np.testing.assert_allclose(rates, [0.1, 0.05, 0.05, 0.025])


def test_pickle_without_a_newer_parameter_loads_its_default():
    rbm = BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(_data())
    state = rbm.__getstate__()
    del state["warm_start"]  # as pickled before warm_start existed
    old = BernoulliRBM.__new__(BernoulliRBM)
    old.__setstate__(state)
    assert old.get_params()["warm_start"] is False
    np.testing.assert_array_equal(old.transform(_data()), rbm.transform(_data()))
