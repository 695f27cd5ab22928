"""A joblib worker killed mid-run makes sample / AIS fail, never return partial."""

import os
import signal

import pytest
from joblib.externals.loky.process_executor import TerminatedWorkerError
from numpy.testing import assert_array_equal

from skebm._sampling import run_chains

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs kill -9 of a worker process"
)


class KillerChain:
    """A chain model whose first step inside a worker kills that worker."""

    def __init__(self, parent, marker):
        self.parent, self.marker = parent, marker

    def random_visible(self, n, rng):
        return (rng.random((n, 3)) < 0.5).astype(float)

    def init_state(self, v0):
        return [v0.copy()]

    def step_(self, state, rng):
        if os.getpid() != self.parent:
            try:  # only the first block to get here dies
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
                os.kill(os.getpid(), signal.SIGKILL)
            except FileExistsError:
                pass
        state[0][:] = rng.random(state[0].shape) < 0.5

    def visible(self, state, probabilities):
        return state[0].copy()


def test_killed_worker_raises(tmp_path):
    model = KillerChain(os.getpid(), str(tmp_path / "killed"))
    with pytest.raises(TerminatedWorkerError):
        run_chains(model, 200, 5, n_jobs=2, random_state=0)
    assert (tmp_path / "killed").exists()


def test_completed_run_is_identical_for_one_and_two_jobs(tmp_path):
    marker = tmp_path / "already"
    marker.touch()  # the marker exists, so no worker kills itself
    model = KillerChain(os.getpid(), str(marker))
    one = run_chains(model, 200, 5, n_jobs=1, random_state=0)
    two = run_chains(model, 200, 5, n_jobs=2, random_state=0)
    assert one.shape == (200, 3)
    assert_array_equal(two, one)
