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


def test_blocks_of_chains_run_on_threads_only_when_nothing_else_was_asked():
    from joblib import parallel_config

    from skebm._sampling import block_threads

    with threadpool_limits(2, user_api="blas"):
        assert block_threads(None, 3) in (0, 2)  # 0 on a one-core machine
        assert block_threads(None, 1) == 0
        assert block_threads(1, 3) == block_threads(2, 3) == 0
        with parallel_config(backend="threading", n_jobs=2):
            assert block_threads(None, 3) == 0
        with parallel_config(n_jobs=2):
            assert block_threads(None, 3) == 0
        with skebm.config_context(blas_threads="inherit"):
            assert block_threads(None, 3) == 0
    # a user's (or a joblib worker's) one-thread limit means no extra threads
    with threadpool_limits(1, user_api="blas"):
        assert block_threads(None, 3) == 0


def test_threaded_blocks_give_the_serial_result_and_restore_the_pools():
    rng = np.random.default_rng(0)
    X = (rng.random((60, 12)) < 0.4).astype(float)
    rbm = BernoulliRBM(8, n_iter=2, random_state=0).fit(X)
    with threadpool_limits(2, user_api="blas"):
        before = _threads()
        threaded = rbm.sample(150, n_steps=20, random_state=1)  # 4 blocks
        after = _threads()
        log_w = rbm.log_partition(method="ais", n_runs=150, n_betas=50, random_state=2)
        assert _threads() == before == after
    with threadpool_limits(1, user_api="blas"):
        serial = rbm.sample(150, n_steps=20, random_state=1)
        rbm2 = BernoulliRBM(8, n_iter=2, random_state=0).fit(X)
        log_w1 = rbm2.log_partition(
            method="ais", n_runs=150, n_betas=50, random_state=2
        )
    np.testing.assert_array_equal(threaded, serial)
    assert log_w == log_w1


def test_scipy_loops_keep_scipy_threaded():
    # the RBM's training step runs its products in scipy's BLAS: there the
    # policy holds numpy's pool at one thread and leaves scipy's alone
    secondary = _secondary_blas()
    with threadpool_limits(2, user_api="blas"):
        before = _threads()
        with blas_threads_for(SMALL_PRODUCT * 2, "scipy"):
            inside = _threads()
        with blas_threads_for(SMALL_PRODUCT / 2, "scipy"):
            assert set(_threads().values()) == {1}
        assert _threads() == before
    if secondary is None:
        assert inside == before
        return
    scipy_paths = {lib.filepath for lib in secondary.lib_controllers}
    for path, n in inside.items():
        assert n == (before[path] if path in scipy_paths else 1), path
