"""AIS against the exact log Z on MNIST-trained RBMs small enough to enumerate.

784 visible x 20 hidden units (2**20 hidden states are enumerated exactly),
5 PCD-1 epochs on 50 000 binarized MNIST images with momentum 0.9 and 0.5;
AIS with 3 000 betas and 100 runs. Shows how far AIS lands from the truth on
a real model, next to its effective sample size and the spread of its
log-weights.

Usage: python benchmarks/bench_ais_exact_mnist.py
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from mnist_data import binarize, load_mnist  # noqa: E402

from skebm import BernoulliRBM  # noqa: E402


def main():
    (Xtr, _), _, (Xte, _) = load_mnist()
    X, X_test = binarize(Xtr, 0), binarize(Xte, 1)
    print(
        "| momentum | exact log Z | AIS log Z | AIS - exact | ESS | log w spread |"
        " test log-lik (exact) | exact s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for momentum in (0.9, 0.5):
        rbm = BernoulliRBM(
            n_components=20,
            learning_rate=0.01,
            batch_size=100,
            n_iter=5,
            momentum=momentum,
            visible_bias_init="data",
            random_state=0,
        ).fit(X)
        t = time.perf_counter()
        exact = rbm.log_partition(method="exact")
        exact_s = time.perf_counter() - t
        ais = rbm.log_partition(
            method="ais", n_betas=3000, n_runs=100, random_state=0, return_details=True
        )
        spread = float(np.ptp(ais["log_w"]))
        ll = rbm.log_likelihood(X_test, method="exact").mean()
        print(
            f"| {momentum} | {exact:.3f} | {ais['log_z']:.3f} | "
            f"{ais['log_z'] - exact:+.3f} | {ais['ess']:.1f} | {spread:.1f} | "
            f"{ll:.2f} | {exact_s:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
