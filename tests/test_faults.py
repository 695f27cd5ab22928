"""A joblib worker killed mid-run makes sample / AIS fail, never return partial."""

import os
import signal

import numpy as np
import pytest
from joblib.externals.loky.process_executor import TerminatedWorkerError
from numpy.testing import assert_array_equal

from skebm._sampling import run_ais, run_chains

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs kill -9 of a worker process"
)


def _maybe_die(parent, marker):
    """Kill this process if it is a worker and the first to get here."""
    if os.getpid() != parent:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            os.kill(os.getpid(), signal.SIGKILL)
        except FileExistsError:
            pass


class KillerChain:
    """A chain model whose first step inside a worker kills that worker."""

    def __init__(self, parent, marker):
        self.parent, self.marker = parent, marker

    def random_visible(self, n, rng):
        return (rng.random((n, 3)) < 0.5).astype(float)

    def init_state(self, v0):
        return [v0.copy()]

    def step_(self, state, rng):
        _maybe_die(self.parent, self.marker)
        state[0][:] = rng.random(state[0].shape) < 0.5

    def visible(self, state, probabilities):
        return state[0].copy()


class KillerPath:
    """An annealing path (independent coins) whose worker dies mid-run."""

    log_z0 = 3 * np.log(2.0)

    def __init__(self, parent, marker):
        self.parent, self.marker = parent, marker

    def sample_base(self, n, rng):
        return [(rng.random((n, 3)) < 0.5).astype(float)]

    def from_visible(self, v):
        return [np.array(v, dtype=float)]

    def delta_log_f(self, state, b0, b1):
        return np.zeros(state[0].shape[0])

    def step_(self, state, beta, rng):
        _maybe_die(self.parent, self.marker)
        state[0][:] = rng.random(state[0].shape) < 0.5


def _assert_worker_lost(excinfo, what):
    assert what in str(excinfo.value)
    assert "no result is returned" in str(excinfo.value)
    assert isinstance(excinfo.value.__cause__, TerminatedWorkerError)


def test_killed_worker_raises(tmp_path):
    model = KillerChain(os.getpid(), str(tmp_path / "killed"))
    with pytest.raises(RuntimeError, match="worker process died") as excinfo:
        run_chains(model, 200, 5, n_jobs=2, random_state=0)
    assert (tmp_path / "killed").exists()
    _assert_worker_lost(excinfo, "sampling")


def test_killed_worker_in_ais_raises(tmp_path):
    path = KillerPath(os.getpid(), str(tmp_path / "killed"))
    with pytest.raises(RuntimeError, match="worker process died") as excinfo:
        run_ais(path, np.linspace(0, 1, 20), 200, n_jobs=2, random_state=0)
    assert (tmp_path / "killed").exists()
    _assert_worker_lost(excinfo, "annealed importance sampling")


def test_completed_run_is_identical_for_one_and_two_jobs(tmp_path):
    marker = tmp_path / "already"
    marker.touch()  # the marker exists, so no worker kills itself
    model = KillerChain(os.getpid(), str(marker))
    one = run_chains(model, 200, 5, n_jobs=1, random_state=0)
    two = run_chains(model, 200, 5, n_jobs=2, random_state=0)
    assert one.shape == (200, 3)
    assert_array_equal(two, one)
