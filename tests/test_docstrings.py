"""The docstring examples run as doctests, and every public estimator has one."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import skebm

MODULES = sorted(m.name for m in pkgutil.iter_modules(skebm.__path__))
ESTIMATORS = [
    n
    for n in skebm.__all__
    if inspect.isclass(getattr(skebm, n)) and hasattr(getattr(skebm, n), "fit")
]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"skebm.{name}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, module.__name__):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in skebm.{name}"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_public_estimators_have_doctest_examples(name):
    obj = getattr(skebm, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name)
    assert any(t.examples for t in tests), f"{name} has no Examples in its docstring"
