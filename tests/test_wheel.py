"""The wheel installs clean: built from the package's files, installed into a
fresh virtual environment (no editable install, no source tree on the path),
it imports from the venv, runs a short fit/transform/sample and the demo in its
quick mode."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import skebm

ROOT = Path(__file__).resolve().parent.parent

if importlib.util.find_spec("build") is None:
    pytest.skip(
        "the 'build' package is not installed (pip install -e '.[test]')",
        allow_module_level=True,
    )
if not (ROOT / "pyproject.toml").exists():
    pytest.skip("no source tree to build from", allow_module_level=True)
if importlib.util.find_spec("wheel") is None:
    import setuptools

    if tuple(map(int, setuptools.__version__.split(".")[:2])) < (70, 1):
        pytest.skip(
            "an offline build needs the 'wheel' package or setuptools >= 70.1",
            allow_module_level=True,
        )

SMOKE = """
import json, sys
import numpy as np
import skebm
from skebm import BernoulliRBM, DBN
X = (np.random.default_rng(0).random((60, 12)) < 0.3) * 1.0
rbm = BernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(X)
dbn = DBN((4, 3), n_iter=2, random_state=0).fit(X)
print(json.dumps({
    "file": skebm.__file__,
    "version": skebm.__version__,
    "path": sys.path,
    "transform": list(rbm.transform(X).shape),
    "sample": list(rbm.sample(3, n_steps=5, random_state=0).shape),
    "dbn": list(dbn.sample(2, n_steps=5, random_state=0).shape),
    "log_z": float(rbm.log_partition(method="exact")),
}))
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """sdist and wheel of a copy of the package's files (the tree stays clean)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(
        ROOT / "skebm", src / "skebm", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    # no isolation: builds offline with the setuptools of this environment
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out)],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_sdist_and_wheel_built(dist):
    version = skebm.__version__
    (wheel,) = dist.glob(f"skebm-{version}-py3-none-any.whl")
    (sdist,) = dist.glob(f"skebm-{version}.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    modules = sorted(p.name for p in (ROOT / "skebm").glob("*.py"))
    assert sorted(n.split("/")[1] for n in names if n.startswith("skebm/")) == modules
    assert not any(n.startswith("tests/") for n in names)
    metadata = zipfile.ZipFile(wheel).read(f"skebm-{version}.dist-info/METADATA")
    assert f"Version: {version}" in metadata.decode()
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert f"skebm-{version}/pyproject.toml" in members
    assert f"skebm-{version}/skebm/__init__.py" in members


def test_wheel_installs_into_fresh_venv(dist, tmp_path):
    (wheel,) = dist.glob("*.whl")
    env_dir = tmp_path / "venv"
    # the dependencies (numpy, scipy, scikit-learn, joblib) come from this
    # environment; skebm itself only from the wheel
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--no-cache-dir",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    run_dir = tmp_path / "elsewhere"  # no source tree in the working directory
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [str(python), "-c", SMOKE],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    # the wheel's copy is the one imported
    assert Path(info["file"]).resolve().is_relative_to(env_dir.resolve()), info["file"]
    assert not any(
        Path(p).resolve() == ROOT for p in info["path"] if p and Path(p).exists()
    )
    assert info["version"] == skebm.__version__
    assert info["transform"] == [60, 4]
    assert info["sample"] == [3, 12]
    assert info["dbn"] == [2, 12]
    assert info["log_z"] > 0

    demo = subprocess.run(
        [str(python), "-m", "skebm", "--quick", "--output", "demo.png"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "classes covered:" in demo.stdout and "log Z exact" in demo.stdout
    assert (run_dir / "demo.png").exists()
