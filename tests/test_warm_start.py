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


# ---------------------------------------------------------------- DBM
def _dbm_data():
    from sklearn.datasets import load_digits

    return load_digits().data[:120] / 16.0


DBM_SETTINGS = {
    "plain": dict(pretrain=False),
    "pretrained+centered": dict(
        pretrain_n_iter=1, centering=True, dynamic_binarization=True
    ),
    "recipe": dict(
        pretrain=False,
        learning_rate_schedule="exponential",
        learning_rate_decay=1.05,
        learning_rate_floor=1e-3,
        final_momentum=0.9,
        momentum_switch_epoch=2,
        max_norm=3.0,
        sparsity_cost=[0.0, 1.0],
        average_from_epoch=2,
    ),
    "average": dict(pretrain=False, average=True, weight_decay=1e-3),
    "invscaling": dict(pretrain=False, learning_rate_schedule="invscaling"),
}


def _dbm_state(model):
    return [*model.coefs_, *model.intercepts_, *model.particles_]


@pytest.mark.parametrize("name", list(DBM_SETTINGS))
def test_dbm_warm_start_is_bit_identical(name):
    from skebm import DBM

    X = _dbm_data()
    kw = dict(
        hidden_layer_sizes=(6, 5),
        batch_size=20,
        n_chains=10,
        learning_rate=0.01,
        random_state=0,
        **DBM_SETTINGS[name],
    )
    whole = DBM(n_iter=4, **kw).fit(X)
    part = DBM(n_iter=1, warm_start=True, **kw).fit(X)
    part = pickle.loads(pickle.dumps(part))
    part.set_params(n_iter=3).fit(X)
    for a, b in zip(_dbm_state(whole), _dbm_state(part), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(whole.last_coefs_, part.last_coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert part.n_iter_ == 4 and part.t_ == whole.t_ == 4 * 6
    assert [h["learning_rate"] for h in part.history_] == [
        h["learning_rate"] for h in whole.history_
    ]


def test_dbm_exponential_schedule_and_momentum_switch():
    from skebm import DBM

    X = _dbm_data()
    dbm = DBM(
        (4,),
        pretrain=False,
        n_iter=4,
        batch_size=40,
        learning_rate=0.01,
        learning_rate_schedule="exponential",
        learning_rate_decay=1.1,
        learning_rate_floor=0.006,
        momentum=0.5,
        final_momentum=0.9,
        momentum_switch_epoch=1,
        random_state=0,
    ).fit(X)
    rates = [h["learning_rate"] for h in dbm.history_]
    # 3 updates per epoch; the rate of an epoch is set at its start
    np.testing.assert_allclose(rates, [0.01, 0.01 / 1.1**3, 0.006, 0.006])
    assert [h["momentum"] for h in dbm.history_] == [0.5, 0.9, 0.9, 0.9]
    assert [h["t"] for h in dbm.history_] == [3, 6, 9, 12]


def test_dbm_average_from_epoch_is_the_mean_of_epoch_ends():
    from skebm import DBM

    X = _dbm_data()
    kw = dict(pretrain=False, batch_size=40, learning_rate=0.05, random_state=0)
    ends = []
    model = DBM((5,), n_iter=1, warm_start=True, **kw).fit(X)
    for _ in range(3):
        model.fit(X)
        ends.append([p.copy() for p in [*model.coefs_, *model.intercepts_]])
    avg = DBM((5,), n_iter=4, average_from_epoch=2, **kw).fit(X)
    got = [*avg.coefs_, *avg.intercepts_]
    for k, g in enumerate(got):
        np.testing.assert_allclose(g, np.mean([e[k] for e in ends], axis=0))
    # the last iterate is the plain run's, and training goes on from it
    for a, b in zip(avg.last_coefs_, model.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_dbm_average_options_exclude_each_other():
    from skebm import DBM

    with pytest.raises(ValueError, match="exclude each other"):
        DBM((3,), average=True, average_from_epoch=2).fit(_dbm_data())


def test_dbm_init_from_rbm_and_dbm():
    from skebm import DBM, DBN

    X = _dbm_data()
    rbm = BernoulliRBM(n_components=6, n_iter=2, random_state=0).fit(X)
    before = rbm.components_.copy()
    dbm = DBM((6, 4), n_iter=0, init=rbm, random_state=0).fit(X)
    np.testing.assert_array_equal(dbm.coefs_[0], rbm.components_)
    np.testing.assert_array_equal(dbm.intercepts_[0], rbm.intercept_visible_)
    np.testing.assert_array_equal(dbm.intercepts_[1], rbm.intercept_hidden_)
    np.testing.assert_array_equal(rbm.components_, before)  # not changed
    assert dbm.init_ is rbm
    # an unfitted init (as clone leaves it) is fitted to X first
    fresh = DBM((6, 4), n_iter=0, init=BernoulliRBM(6, n_iter=2, random_state=0))
    fresh.set_params(random_state=0).fit(X)
    np.testing.assert_array_equal(fresh.coefs_[0], rbm.components_)
    # a DBM gives every layer
    again = DBM((6, 4), n_iter=0, init=dbm, random_state=1).fit(X)
    for a, b in zip(again.coefs_, dbm.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="init has weight shapes"):
        DBM((5, 4), n_iter=0, init=rbm).fit(X)
    with pytest.raises(ValueError, match="The 'init' parameter"):
        DBM((6, 4), n_iter=0, init="rbm").fit(X)
    with pytest.raises(ValueError, match="init must be a BernoulliRBM or a DBM"):
        DBM((6, 4), n_iter=0, init=DBN((6,))).fit(X)


def test_dbm_warm_start_grows_and_shrinks_chains():
    from skebm import DBM

    X = _dbm_data()
    dbm = DBM((5, 3), pretrain=False, n_iter=1, n_chains=10, warm_start=True)
    dbm.set_params(random_state=0).fit(X)
    old = [x.copy() for x in dbm.particles_]
    dbm.set_params(n_chains=25, n_iter=0).fit(X)
    assert [x.shape[0] for x in dbm.particles_] == [25, 25, 25]
    # the copies were run apart: not all equal to the chains they copy
    assert not np.array_equal(dbm.particles_[0][10:20], old[0])
    dbm.set_params(n_chains=4).fit(X)
    assert dbm.particles_[0].shape[0] == 4


def test_dbm_recipe_matches_hand_driven_bench():
    # The reference: three joint epochs driven by hand the way
    # benchmarks/bench_dbm.py did before the recipe's pieces were parameters
    # (recorded on that code by tests/data/dbm_recipe_reference.py, and
    # re-recorded when the pretraining RBMs moved to the shared CD code).
    import os

    from skebm import DBM

    from .data.dbm_recipe_reference import MODEL, SETTINGS, data, hand_driven

    s = SETTINGS
    path = os.path.join(os.path.dirname(__file__), "data", "dbm_recipe_reference.npz")
    ref = np.load(path)
    model = DBM(
        s["hidden"],
        learning_rate=s["lr"],
        learning_rate_schedule="exponential",
        learning_rate_decay=s["decay"],
        learning_rate_floor=s["floor"],
        batch_size=s["batch"],
        n_iter=s["epochs"],
        n_chains=s["n_chains"],
        momentum=0.5,
        final_momentum=0.9,
        momentum_switch_epoch=s["momentum_switch"],
        average_from_epoch=s["average_from"],
        **MODEL,
    ).fit(data())
    got = {
        f"last_{i}": p for i, p in enumerate(model.last_coefs_ + model.last_intercepts_)
    }
    got.update(
        {f"mean_{i}": p for i, p in enumerate([*model.coefs_, *model.intercepts_])}
    )
    got.update({f"chain_{i}": x for i, x in enumerate(model.particles_)})
    # bit-identical to the hand-driven epochs on this machine ...
    live = hand_driven()
    assert sorted(live) == sorted(got)
    for key, value in live.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    # ... and to the recorded figures up to another CPU's last-bit rounding
    # (binary chain states equal exactly; 1e-9 is far below any change of
    # the recipe, which moves parameters by ~lr = 1e-3)
    for key in ref.files:
        np.testing.assert_allclose(
            got[key], ref[key], rtol=1e-9, atol=1e-12, err_msg=key
        )
    n = len(model.coefs_) + len(model.intercepts_)
    assert len(ref.files) == 2 * n + len(model.particles_)


# ------------------------------------------------------ BoltzmannMachine
@pytest.mark.parametrize("schedule", ["constant", "invscaling"])
def test_bm_pcd_warm_start_is_bit_identical(schedule):
    from skebm import BoltzmannMachine

    X = _data(d=8)
    kw = dict(batch_size=20, learning_rate_schedule=schedule, random_state=0)
    whole = BoltzmannMachine(n_iter=5, **kw).fit(X)
    part = BoltzmannMachine(n_iter=2, warm_start=True, **kw).fit(X)
    part = pickle.loads(pickle.dumps(part))
    part.set_params(n_iter=3).fit(X)
    for name in ("coef_", "intercept_", "persistent_chains_"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(part, name))
    assert part.n_iter_ == 5 and part.t_ == whole.t_ == 15
    assert part.score_curve_ == whole.score_curve_
    assert [h["pseudo_likelihood"] for h in part.history_] == whole.score_curve_


def test_bm_lbfgs_warm_start_starts_at_the_optimum():
    from skebm import BoltzmannMachine

    X = _data(d=8)
    bm = BoltzmannMachine(method="pseudo_likelihood", weight_decay=0.01)
    cold = bm.fit(X).n_iter_
    bm.set_params(warm_start=True).fit(X)
    assert cold > 3 and bm.n_iter_ <= 2
    assert bm.t_ == cold + bm.n_iter_


def test_rbm_last_iterate_behind_the_average():
    X = _data()
    kw = dict(n_components=4, n_iter=3, random_state=0)
    avg = BernoulliRBM(average=True, **kw).fit(X)
    plain = BernoulliRBM(**kw).fit(X)
    # the same trajectory: the last iterate is the plain fit's model
    np.testing.assert_array_equal(avg.last_components_, plain.components_)
    np.testing.assert_array_equal(avg.last_intercept_hidden_, plain.intercept_hidden_)
    np.testing.assert_array_equal(avg.last_intercept_visible_, plain.intercept_visible_)
    assert np.abs(avg.components_ - plain.components_).max() > 1e-4
    np.testing.assert_array_equal(plain.last_components_, plain.components_)
    with pytest.raises(AttributeError):
        _ = BernoulliRBM().last_components_


# ------------------------------------------------------------------ DBN
def _layers_state(dbn):
    return [
        (r.components_, r.intercept_hidden_, r.intercept_visible_, r.h_samples_)
        for r in dbn.rbms_
    ]


@pytest.mark.parametrize("roundtrip", [False, True])
def test_dbn_warm_start_bottom_layer_is_bit_identical(roundtrip):
    from skebm import DBN

    X = _data()
    kw = dict(batch_size=10, momentum=0.5, random_state=0)
    once = DBN((5, 3), n_iter=5, **kw).fit(X)
    warm = DBN((5, 3), n_iter=2, warm_start=True, **kw).fit(X)
    if roundtrip:
        warm = pickle.loads(pickle.dumps(warm))
    warm.set_params(n_iter=3).fit(X)
    for a, b in zip(_layers_state(once)[0], _layers_state(warm)[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert [r.n_iter_ for r in warm.rbms_] == [5, 5]
    # the layers keep their own warm_start setting
    assert not any(r.warm_start for r in warm.rbms_)
    # one layer: the whole DBN is the RBM of 5 epochs
    one = DBN(5, n_iter=2, warm_start=True, **kw).fit(X)
    one.set_params(n_iter=3).fit(X)
    rbm = BernoulliRBM(5, n_iter=5, **kw).fit(X)
    np.testing.assert_array_equal(one.rbms_[0].components_, rbm.components_)


def test_dbn_warm_start_grows_a_layer():
    from skebm import DBN

    X = _data()
    kw = dict(batch_size=10, random_state=0)
    base = DBN((5,), n_iter=3, warm_start=True, **kw).fit(X)
    bottom = base.rbms_[0].components_.copy()
    base.set_params(hidden_layer_sizes=(5, 3), n_iter=[0, 4]).fit(X)
    np.testing.assert_array_equal(base.rbms_[0].components_, bottom)
    # the new layer is the one a single greedy fit trains on the same bottom
    ref = DBN((5, 3), n_iter=[3, 4], **kw).fit(X)
    for a, b in zip(_layers_state(ref)[1], _layers_state(base)[1], strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="must start with them"):
        base.set_params(hidden_layer_sizes=(4, 3)).fit(X)
    assert base.rbms_[0].n_components == 5  # the rejected fit changed nothing


def _as_pre_session_38(model):
    """The averaging state as models pickled before session 38 kept it:
    ``_average_state = [means, count]`` and ``_n_seen``, no ``_average``."""
    avg = model.__dict__.pop("_average")
    means = avg.mean
    if means is not None and isinstance(model, BernoulliRBM):
        means = means[0]
    model._average_state = None if means is None else [means, avg.count]
    model._n_seen = avg.n_seen
    return model


@pytest.mark.parametrize("kind", ["rbm", "dbm"])
def test_older_averaging_state_continues_bit_identically(kind):
    from skebm import DBM

    if kind == "rbm":
        X = _data()
        make = lambda n: BernoulliRBM(  # noqa: E731
            n_components=4, n_iter=n, average=True, warm_start=True, random_state=0
        )
        values = lambda m: [m.components_, m.last_components_]  # noqa: E731
    else:
        X = _dbm_data()
        make = lambda n: DBM(  # noqa: E731
            (5, 3),
            pretrain=False,
            n_iter=n,
            average=True,
            warm_start=True,
            random_state=0,
        )
        values = lambda m: [*m.coefs_, *m.last_coefs_]  # noqa: E731
    once = make(4).fit(X)
    old = pickle.loads(pickle.dumps(_as_pre_session_38(make(2).fit(X))))
    old.set_params(n_iter=2).fit(X)
    for a, b in zip(values(once), values(old), strict=True):
        np.testing.assert_array_equal(a, b)
