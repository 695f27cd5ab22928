"""Re-estimate the test bound of a DBM saved by ``bench_dbm.py --save``.

When the AIS of a run had a low effective sample size (its log Z is then
underestimated and the bound overstated), rerun it with more betas (a model
trained with ``average_from_epoch`` is scored as its average, the fitted
parameters):

    python benchmarks/dbm_ais.py PATH --betas 50000 --runs 100
"""

import argparse
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench_dbm import evaluate  # noqa: E402
from mnist_data import train_test  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--betas", type=int, default=50000)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    X, Xt = train_test()
    info, test, train, eval_s = evaluate(
        model, Xt, X[:10000], args.betas, args.runs, args.seed
    )
    print(
        f"AIS {args.betas} betas x {args.runs} runs: log Z {info['log_z']:.2f} in "
        f"[{info['log_z_low']:.2f}, {info['log_z_high']:.2f}], ESS {info['ess']:.1f}, "
        f"{eval_s:.0f} s; test bound {test:.2f}, train bound {train:.2f}"
    )


if __name__ == "__main__":
    main()
