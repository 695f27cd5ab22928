"""scikit-learn's own BernoulliRBM test-suite, run unchanged on skebm's.

The test functions are imported from the installed scikit-learn and their
module's ``BernoulliRBM`` is swapped for ours, so every assertion is theirs.
"""

import pytest

import skebm

sk_tests = pytest.importorskip("sklearn.neural_network.tests.test_rbm")


@pytest.fixture(autouse=True)
def _use_skebm(monkeypatch):
    monkeypatch.setattr(sk_tests, "BernoulliRBM", skebm.BernoulliRBM)


for _name in dir(sk_tests):
    if _name.startswith("test_"):
        globals()[_name] = getattr(sk_tests, _name)
