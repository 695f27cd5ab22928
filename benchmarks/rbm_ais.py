"""Re-estimate the MNIST test log-likelihood of an RBM saved by
``bench_mnist_likelihood.py --save``, with more AIS betas and, with
``--reverse``, reverse AIS (which errs the other way: its log Z tends to be
too high, so the two bracket the truth):

    python benchmarks/rbm_ais.py /tmp/runs/D.pkl \
        --betas 50000 --runs 100 --reverse
"""

import argparse
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_mnist_likelihood import evaluate  # noqa: E402
from mnist_data import train_test  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--betas", type=int, default=50000)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--reverse", action="store_true")
    p.add_argument("--n-jobs", type=int, default=1)
    args = p.parse_args()
    with open(args.model, "rb") as f:
        rbm = pickle.load(f)
    # the data and binarization seeds of bench_mnist_likelihood.py
    X_train, X_test = train_test(rbm.components_.dtype)
    ns = argparse.Namespace(
        ais_betas=args.betas,
        ais_runs=args.runs,
        n_jobs=args.n_jobs,
        reverse=args.reverse,
    )
    t = time.perf_counter()
    r = evaluate(rbm, X_test, ns, args.seed, X_train=X_train[:10000])
    line = (
        f"AIS {args.betas} betas x {args.runs} runs (seed {args.seed}): test "
        f"{r['test_ll']:.2f} [{r['test_ll_low']:.2f}, {r['test_ll_high']:.2f}], "
        f"train (10k) {r['train_ll']:.2f}, log Z {r['log_z']:.2f}, ESS {r['ess']:.0f}"
    )
    if args.reverse:
        line += f"; reverse AIS: test {r['test_ll_reverse']:.2f}"
    print(line + f" ({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
