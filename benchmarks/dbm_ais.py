"""Re-estimate the test bound of a DBM saved by ``bench_dbm.py --save``.

When the AIS of a run had a low effective sample size (its log Z is then
underestimated and the bound overstated), rerun it with more betas:

    OPENBLAS_NUM_THREADS=1 python benchmarks/dbm_ais.py /tmp/runs/dbm_e100.pkl \
        --betas 50000 --runs 100
"""

import argparse
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(__file__))
from bench_dbm import averaged_model, evaluate, load_average, load_mnist  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--betas", type=int, default=50000)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument(
        "--average",
        nargs="+",
        default=None,
        metavar="SUMS",
        help="score the mean of the iterates summed in SUMS (bench_dbm.py "
        "--average-from), or, with a second, earlier SUMS, of those between",
    )
    p.add_argument("--save-average", default=None, help="pickle that model here")
    args = p.parse_args()
    if args.average and len(args.average) > 2:
        p.error("--average takes one SUMS file, or a later and an earlier one")
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    if args.average:
        sums, count = load_average(args.average[0])
        minus = load_average(args.average[1]) if len(args.average) > 1 else None
        model = averaged_model(model, sums, count, minus)
        print(f"mean of {count - (minus[1] if minus else 0)} iterates", flush=True)
        if args.save_average:
            with open(args.save_average, "wb") as f:
                pickle.dump(model, f)
    X, _, Xt, _ = load_mnist(0)
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
