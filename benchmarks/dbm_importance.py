"""Importance-weighted test log-likelihood of a DBM saved by ``bench_dbm.py --save``.

``DBM.importance_log_likelihood`` draws the odd hidden layers from the
mean-field posterior and sums the even ones out exactly; the mean over the
test images, with the log Z given (e.g. from ``dbm_ais.py``), is printed beside
the mean-field bound of ``score_samples`` for the same log Z. Their
difference is how much the factorial posterior costs the bound.

    OPENBLAS_NUM_THREADS=1 python benchmarks/dbm_importance.py \
        /tmp/runs/s10_C.pkl --log-z 1196.32 --samples 10,100,1000
"""

import argparse
import os
import pickle
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_dbm import load_mnist  # noqa: E402

from skebm._dbm import dbm_importance_log_f, dbm_variational_bound  # noqa: E402


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
    _, _, Xt, _ = load_mnist(0)
    Xt = Xt[: args.n_test]
    # the plain functions, so that one given log Z serves both figures
    t = time.perf_counter()
    bv, a1, mus = model._mean_field(model._validate_eval_X(Xt))
    mf = dbm_variational_bound(bv, a1, mus, model.coefs_, model.intercepts_)
    print(
        f"{Xt.shape[0]} test images, log Z {args.log_z:.2f}: mean-field bound "
        f"{mf.mean() - args.log_z:.2f} ({time.perf_counter() - t:.0f} s)",
        flush=True,
    )
    for k in [int(s) for s in args.samples.split(",")]:
        t = time.perf_counter()
        rng = np.random.default_rng(args.seed)
        est = dbm_importance_log_f(bv, a1, mus, model.coefs_, model.intercepts_, k, rng)
        print(
            f"n_samples {k}: importance-weighted {est.mean() - args.log_z:.2f} "
            f"(+{(est - mf).mean():.2f} over the bound; "
            f"{time.perf_counter() - t:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
