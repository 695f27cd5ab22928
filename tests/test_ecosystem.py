"""skebm in scikit-learn workflows: model selection, pipelines, persistence, dask."""

import io
import pickle

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skebm import BernoulliRBM

X, Y = load_digits(return_X_y=True)
X = X / 16.0
X_SMALL, Y_SMALL = X[:400], Y[:400]


def test_grid_search_unsupervised_uses_score():
    grid = GridSearchCV(
        BernoulliRBM(n_components=8, n_iter=2, random_state=0),
        {"method": ["cd", "pcd"], "n_gibbs_steps": [1, 2], "learning_rate": [0.05]},
        cv=3,
        n_jobs=2,
    ).fit(X_SMALL)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert grid.best_params_["method"] in ("cd", "pcd")


def test_randomized_search_and_cross_val_score_in_a_pipeline():
    pipe = Pipeline(
        [
            ("rbm", BernoulliRBM(n_components=32, n_iter=20, random_state=0)),
            ("logistic", LogisticRegression(max_iter=500)),
        ]
    )
    search = RandomizedSearchCV(
        pipe,
        {"rbm__learning_rate": [0.05, 0.1], "rbm__n_components": [16, 32]},
        n_iter=2,
        cv=2,
        random_state=0,
    ).fit(X_SMALL, Y_SMALL)
    assert search.best_score_ > 0.5
    scores = cross_val_score(pipe, X_SMALL, Y_SMALL, cv=3, n_jobs=2)
    assert np.all(scores > 0.6)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trip(dump):
    rbm = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X_SMALL)
    if dump == "pickle":
        clone = pickle.loads(pickle.dumps(rbm))
    else:
        buf = io.BytesIO()
        joblib.dump(rbm, buf)
        buf.seek(0)
        clone = joblib.load(buf)
    assert_array_equal(clone.transform(X_SMALL), rbm.transform(X_SMALL))
    assert_array_equal(clone.score_samples(X_SMALL), rbm.score_samples(X_SMALL))
    assert_array_equal(
        clone.sample(4, n_steps=10, random_state=3),
        rbm.sample(4, n_steps=10, random_state=3),
    )


def test_pickle_across_versions():
    from skebm import SkebmVersionWarning

    rbm = BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X_SMALL)
    state = rbm.__getstate__()
    # another scikit-learn version: skebm's state is plain numpy, it loads as is
    state["_sklearn_version"] = "1.6.0"
    clone = BernoulliRBM.__new__(BernoulliRBM)
    clone.__setstate__(dict(state))
    assert_array_equal(clone.transform(X_SMALL), rbm.transform(X_SMALL))
    # another skebm version: loads, with a warning that names both versions
    state["_skebm_version"] = "0.0.1"
    with pytest.warns(SkebmVersionWarning, match=r"0\.0\.1.*0\.1\.0"):
        clone.__setstate__(dict(state))


def test_dask_cluster_runs_grid_search_sample_and_ais():
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install .[test])"
    )
    rbm = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X_SMALL)
    local_samples = rbm.sample(80, n_steps=5, random_state=1, n_jobs=1)
    local_ais = rbm.log_partition(method="ais", n_betas=50, n_runs=70, random_state=2)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with joblib.parallel_backend("dask"):
            grid = GridSearchCV(
                BernoulliRBM(n_components=4, n_iter=1, random_state=0),
                {"learning_rate": [0.01, 0.1]},
                cv=2,
            ).fit(X_SMALL)
            samples = rbm.sample(80, n_steps=5, random_state=1)
            del rbm.log_partition_info_
            ais = rbm.log_partition(method="ais", n_betas=50, n_runs=70, random_state=2)
    assert len(grid.cv_results_["params"]) == 2
    assert_array_equal(samples, local_samples)
    assert ais == local_ais
