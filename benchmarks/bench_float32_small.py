"""Cost of training small float32 RBMs in float64 (``skebm._rbm._FLOAT64_WORK``).

Fits ``BernoulliRBM`` on the digits (grey levels / 16, float32) for 3 epochs
with float64 working precision forced on (A) and off (B), alternating A and B,
and prints the medians and their ratio A / B for shapes below and above the
bound. Run with nothing else on the machine:

    python benchmarks/bench_float32_small.py [--repeats 7]
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

import skebm._rbm as rbm_module
from skebm import BernoulliRBM

SHAPES = [(5, 16), (10, 12), (20, 6), (1, 128), (10, 64), (100, 10)]


def fit_seconds(X, batch, hidden, float64_work):
    rbm_module._FLOAT64_WORK = 2**62 if float64_work else 0
    model = BernoulliRBM(
        n_components=hidden, batch_size=batch, n_iter=3, random_state=0
    )
    t = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    X = (load_digits().data / 16.0).astype(np.float32)
    bound = rbm_module._FLOAT64_WORK
    print(f"bound: {bound} multiply-adds per minibatch product")
    print(
        "| batch | hidden | multiply-adds | float64 work ms | float32 work ms | ratio |"
    )
    print("|---|---|---|---|---|---|")
    try:
        for batch, hidden in SHAPES:
            a, b = [], []
            for _ in range(args.repeats):
                a.append(fit_seconds(X, batch, hidden, True))
                b.append(fit_seconds(X, batch, hidden, False))
            ma, mb = np.median(a), np.median(b)
            print(
                f"| {batch} | {hidden} | {batch * X.shape[1] * hidden} | "
                f"{ma * 1e3:.1f} | {mb * 1e3:.1f} | {ma / mb:.2f} |"
            )
    finally:
        rbm_module._FLOAT64_WORK = bound


if __name__ == "__main__":
    main()
