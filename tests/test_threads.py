"""The BLAS thread policy (skebm/_threads.py) and its public switch."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import skebm
from skebm import BernoulliRBM
from skebm._threads import SMALL_PRODUCT, _secondary_blas, blas_threads_for


def _threads():
    return {
        lib["filepath"]: lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    }


def test_config_context_restores_and_validates():
    assert skebm.get_config() == {"blas_threads": "auto"}
    with skebm.config_context(blas_threads="inherit"):
        assert skebm.get_config()["blas_threads"] == "inherit"
    assert skebm.get_config()["blas_threads"] == "auto"
    with pytest.raises(ValueError, match="blas_threads must be one of"):
        skebm.set_config(blas_threads="two")
    assert skebm.get_config()["blas_threads"] == "auto"


def test_small_products_run_single_threaded():
    with threadpool_limits(2, user_api="blas"):
        with blas_threads_for(SMALL_PRODUCT / 2):
            assert set(_threads().values()) == {1}
        with blas_threads_for(None):
            assert set(_threads().values()) == {1}
        assert set(_threads().values()) == {2}


def test_large_products_keep_one_library_threaded():
    secondary = _secondary_blas()
    with threadpool_limits(2, user_api="blas"):
        before = _threads()
        with blas_threads_for(SMALL_PRODUCT * 2):
            inside = _threads()
        assert _threads() == before
    if secondary is None:
        # numpy and scipy share one library: nothing to quiet
        assert inside == before
        return
    quiet = {lib.filepath for lib in secondary.lib_controllers}
    for path, n in inside.items():
        assert n == (1 if path in quiet else before[path]), path
    # numpy's own library keeps its threads
    assert any(n == 2 for path, n in inside.items() if path not in quiet)


def test_policy_only_lowers_thread_counts():
    # a user's own limit holds inside skebm's loops
    with threadpool_limits(1, user_api="blas"):
        with blas_threads_for(SMALL_PRODUCT * 2):
            assert set(_threads().values()) == {1}


def test_inherit_leaves_pools_alone():
    with (
        threadpool_limits(2, user_api="blas"),
        skebm.config_context(blas_threads="inherit"),
    ):
        before = _threads()
        with blas_threads_for(None):
            assert _threads() == before


def test_fit_same_result_with_policy_off():
    # the policy changes how fast, never what is computed (digits-sized
    # products run single-threaded either way here)
    X = (np.random.default_rng(0).random((60, 12)) < 0.4).astype(np.float64)
    kw = dict(n_components=5, n_iter=3, random_state=0)
    a = BernoulliRBM(**kw).fit(X).components_
    with skebm.config_context(blas_threads="inherit"), threadpool_limits(1):
        b = BernoulliRBM(**kw).fit(X).components_
    np.testing.assert_array_equal(a, b)
