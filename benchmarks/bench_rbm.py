"""BernoulliRBM speed: skebm vs scikit-learn vs the bare BLAS products.

Every skebm and scikit-learn call runs as users run it: no
``threadpool_limits``, no environment variable. Only the bare-product
baselines are timed under one and under two BLAS threads, and the faster is
the baseline.

Sections
--------
fit     one PCD-1 epoch, identical settings, on digits and a synthetic
        10 000 x 784 binary matrix (density 0.13), n_components 256/500/1000,
        batch_size 10/100/200, float64/float32. Ratios: scikit-learn / skebm,
        and skebm / the bare matrix products PCD-1 needs for the same shapes
        (v W^T, h W, v' W^T and the fused gradient [h+; -h-]^T [v+; v-]).
epoch   the marginal epoch of a multi-epoch fit at batch >= 100 against the
        bare products, excluding one-off set-up.
pl      exact pseudo-likelihood (``score_samples``) vs the same number of bare
        stable softplus evaluations max(x, 0) + log1p(exp(-|x|)) in place.
sparse  one epoch on a 200 000 x 50 000 CSR matrix at 0.1 % density
        (n_components=256) in a child process; reports time and peak RSS.

Usage: python benchmarks/bench_rbm.py [--quick] [--sections fit,epoch,pl,sparse]
"""

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SkRBM
from threadpoolctl import threadpool_info

sys.path.insert(0, os.path.dirname(__file__))
from _common import (  # noqa: E402
    alternate,
    special_blas_threads,
    synthetic_binary,
    table,
)

from skebm import BernoulliRBM  # noqa: E402


def softplus_(x, tmp):
    """The stable softplus in place, as plain numpy (the baseline)."""
    np.abs(x, out=tmp)
    np.negative(tmp, out=tmp)
    np.exp(tmp, out=tmp)
    np.log1p(tmp, out=tmp)
    np.maximum(x, 0, out=x)
    x += tmp


def bare_products_epoch(X, H, B, dtype):
    """The matrix products of one PCD-1 epoch, nothing else."""
    n, D = X.shape
    W = np.random.default_rng(0).normal(0, 0.01, (H, D)).astype(dtype)
    n_batches = int(np.ceil(n / B))
    h = np.empty((B, H), dtype)
    vneg = np.empty((B, D), dtype)
    Hs = np.ones((2 * B, H), dtype)
    Vs = np.ones((2 * B, D), dtype)
    G = np.empty((H, D), dtype)
    Xd = X.astype(dtype)

    def run():
        for i in range(n_batches):
            v = Xd[i * B : (i + 1) * B]
            np.matmul(v, W.T, out=h[: len(v)])
            np.matmul(h, W, out=vneg)
            np.matmul(vneg, W.T, out=h)
            np.matmul(Hs.T, Vs, out=G)

    return run


def fastest_bare(X, H, B, dtype, repeats):
    """Median seconds of the bare products, the faster of one and two threads."""
    best = None
    for threads in (1, 2):
        with special_blas_threads(threads):
            t = alternate({"bare": bare_products_epoch(X, H, B, dtype)}, repeats)
        if best is None or t["bare"] < best[0]:
            best = (t["bare"], threads)
    return best


def fit_section(args):
    """One PCD-1 epoch as users call it: no thread settings around either fit."""
    digits = load_digits().data / 16.0
    synth = synthetic_binary(10000, 784, 0.13)
    datasets = {"digits": digits, "synthetic": synth}
    if args.quick:
        datasets = {"synthetic": synth[:2000]}
    rows = []
    for dname, X0 in datasets.items():
        for H in args.hidden:
            for B in args.batches:
                for dtype in (np.float64, np.float32):
                    X = X0.astype(dtype)
                    kw = dict(n_components=H, batch_size=B, n_iter=1, random_state=0)
                    t = alternate(
                        {
                            "sklearn": lambda kw=kw, X=X: SkRBM(**kw).fit(X),
                            "skebm": lambda kw=kw, X=X: BernoulliRBM(**kw).fit(X),
                        },
                        args.repeats,
                    )
                    bare, bare_threads = fastest_bare(X, H, B, dtype, args.repeats)
                    rows.append(
                        [
                            dname,
                            H,
                            B,
                            np.dtype(dtype).name,
                            f"{t['sklearn']:.3f}",
                            f"{t['skebm']:.3f}",
                            f"{bare:.3f} ({bare_threads})",
                            f"{t['sklearn'] / t['skebm']:.2f}x",
                            f"{t['skebm'] / bare:.2f}",
                        ]
                    )
                    print(rows[-1], flush=True)
    print()
    table(
        rows,
        [
            "data",
            "H",
            "batch",
            "dtype",
            "sklearn s",
            "skebm s",
            "bare BLAS s (threads)",
            "sklearn/skebm",
            "skebm/bare",
        ],
    )
    print(
        "\nBoth estimators called as users call them (default threads); the bare "
        "products are the faster of one and two BLAS threads."
    )


def epoch_section(args):
    """Steady-state epoch time at batch >= 100 against the fastest bare products.

    ``fit`` with n_iter=1 also pays one-off set-up (validation of the whole
    matrix, the weight initialisation): the marginal epoch is measured as
    (fit with n_iter=1 + E) - (fit with n_iter=1), divided by E. The fits run
    as users run them; the bare products at one and at two threads (labelled
    special settings). Every round runs all four (fit 1, fit 1 + E, bare at
    one thread, bare at two) one after the other, so a burst of load from
    elsewhere on the machine hits one round, not one contender; the ratio is
    taken within each round (against the faster bare setting of that round)
    and the median over rounds is reported.
    """
    X0 = synthetic_binary(2000 if args.quick else 10000, 784, 0.13)
    E = 1 if args.quick else 3
    rows = []
    for H in args.hidden:
        for B in (b for b in args.batches if b >= 100):
            for dtype in (np.float64, np.float32):
                X = X0.astype(dtype)
                kw = dict(n_components=H, batch_size=B, random_state=0)
                bare = bare_products_epoch(X, H, B, dtype)

                def bare_at(threads, bare=bare):
                    with special_blas_threads(threads):
                        bare()

                _, rounds = alternate(
                    {
                        "fit1": lambda kw=kw, X=X: BernoulliRBM(n_iter=1, **kw).fit(X),
                        "fitE": lambda kw=kw, X=X: BernoulliRBM(n_iter=1 + E, **kw).fit(
                            X
                        ),
                        "bare1": lambda: bare_at(1),
                        "bare2": lambda: bare_at(2),
                    },
                    args.repeats + 2,
                    return_rounds=True,
                )
                epochs = (np.array(rounds["fitE"]) - rounds["fit1"]) / E
                fastest = np.minimum(rounds["bare1"], rounds["bare2"])
                threads = (
                    1 if np.median(rounds["bare1"]) < np.median(rounds["bare2"]) else 2
                )
                rows.append(
                    [
                        H,
                        B,
                        np.dtype(dtype).name,
                        f"{np.median(epochs):.3f}",
                        f"{np.median(rounds['bare1']):.3f}",
                        f"{np.median(rounds['bare2']):.3f}",
                        f"{np.median(epochs / fastest):.2f} ({threads})",
                    ]
                )
                print(rows[-1], flush=True)
    table(
        rows,
        [
            "H",
            "batch",
            "dtype",
            "marginal epoch s",
            "bare 1 thread s",
            "bare 2 threads s",
            "epoch/fastest bare (its threads)",
        ],
    )


def pl_section(args):
    n = 200 if args.quick else 1000
    X = synthetic_binary(n, 784, 0.13, dtype=np.float32)
    rbm = BernoulliRBM(n_components=500, n_iter=0, random_state=0).fit(X)
    rbm.components_ = (
        np.random.default_rng(0).normal(0, 0.1, (500, 784)).astype(np.float32)
    )
    elems = n * 784 * 500
    chunk = 2**22
    buf = np.random.default_rng(1).normal(size=chunk).astype(np.float32)
    work = np.empty_like(buf)
    tmp = np.empty_like(buf)

    def bare():
        for _ in range(elems // chunk):
            work[...] = buf
            softplus_(work, tmp)

    rows = []
    t = alternate(
        {"exact PL": lambda: rbm.score_samples(X), "bare softplus": bare},
        args.repeats,
    )
    rows.append(
        [
            "default",
            n,
            f"{elems:.2e}",
            f"{t['exact PL']:.2f}",
            f"{t['bare softplus']:.2f}",
            f"{t['exact PL'] / t['bare softplus']:.2f}",
            f"{t['exact PL'] * 1e9 / elems:.2f}",
        ]
    )
    table(
        rows,
        [
            "threads",
            "rows",
            "n*D*H",
            "exact PL s",
            "bare softplus s",
            "ratio",
            "ns / element",
        ],
    )
    print(
        f"projected for 10 000 x 784 x 500 (float32): "
        f"{float(rows[0][3]) * 10000 / n:.1f} s"
    )


SPARSE_CHILD = r"""
import resource, sys, time
import numpy as np, scipy.sparse as sp
from skebm import BernoulliRBM
n, d, dens, B, m = 200_000, 50_000, 0.001, int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
nnz = int(n * d * dens)
rows = np.sort(rng.integers(0, n, nnz)); cols = rng.integers(0, d, nnz)
X = sp.csr_matrix((np.ones(nnz, np.float32), (rows, cols)), shape=(n, d))
X.sum_duplicates(); X.data[:] = 1.0
t = time.perf_counter()
rbm = BernoulliRBM(
    n_components=256, batch_size=B, n_chains=m, n_iter=1, random_state=0
).fit(X)
fit_s = time.perf_counter() - t
t = time.perf_counter(); H = rbm.transform(X[:20000]); tr_s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
nbytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
print(f"{X.nnz} {nbytes} {fit_s:.1f} {tr_s:.2f} {peak:.2f}")
"""


def sparse_section(args):
    rows = []
    for B, m in args.sparse_batches:
        out = subprocess.run(
            [sys.executable, "-c", SPARSE_CHILD, str(B), str(m)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        nnz, nbytes, fit_s, tr_s, peak = out
        rows.append(
            [
                "200000 x 50000",
                nnz,
                f"{int(nbytes) / 2**20:.0f} MB",
                B,
                m,
                fit_s,
                tr_s,
                f"{float(peak):.2f} GB",
            ]
        )
        print(rows[-1], flush=True)
    table(
        rows,
        [
            "CSR shape",
            "nnz",
            "CSR size",
            "batch",
            "chains",
            "1 epoch s",
            "transform 20k rows s",
            "peak RSS",
        ],
    )
    print("(its dense float32 form would take 37 GB; float64 75 GB)")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sections", default="fit,pl,sparse")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 500, 1000])
    p.add_argument("--batches", type=int, nargs="+", default=[10, 100, 200])
    p.add_argument(
        "--sparse-batches",
        default="1000:100,100:100",
        help="batch_size:n_chains pairs for the sparse section",
    )
    args = p.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.sparse_batches = [
        tuple(int(x) for x in pair.split(":"))
        for pair in args.sparse_batches.split(",")
    ]
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    print(
        f"numpy {np.__version__}; BLAS {blas[0]['internal_api']} "
        f"{blas[0]['version']} ({blas[0]['architecture']}), "
        f"{blas[0]['num_threads']} threads; {os.cpu_count()} cores"
    )
    for section in args.sections.split(","):
        print(f"\n## {section}\n", flush=True)
        t = time.time()
        sections = {
            "fit": fit_section,
            "epoch": epoch_section,
            "pl": pl_section,
            "sparse": sparse_section,
        }
        sections[section](args)
        print(f"({section}: {time.time() - t:.0f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS of this process {peak:.2f} GB")


if __name__ == "__main__":
    main()
