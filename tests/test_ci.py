"""The README's two commands are the ones CI and users run; one version source."""

import re
from pathlib import Path

import pytest

import skebm

ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / "README.md").exists():
    pytest.skip("no source tree", allow_module_level=True)

README = (ROOT / "README.md").read_text()
COMMANDS = re.findall(
    r"## Two commands.*?```bash\n(.*?)\n```.*?```bash\n(.*?)\n```", README, re.S
)


def test_readme_has_the_two_commands():
    assert COMMANDS, "README lost its 'Two commands' section"
    demo, tests = COMMANDS[0]
    assert demo.endswith("python -m skebm")
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_and_builds_the_site():
    ci = (ROOT / ".ci" / "run").read_text()
    _, tests = COMMANDS[0]
    assert tests in ci.splitlines()
    assert "ruff check ." in ci.splitlines()
    assert re.search(r"^sphinx-build -W .*docs docs/_build/html$", ci, re.M)
    # the site is built before the tests that load it
    assert ci.index("sphinx-build") < ci.index(tests)


def test_one_version_source():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "skebm.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", skebm.__version__)
