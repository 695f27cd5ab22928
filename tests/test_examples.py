"""Every example in examples/ runs headless (small settings) and writes its PNG."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    # as users run them: no thread settings (the library's policy decides)
    env = dict(os.environ, SKEBM_EXAMPLE_QUICK="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), "the example wrote no picture"


def test_demo_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "skebm", "--n-iter", "2", "--output", "demo.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "accuracy RBM features + LR" in proc.stdout
    assert (tmp_path / "demo.png").exists()
