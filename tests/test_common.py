"""scikit-learn's common estimator checks over every public skebm estimator.

Fast settings live in one table; every expected failure is listed with its
reason. skebm's models have binary units and reject data outside their
domain by design (silent garbage otherwise): BernoulliRBM needs values in
[0, 1], BoltzmannMachine and HopfieldNetwork binary values. Many common
checks fit on Gaussian blobs, so on the bare estimators those checks are
expected to fail for that reason alone. To show that nothing else is behind
them, the whole check suite runs again, and must pass with no expected
failure, on test-only subclasses that map every validated input into the
domain (a fixed logistic squashing into (0, 1), or thresholding at 0) and are
otherwise the estimators themselves. GaussianBernoulliRBM has real-valued
visible units, takes any finite input, and runs the checks bare, with no
expected failure.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import validate_data

import skebm

FAST = {
    "BernoulliRBM": dict(n_components=4, n_iter=2, random_state=0),
    "BoltzmannMachine": dict(max_iter=2, random_state=0),
    "DBM": dict(
        hidden_layer_sizes=(4, 3),
        n_iter=2,
        pretrain_n_iter=2,
        batch_size=10,
        random_state=0,
    ),
    "HopfieldNetwork": dict(),
    "GaussianBernoulliRBM": dict(n_components=4, n_iter=2, random_state=0),
    "DBN": dict(hidden_layer_sizes=(4, 3), n_iter=2, random_state=0),
    "DBNClassifier": dict(
        hidden_layer_sizes=(8,),
        n_iter=2,
        learning_rate_init=0.05,
        max_iter=1000,
        fine_tune_params={"tol": 1e-3},
        random_state=0,
    ),
}

_DOMAIN = "the check fits on data outside the units' domain, which is rejected"


def _xfails(names):
    return dict.fromkeys(names, _DOMAIN)


_COMMON_DOMAIN = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
]
# Binary-only models also fail, for the same reason, the checks that fit on
# continuous data before looking at NaN, object dtype, y or single samples.
_BINARY_DOMAIN = _COMMON_DOMAIN + [
    "check_dtype_object",
    "check_estimators_nan_inf",
    "check_fit2d_1sample",
    "check_fit_score_takes_y",
]
EXPECTED_FAILURES = {
    "BernoulliRBM": _xfails(_COMMON_DOMAIN),
    "BoltzmannMachine": _xfails(
        # it refuses a single sample before looking at the values
        [n for n in _BINARY_DOMAIN if n != "check_fit2d_1sample"]
        + [
            "check_estimator_sparse_array",
            "check_estimator_sparse_matrix",
            "check_estimator_sparse_tag",
            "check_transformer_n_iter",
        ]
    ),
    "HopfieldNetwork": _xfails(_BINARY_DOMAIN),
    "DBM": _xfails(_COMMON_DOMAIN),
    "DBN": _xfails(_COMMON_DOMAIN),
    "DBNClassifier": _xfails(
        [n for n in _COMMON_DOMAIN if "transformer" not in n]
        + [
            "check_classifier_data_not_an_array",
            "check_classifiers_classes",
            "check_classifiers_train",
            "check_estimators_partial_fit_n_features",
            "check_non_transformer_estimators_n_iter",
        ]
    ),
}


def _estimators():
    for name in sorted(FAST):
        yield getattr(skebm, name)(**FAST[name])


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(
    list(_estimators()), expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# ------------------------------------------ the same checks inside the domain
def _dense(X):
    return X.toarray() if sp.issparse(X) else X


def _squash(X):
    X = _dense(X)
    return expit(X).astype(X.dtype, copy=False)


def _threshold(X):
    X = _dense(X)
    return (X > 0).astype(X.dtype)


def _any(est, X, reset, sparse=True):
    return validate_data(
        est,
        X,
        accept_sparse="csr" if sparse else False,
        dtype=("float64", "float32"),
        reset=reset,
    )


class SquashedBernoulliRBM(skebm.BernoulliRBM):
    """BernoulliRBM that maps any real input into (0, 1) (tests only)."""

    def _validate_train_X(self, X, reset, **kw):
        return super()._validate_train_X(_squash(_any(self, X, reset)), reset, **kw)

    def _validate_eval_X(self, X, **kw):
        return super()._validate_eval_X(_squash(_any(self, X, False)), **kw)


class SquashedDBM(skebm.DBM):
    """DBM that maps any real input into (0, 1) (tests only)."""

    def _validate_train_X(self, X, reset, **kw):
        return super()._validate_train_X(_squash(_any(self, X, reset)), reset, **kw)

    def _validate_eval_X(self, X, **kw):
        return super()._validate_eval_X(_squash(_any(self, X, False)), **kw)


class SquashedDBN(skebm.DBN):
    """DBN that maps any real input into (0, 1) (tests only)."""

    def _validate_train_X(self, X, reset, **kw):
        return super()._validate_train_X(_squash(_any(self, X, reset)), reset, **kw)

    def _validate_eval_X(self, X, **kw):
        return super()._validate_eval_X(_squash(_any(self, X, False)), **kw)


class SquashedDBNClassifier(skebm.DBNClassifier):
    """DBNClassifier that maps any real input into (0, 1) (tests only)."""

    def _validate_train_data(self, X, y, reset=True):
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=("float64", "float32"), reset=reset
        )
        return super()._validate_train_data(_squash(X), y, reset=reset)

    def _validate_eval_X(self, X):
        return super()._validate_eval_X(_squash(_any(self, X, False)))


class ThresholdedBoltzmannMachine(skebm.BoltzmannMachine):
    """BoltzmannMachine that maps any real input to {0, 1} (tests only)."""

    def _validate_train_X(self, X, reset, **kw):
        return super()._validate_train_X(_threshold(_any(self, X, reset)), reset, **kw)

    def _validate_eval_X(self, X, *, reset=False):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _threshold(_any(self, X, reset))
        return super()._validate_eval_X(X, reset=reset)


class ThresholdedHopfieldNetwork(skebm.HopfieldNetwork):
    """HopfieldNetwork that maps any real input to {0, 1} (tests only)."""

    def _validate_X(self, X, reset):
        return super()._validate_X(_threshold(_any(self, X, reset, False)), reset)


IN_DOMAIN = {
    "BernoulliRBM": SquashedBernoulliRBM,
    "BoltzmannMachine": ThresholdedBoltzmannMachine,
    "DBM": SquashedDBM,
    "DBN": SquashedDBN,
    "DBNClassifier": SquashedDBNClassifier,
    "HopfieldNetwork": ThresholdedHopfieldNetwork,
    # real-valued units: every finite input is in the domain
    "GaussianBernoulliRBM": skebm.GaussianBernoulliRBM,
}


@parametrize_with_checks([IN_DOMAIN[name](**FAST[name]) for name in sorted(IN_DOMAIN)])
def test_checks_pass_on_in_domain_data(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked():
    public = {
        name
        for name in skebm.__all__
        if isinstance(getattr(skebm, name), type)
        and hasattr(getattr(skebm, name), "fit")
    }
    assert public == set(FAST) == set(IN_DOMAIN)


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_expected_failures_are_only_the_domain(name):
    assert set(EXPECTED_FAILURES[name].values()) <= {_DOMAIN}
    assert np.all([n.startswith("check_") for n in EXPECTED_FAILURES[name]])


# ------------------------ Gaussian first layers take any real data: no xfails
@parametrize_with_checks(
    [
        skebm.DBM(
            hidden_layer_sizes=(4, 3),
            visible_units="gaussian",
            n_iter=2,
            pretrain_n_iter=2,
            batch_size=10,
            random_state=0,
        ),
        skebm.DBN(
            hidden_layer_sizes=(4, 3),
            visible_units="gaussian",
            learning_rate=[0.01, 0.1],
            n_iter=2,
            random_state=0,
        ),
        skebm.DBNClassifier(
            hidden_layer_sizes=(8,),
            visible_units="gaussian",
            learning_rate=0.01,
            n_iter=2,
            learning_rate_init=0.05,
            max_iter=1000,
            fine_tune_params={"tol": 1e-3},
            random_state=0,
        ),
    ]
)
def test_sklearn_compatible_gaussian_stack(estimator, check):
    check(estimator)
