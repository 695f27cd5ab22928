"""Importance-weighted test log-likelihood of a DBM saved by ``bench_dbm.py --save``.

``DBM.importance_log_likelihood`` draws the odd hidden layers from the
mean-field posterior and sums the even ones out exactly; the mean over the
test images, with the log Z given (e.g. from ``dbm_ais.py``), is printed beside
the mean-field bound (``DBM.variational_bound``) for the same log Z. Their
difference is how much the factorial posterior costs the bound.

    python benchmarks/dbm_importance.py PATH --log-z 1196.32 --samples 10,100,1000
"""

import argparse
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from mnist_data import train_test  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--log-z", type=float, required=True, help="e.g. from dbm_ais.py")
    p.add_argument("--samples", default="100", help="comma-separated n_samples")
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    Xt = train_test()[1][: args.n_test]
    t = time.perf_counter()
    mf = model.variational_bound(Xt, log_z=args.log_z)
    print(
        f"{Xt.shape[0]} test images, log Z {args.log_z:.2f}: mean-field bound "
        f"{mf.mean():.2f} ({time.perf_counter() - t:.0f} s)",
        flush=True,
    )
    for k in [int(s) for s in args.samples.split(",")]:
        t = time.perf_counter()
        est = model.importance_log_likelihood(
            Xt, n_samples=k, random_state=args.seed, log_z=args.log_z
        )
        print(
            f"n_samples {k}: importance-weighted {est.mean():.2f} "
            f"(+{(est - mf).mean():.2f} over the bound; "
            f"{time.perf_counter() - t:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
