"""Every hot loop of skebm under three thread settings: default, 1 and 2 threads.

"default" is the library as users call it: no ``threadpool_limits``, no
environment variable; skebm's own thread policy (``skebm/_threads.py``)
decides. "1 thread" wraps the call in ``threadpool_limits(1)``. "2 threads"
wraps it in ``threadpool_limits(2)`` with skebm's policy switched off
(``skebm.config_context(blas_threads="inherit")``), i.e. both BLAS libraries
(numpy's and scipy's) at two threads, which is what the library did before the
policy. The target: default within 10 % of the better of the other two
(``default/best`` <= 1.10).

Usage: python benchmarks/bench_threads.py [--quick] [--repeats 3] [--loops a,b]
    [--busy]

``--busy`` (a labelled special setting) runs one other CPU-bound process
(``while True: pass``) during the measurements, as on a shared machine.

Sample output (2-core machine, idle)::

    | loop | shape | default s | 1 thread s | 2 threads s | default/best |
    |------|-------|-----------|------------|-------------|--------------|
    | RBM fit | 10000 x 784, 500 hid., batch 100, float32 | 0.60 | 0.73 | 1.60 | 0.82 |
"""

import argparse
import contextlib
import copy
import os
import subprocess
import sys

import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.dirname(__file__))
from _common import (  # noqa: E402
    alternate,
    special_blas_threads,
    synthetic_binary,
    table,
)

import skebm  # noqa: E402
from skebm import DBM, DBN, BernoulliRBM, BoltzmannMachine  # noqa: E402


@contextlib.contextmanager
def setting(name):
    if name == "default":
        yield
    elif name == "1 thread":
        with special_blas_threads(1):
            yield
    else:
        with skebm.config_context(blas_threads="inherit"), special_blas_threads(2):
            yield


def loops(quick):
    n = 2000 if quick else 10000
    X = synthetic_binary(n, 784, 0.13, dtype=np.float32)
    digits = (load_digits().data / 16.0 >= 0.5).astype(np.float64)
    rbm = BernoulliRBM(n_components=500, n_iter=1, batch_size=100, random_state=0)
    rbm.fit(X[:2000])
    small = BernoulliRBM(n_components=18 if not quick else 16, n_iter=1)
    small.set_params(random_state=0).fit(X[:2000])
    sizes = dict(n_components=500, batch_size=100, n_iter=1, random_state=0)
    return {
        "RBM fit": (
            f"{n} x 784, 500 hidden, batch 100, float32",
            lambda: BernoulliRBM(**sizes).fit(X),
        ),
        "RBM fit (256 hidden)": (
            f"{n} x 784, 256 hidden, batch 100, float32",
            lambda: BernoulliRBM(**{**sizes, "n_components": 256}).fit(X),
        ),
        "RBM fit, PCD-5 centered": (
            f"{n} x 784, 500 hidden, batch 100, float32",
            lambda: BernoulliRBM(n_gibbs_steps=5, centering=True, **sizes).fit(X),
        ),
        "DBN fit": (
            f"{n} x 784, (500, 500), batch 100, float32",
            lambda: DBN(
                hidden_layer_sizes=(500, 500), batch_size=100, n_iter=1, random_state=0
            ).fit(X),
        ),
        "DBM fit (joint)": (
            f"{n // 2} x 784, (500, 1000), batch 100, float32",
            lambda: DBM(
                hidden_layer_sizes=(500, 1000),
                pretrain=False,
                n_iter=1,
                random_state=0,
            ).fit(X[: n // 2]),
        ),
        "BoltzmannMachine fit": (
            "1797 x 64 digits, PCD, batch 100, 5 epochs",
            lambda: BoltzmannMachine(n_iter=5, random_state=0).fit(digits),
        ),
        "RBM transform": (f"{n} x 784 -> 500", lambda: rbm.transform(X)),
        "RBM score_samples (exact PL)": (
            "200 x 784, 500 hidden",
            lambda: rbm.score_samples(X[:200]),
        ),
        "RBM sample": (
            "100 chains x 200 steps, 784 x 500",
            lambda: rbm.sample(100, n_steps=200, random_state=0),
        ),
        "RBM AIS log Z": (
            "100 runs x 300 betas, 784 x 500",
            # a fresh copy each time: log_partition caches its estimate
            lambda: copy.deepcopy(rbm).log_partition(
                method="ais", n_betas=300, n_runs=100, random_state=0
            ),
        ),
        "RBM exact log Z": (
            f"784 x {small.n_components} (2^{small.n_components} states)",
            lambda: copy.deepcopy(small).log_partition(method="exact"),
        ),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--loops", default=None, help="comma-separated loop names")
    p.add_argument("--busy", action="store_true", help="one busy process beside")
    args = p.parse_args()
    busy = None
    if args.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        print("special setting: one other CPU-bound process runs", flush=True)
    try:
        run_table(args)
    finally:
        if busy is not None:
            busy.kill()


def run_table(args):
    rows = []
    chosen = loops(args.quick)
    if args.loops:
        chosen = {k: v for k, v in chosen.items() if k in args.loops.split(",")}
    names = ("default", "1 thread", "2 threads")
    for loop, (shape, f) in chosen.items():

        def under(name, f=f):
            def run():
                with setting(name):
                    f()

            return run

        f()  # warm-up (imports, joblib workers)
        t = alternate({name: under(name) for name in names}, args.repeats)
        best = min(t["1 thread"], t["2 threads"])
        rows.append(
            [loop, shape]
            + [f"{t[name]:.3f}" for name in names]
            + [f"{t['default'] / best:.2f}"]
        )
        print(rows[-1], flush=True)
    print()
    table(
        rows,
        ["loop", "shape", "default s", "1 thread s", "2 threads s", "default/best"],
    )


if __name__ == "__main__":
    main()
