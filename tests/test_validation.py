"""One bad-input sweep over every public estimator and method, atomic fits
and interrupts.

The same table of inputs is thrown at ``fit``, ``partial_fit`` and every
evaluation method of all seven estimators. A bad input must raise a clear
error (its message is matched); a good variant (sparse, read-only, Fortran
order, a DataFrame, one row) must give the same result as the plain array; no
call may modify its input; and no rejected call may change a fitted model.
"""

import copy
import hashlib
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

import skebm
from skebm import (
    DBM,
    DBN,
    BernoulliRBM,
    BoltzmannMachine,
    DBNClassifier,
    GaussianBernoulliRBM,
    HopfieldNetwork,
)
from skebm._base import _float_arrays

# the 3-epoch fine-tuning of DBNClassifier does not converge, by design
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_DIGITS = load_digits()
X01 = _DIGITS.data[:40, ::8] / 16.0  # 40 x 8, values in [0, 1]
XBIN = (X01 > 0.3).astype(np.float64)
XREAL = (X01 - X01.mean(0)) / (X01.std(0) + 0.1)
Y = _DIGITS.target[:40] % 2


def _make(name):
    """(estimator, training data, evaluation methods) of each estimator."""
    if name == "rbm":
        est = BernoulliRBM(n_components=3, n_iter=2, batch_size=10, random_state=0)
        methods = ["transform", "score_samples", "free_energy", "gibbs", "ll"]
        return est, X01, methods
    if name == "grbm":
        est = GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0)
        methods = ["transform", "score_samples", "free_energy", "gibbs", "ll"]
        return est, XREAL, methods
    if name == "dbn":
        est = DBN((3, 2), n_iter=2, batch_size=10, random_state=0)
        methods = ["transform", "score_samples", "free_energy", "ll"]
        return est, X01, methods
    if name == "dbnc":
        est = DBNClassifier(
            (3,), n_iter=1, max_iter=3, early_stopping=False, random_state=0
        )
        return est, X01, ["predict", "predict_proba", "score"]
    if name == "dbm":
        est = DBM((3, 2), n_iter=1, pretrain_n_iter=1, n_chains=8, random_state=0)
        methods = ["transform", "score_samples", "free_energy", "ll"]
        return est, X01, methods
    if name == "bm":
        est = BoltzmannMachine(n_iter=2, random_state=0)
        methods = ["transform", "score_samples", "free_energy", "ll"]
        return est, XBIN, methods
    est = HopfieldNetwork(random_state=0)
    return est, XBIN, ["predict", "energy", "score_samples"]


NAMES = ["rbm", "grbm", "dbn", "dbnc", "dbm", "bm", "hopfield"]
_FITTED = {}


def _fitted(name):
    """A fitted estimator of each kind (fitted once; tests use deep copies)."""
    if name not in _FITTED:
        est, X, _ = _make(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", skebm.SkebmVersionWarning)
            est.fit(X, *((Y,) if name == "dbnc" else ()))
        _FITTED[name] = est
    return copy.deepcopy(_FITTED[name])


def _call(est, method, X):
    if method == "ll":
        return est.log_likelihood(X)
    if method == "score" and isinstance(est, DBNClassifier):
        return est.score(X, Y[: X.shape[0]] if X.ndim == 2 else Y[:1])
    return getattr(est, method)(X)


def _fit(est, X, partial=False):
    if not isinstance(est, DBNClassifier):
        return est.partial_fit(X) if partial else est.fit(X)
    y = Y[: X.shape[0]] if np.ndim(X) == 2 else Y[:1]
    if partial:
        return est.partial_fit(X, y, classes=np.unique(Y))
    return est.fit(X, y)


def state_digest(est):
    """A digest of everything a fit sets: fitted arrays, counters, widths."""
    h = hashlib.blake2b(digest_size=16)
    for name in est._fitted_attributes:
        value = getattr(est, name, None)
        if hasattr(value, "coefs_"):  # the fine-tuned MLP
            value = [*value.coefs_, *value.intercepts_]
        arrays = list(_float_arrays(value))
        if isinstance(value, np.ndarray) and not arrays:
            arrays = [value]
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(repr(value is None).encode())
    for name in ("n_features_in_", "t_", "n_iter_", "n_patterns_"):
        h.update(repr(getattr(est, name, None)).encode())
    return h.hexdigest()


# ------------------------------------------------------------ the table
def _domain_value(name):
    """A value outside the visible units' domain, or None (Gaussian)."""
    if name == "grbm":
        return None
    return 0.5 if name in ("bm", "hopfield") else 2.0


DOMAIN_MESSAGE = {
    "bm": "binary data",
    "hopfield": "binary data",
}


def _bad_inputs(name, X):
    """(case, bad X, exception type, message regex) rows of the table."""
    nan = X.copy()
    nan[1, 2] = np.nan
    inf = X.copy()
    inf[3, 1] = np.inf
    rows = [
        ("nan", nan, ValueError, "NaN"),
        ("inf", inf, ValueError, "infinity"),
        ("empty", X[:0], ValueError, "0 sample"),
        ("1d", X[0], ValueError, "2D array"),
        ("3d", X[None], ValueError, "dim 3"),
        ("strings", np.full(X.shape, "a", dtype=object), ValueError, "convert|float"),
        ("complex", X + 1j, ValueError, "[Cc]omplex"),
    ]
    value = _domain_value(name)
    if value is not None:
        msg = DOMAIN_MESSAGE.get(name, r"\[0, 1\]")
        for case, v in (("domain", value), ("negative", -0.5)):
            out = X.copy()
            out[0, 0] = v
            rows.append((case, out, ValueError, msg))
        if name != "hopfield":  # Hopfield refuses any sparse input (below)
            out = X.copy()
            out[1, 1] = 3.0
            rows.append(("sparse-domain", sp.csr_matrix(out), ValueError, msg))
    return rows


def _cases(kind):
    out = []
    for name in NAMES:
        _, X, methods = _make(name)
        for case, bad, exc, msg in _bad_inputs(name, X):
            if kind == "eval":
                out += [
                    pytest.param(name, m, bad, exc, msg, id=f"{name}-{m}-{case}")
                    for m in methods
                ]
            else:
                out.append(pytest.param(name, bad, exc, msg, id=f"{name}-{case}"))
        if kind == "eval":
            narrow = X[:, :-1]
            out += [
                pytest.param(
                    name, m, narrow, ValueError, "features", id=f"{name}-{m}-width"
                )
                for m in methods
            ]
    return out


@pytest.mark.parametrize("name, bad, exc, msg", _cases("fit"))
def test_bad_input_to_fit_is_refused_and_keeps_the_model(name, bad, exc, msg):
    est = _fitted(name)
    before = state_digest(est)
    for partial in (False, True):
        with pytest.raises(exc, match=msg):
            _fit(est, bad, partial=partial)
        assert state_digest(est) == before
    # a fresh estimator stays unfitted
    fresh = _make(name)[0]
    with pytest.raises(exc, match=msg):
        _fit(fresh, bad)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)


@pytest.mark.parametrize("name, method, bad, exc, msg", _cases("eval"))
def test_bad_input_to_a_method_is_refused(name, method, bad, exc, msg):
    est = _fitted(name)
    before = state_digest(est)
    if name == "rbm" and method == "score_samples" and msg == r"\[0, 1\]":
        # scikit-learn's BernoulliRBM.score_samples takes any real value (its
        # test-suite scores such rows): the one documented exception
        assert np.all(est.score_samples(bad) <= 0)
        return
    with pytest.raises(exc, match=msg):
        _call(est, method, bad)
    assert state_digest(est) == before


def _good_variants(name, X):
    variants = [("fortran", np.asfortranarray(X))]
    ro = X.copy()
    ro.setflags(write=False)
    variants.append(("readonly", ro))
    variants.append(("float32", X.astype(np.float32)))
    if name != "hopfield":
        variants += [
            ("csr", sp.csr_matrix(X)),
            ("csc", sp.csc_matrix(X)),
            ("coo", sp.coo_matrix(X)),
        ]
    return variants


@pytest.mark.parametrize("name", NAMES)
def test_good_variants_give_the_plain_result_and_inputs_are_not_modified(name):
    est = _fitted(name)
    _, X, methods = _make(name)
    methods = [m for m in methods if m not in ("gibbs", "score")]
    plain = {m: _call(est, m, X) for m in methods}
    for case, Xv in _good_variants(name, X):
        keep = Xv.copy()
        for m in methods:
            got = _call(est, m, Xv)
            tol = 1e-5 if case == "float32" else 1e-12
            np.testing.assert_allclose(
                got, plain[m], rtol=tol, atol=tol, err_msg=f"{m} {case}"
            )
        same = (Xv != keep).nnz == 0 if sp.issparse(Xv) else np.array_equal(Xv, keep)
        assert same, case
    # one row is a valid input to every method
    for m in methods:
        np.testing.assert_allclose(_call(est, m, X[:1]), plain[m][:1], rtol=1e-12)
    # fitting does not modify the data either
    keep = X.copy()
    _fit(_make(name)[0], X)
    assert np.array_equal(X, keep)


def test_sparse_input_to_hopfield_is_refused_clearly():
    with pytest.raises(TypeError, match="[Ss]parse"):
        HopfieldNetwork().fit(sp.csr_matrix(XBIN))


@pytest.mark.parametrize("name", NAMES)
def test_pandas_input_keeps_feature_names(name):
    pd = pytest.importorskip("pandas")
    _, X, _ = _make(name)
    cols = [f"f{i}" for i in range(X.shape[1])]
    est = _fit(_make(name)[0], pd.DataFrame(X, columns=cols))
    assert list(est.feature_names_in_) == cols
    with pytest.raises(ValueError, match="feature names"):
        _call(est, _make(name)[2][0], pd.DataFrame(X, columns=cols[::-1]))


@pytest.mark.parametrize("name", NAMES)
def test_one_row_and_one_column(name):
    _, X, _ = _make(name)
    # fit needs two rows (Hopfield stores one pattern)
    if name == "hopfield":
        _fit(_make(name)[0], X[:1])
    else:
        with pytest.raises(ValueError, match="minimum of 2"):
            _fit(_make(name)[0], X[:1])
    # a first partial_fit takes one row, as scikit-learn's BernoulliRBM does
    # (a Gaussian layer needs two: it starts from the data's variances)
    if name in ("grbm", "dbnc"):
        with pytest.raises(ValueError, match="minimum of 2"):
            _fit(_make(name)[0], X[:1], partial=True)
    else:
        _fit(_make(name)[0], X[:1], partial=True)
    # one column is a valid model
    est = _fit(_make(name)[0], X[:, :1])
    assert est.n_features_in_ == 1


@pytest.mark.parametrize("name", NAMES)
def test_methods_before_fit_raise_not_fitted(name):
    est, X, methods = _make(name)
    for m in methods:
        with pytest.raises(NotFittedError):
            _call(est, m, X)


# ------------------------------------------------- the scenario
@pytest.mark.parametrize("name", ["rbm", "dbn", "dbnc", "dbm"])
def test_rejected_refit_on_other_width_keeps_the_model(name):
    est = _fitted(name)
    _, X, methods = _make(name)
    before = _call(est, methods[0], X)
    wide = np.hstack([X, X[:, :4]])
    wide[0, 0] = 2.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _fit(est, wide)
    assert est.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(_call(est, methods[0], X), before)


def test_unscaled_test_data_never_gives_a_log_probability_above_zero():
    rbm = BernoulliRBM(n_components=16, n_iter=5, random_state=0)
    rbm.fit(_DIGITS.data[:200] / 16)
    raw = _DIGITS.data[200:205]
    for method in ("log_likelihood", "free_energy", "transform", "gibbs"):
        with pytest.raises(ValueError, match=r"\[0, 1\].*MinMaxScaler"):
            getattr(rbm, method)(raw)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rbm.transform(sp.csr_matrix(raw))


# ------------------------------------------------------------ interrupts
def _Interrupt(fn, at):
    """``fn``, raising KeyboardInterrupt at its ``at``-th call instead (a
    plain function, so that it also binds as a method)."""
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            raise KeyboardInterrupt
        return fn(*args, **kwargs)

    return wrapper


def _epoch_hook(monkeypatch, at):
    # run_epochs checks the parameters once per epoch: interrupt there
    import skebm._optim as optim

    monkeypatch.setattr(
        optim, "check_finite_state", _Interrupt(optim.check_finite_state, at)
    )


def _mlp_hook(monkeypatch, at):
    from skebm._dbn import _PretrainedMLPClassifier

    for m in ("fit", "partial_fit"):
        monkeypatch.setattr(
            _PretrainedMLPClassifier,
            m,
            _Interrupt(getattr(_PretrainedMLPClassifier, m), at),
        )


def _storage_hook(monkeypatch, at):
    import skebm._hopfield as hop

    monkeypatch.setattr(hop, "hebbian_update", _Interrupt(hop.hebbian_update, at))


def _lbfgs_hook(monkeypatch, at):
    import skebm._boltzmann as bm

    monkeypatch.setattr(bm, "minimize", _Interrupt(bm.minimize, at))


# (estimator, phase, hook, call index at which to interrupt)
PHASES = [
    ("rbm", "epochs", _epoch_hook, 2),
    ("grbm", "epochs", _epoch_hook, 2),
    ("dbn", "layer 2", _epoch_hook, 3),  # layer 1 runs 2 epochs
    ("dbnc", "pretraining", _epoch_hook, 1),
    ("dbnc", "fine-tuning", _mlp_hook, 1),
    ("dbm", "pretraining", _epoch_hook, 1),
    ("dbm", "joint training", _epoch_hook, 3),  # pretraining: 2 layers x 1
    ("bm", "pcd epochs", _epoch_hook, 2),
    ("hopfield", "storage", _storage_hook, 1),
]


@pytest.mark.parametrize(
    "name, phase, hook, at", PHASES, ids=[f"{p[0]}-{p[1]}" for p in PHASES]
)
def test_interrupted_fit_leaves_previous_model_or_unfitted(
    monkeypatch, name, phase, hook, at
):
    fitted = _fitted(name)
    _, X, methods = _make(name)
    before_state = state_digest(fitted)
    before = _call(fitted, methods[0], X)
    with monkeypatch.context() as m:
        hook(m, at)
        fresh = _make(name)[0]
        with pytest.raises(KeyboardInterrupt):
            _fit(fresh, X)
        hook(m, at)  # count again from one
        with pytest.raises(KeyboardInterrupt):
            _fit(fitted, X)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    with pytest.raises(NotFittedError):
        _call(fresh, methods[0], X)
    assert state_digest(fitted) == before_state
    np.testing.assert_array_equal(_call(fitted, methods[0], X), before)
    # and the estimator goes on as if the interrupted call had not happened
    assert state_digest(_fit(copy.deepcopy(fitted), X)) == state_digest(
        _fit(_fitted(name), X)
    )


@pytest.mark.parametrize("name", ["rbm", "grbm", "dbn", "dbm", "bm", "dbnc"])
def test_interrupted_partial_fit_keeps_the_model(monkeypatch, name):
    est = _fitted(name)
    _, X, _ = _make(name)
    before = state_digest(est)
    target = {
        "rbm": (BernoulliRBM, "_update"),
        "grbm": (GaussianBernoulliRBM, "_update"),
        "dbn": (BernoulliRBM, "_update"),
        "dbm": (DBM, "_update"),
        "bm": (BoltzmannMachine, "_step"),
    }
    if name == "dbnc":
        _mlp_hook(monkeypatch, 1)
    else:
        cls, attr = target[name]
        # the second layer of a DBN: after the first layer's step
        monkeypatch.setattr(
            cls, attr, _Interrupt(getattr(cls, attr), 2 if name == "dbn" else 1)
        )
    with pytest.raises(KeyboardInterrupt):
        _fit(est, X, partial=True)
    assert state_digest(est) == before


# ------------------------------------------- divergence and parameters
@pytest.mark.parametrize("name", ["rbm", "grbm", "dbm", "bm"])
def test_non_finite_update_stops_with_a_clear_error(monkeypatch, name):
    est = _fitted(name)
    _, X, _ = _make(name)
    cls = type(est)
    attr = "_step" if name == "bm" else "_update"
    original = getattr(cls, attr)

    def poisoned(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        first = getattr(self, self._fitted_attributes[0])
        (first[0] if isinstance(first, list) else first).flat[0] = np.nan
        return out

    monkeypatch.setattr(cls, attr, poisoned)
    before = state_digest(est)
    for partial in (True, False):
        with pytest.raises(ValueError, match="diverged.*learning rate"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                _fit(est, X, partial=partial)
        assert state_digest(est) == before


@pytest.mark.parametrize("name", ["rbm", "grbm", "dbm", "bm", "dbn"])
@pytest.mark.parametrize("value", [np.inf, np.nan, 1e200, -1.0, True])
def test_learning_rate_is_revalidated_by_partial_fit(name, value):
    est = _fitted(name)
    _, X, _ = _make(name)
    before = state_digest(est)
    est.set_params(learning_rate=value)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        _fit(est, X, partial=True)
    assert state_digest(est) == before


def test_dbn_partial_fit_uses_new_settings():
    dbn = _fitted("dbn")
    dbn.set_params(learning_rate=0.05, momentum=0.5).partial_fit(X01)
    assert all(r.learning_rate == 0.05 and r.momentum == 0.5 for r in dbn.rbms_)


@pytest.mark.parametrize(
    "est, param",
    [
        (BernoulliRBM(n_components=True), "n_components"),
        (DBM((3,), n_chains=True), "n_chains"),
        (BoltzmannMachine(n_iter=False), "n_iter"),
        (HopfieldNetwork(max_sweeps=True), "max_sweeps"),
        (GaussianBernoulliRBM(batch_size=True), "batch_size"),
    ],
)
def test_booleans_are_not_numbers(est, param):
    X = XREAL if isinstance(est, GaussianBernoulliRBM) else XBIN
    with pytest.raises(InvalidParameterError, match=f"{param}.*boolean"):
        est.fit(X)


def test_log_partition_arguments_are_checked():
    rbm = _fitted("rbm")
    for kw, msg in [
        ({"n_betas": -5}, "n_betas"),
        ({"n_betas": True}, "n_betas"),
        ({"n_burn": -1, "method": "reverse_ais"}, "n_burn"),
        ({"n_runs": 0}, "n_runs"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"method": "bogus"}, "method"),
        ({"method": "ais", "n_betas": [0.0, 0.5, 0.4, 1.0]}, "rise"),
    ]:
        with pytest.raises(ValueError, match=msg):
            rbm.log_partition(**kw)
        with pytest.raises(ValueError, match=msg):
            rbm.log_likelihood(X01, **kw)
    with pytest.raises(ValueError, match="Unknown log_partition argument"):
        rbm.log_likelihood(X01, bogus=1)
    for kw, msg in [
        ({"n_samples": 0}, "n_samples"),
        ({"n_steps": -1}, "n_steps"),
        ({"thin": 0}, "thin"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"n_samples": True}, "n_samples"),
    ]:
        with pytest.raises(ValueError, match=msg):
            rbm.sample(**kw)


@pytest.mark.parametrize("cls", [DBN, DBM])
def test_log_partition_params_are_checked_at_fit(cls):
    for params, msg in [
        ({"method": "bogus"}, "method"),
        ({"n_runs": -1}, "n_runs"),
        ({"nonsense": 1}, "Unknown"),
    ]:
        est = cls((3,), n_iter=1, log_partition_params=params)
        with pytest.raises(ValueError, match=f"log_partition_params.*{msg}"):
            est.fit(X01)


def test_lbfgs_partial_fit_says_why():
    clf = DBNClassifier((3,), solver="lbfgs")
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError) as info:
        clf.partial_fit(X01, Y, classes=[0, 1])
    assert "only available for the stochastic solvers" in str(info.value.__cause__)


def test_sample_without_random_state_is_fresh_randomness():
    # one convention for every sample method: the argument seeds the chains,
    # None draws fresh ones (the estimator's seed is for fitting)
    for est in (_fitted("rbm"), _fitted("hopfield")):
        a = est.sample(20, random_state=1)
        np.testing.assert_array_equal(a, est.sample(20, random_state=1))
        draws = [est.sample(20) for _ in range(3)]
        assert not all(np.array_equal(draws[0], d) for d in draws[1:])


def test_overloaded_storkey_network_warns():
    rng = np.random.default_rng(0)
    many = (rng.random((200, 16)) < 0.5).astype(float)
    with pytest.warns(UserWarning, match="overloaded"):
        HopfieldNetwork(rule="storkey").fit(many)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HopfieldNetwork(rule="storkey").fit(many[:2])


@pytest.mark.parametrize(
    "params, msg",
    [({"bogus": 1}, "not MLPClassifier parameters"), ({"alpha": -1.0}, "alpha")],
)
def test_fine_tune_params_are_checked_before_pretraining(monkeypatch, params, msg):
    import skebm._dbn as dbn

    def no_pretraining(*args, **kwargs):  # the check must come first
        raise AssertionError("pretraining started")

    monkeypatch.setattr(dbn.DBN, "fit", no_pretraining)
    with pytest.raises(ValueError, match=msg):
        DBNClassifier((3,), fine_tune_params=params).fit(X01, Y)
