"""GaussianBernoulliRBM on real-valued digits: density, features and speed.

Data (issue #26): the digits scikit-learn ships, dequantized (x + u with
u ~ U[0, 1), seed 0) and divided by 17, a stratified 75/25 split
(random_state=0), standardized with the training statistics. Scores are mean
held-out log-densities in nats per image in that standardized space, for
every model alike.

- density: GaussianMixture over a grid (covariance type x n_components x
  reg_covar; the best of each type), probabilistic PCA (``PCA(k).score``,
  best k), and Gaussian RBMs: exact log Z for H <= 20, forward AIS with its
  interval and reverse AIS above, with the training time;
- features: ``Pipeline([StandardScaler(), GaussianBernoulliRBM(),
  LogisticRegression()])`` against logistic regression on the scaled inputs,
  on these digits and on scikit-learn's breast-cancer set (5-fold CV);
- stability: 20 seeds x learning rates {1e-3, 1e-2} with learned variances,
  the fraction of fits that diverge;
- speed: one PCD-1 epoch against the bare products of the same shapes (the
  faster of one and two BLAS threads, measured in the same run), as a user
  calls ``fit``.

Every contender is called through the public API as a user would; only the
bare-product rows set a thread count, and they say so.

Usage::

    python benchmarks/bench_gaussian_digits.py [density] [features] [stability]
        [speed] [--quick] [--long]

``--long`` adds the 30 000-epoch Gaussian RBM of RESULTS.md (about 20 min).
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skebm import GaussianBernoulliRBM

QUICK = "--quick" in sys.argv


def real_digits():
    d = load_digits()
    X = (d.data + np.random.default_rng(0).random(d.data.shape)) / 17
    Xtr, Xte, ytr, yte = train_test_split(
        X, d.target, test_size=0.25, stratify=d.target, random_state=0
    )
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def ais_scores(model, X, n_betas, n_runs, random_state=0):
    """Mean held-out log-density of ``X`` by forward AIS, its interval's
    ends, and by reverse AIS (chains started at ``X``)."""
    d = model.log_likelihood(
        X,
        method="ais",
        n_betas=n_betas,
        n_runs=n_runs,
        reverse_ais=True,
        return_details=True,
        random_state=random_state,
    )
    return tuple(
        float(d[k].mean())
        for k in (
            "log_likelihood",
            "log_likelihood_low",
            "log_likelihood_high",
            "log_likelihood_reverse",
        )
    )


def density():
    Xtr, Xte, _, _ = real_digits()
    print(f"train {Xtr.shape}, test {Xte.shape}; mean held-out log-density, nats")
    ks = [1, 5, 20] if QUICK else [1, 2, 5, 10, 20, 40, 60, 80]
    regs = [1e-2] if QUICK else [1e-6, 1e-3, 1e-2, 1e-1]
    print("\n| peer | best setting | held-out | fit s |\n|---|---|---|---|")
    for ct in ["full", "diag", "tied", "spherical"]:
        best = None
        for k in ks:
            for reg in regs:
                t = time.perf_counter()
                gm = GaussianMixture(
                    k, covariance_type=ct, reg_covar=reg, random_state=0
                ).fit(Xtr)
                s = gm.score(Xte)
                if best is None or s > best[0]:
                    best = (s, k, reg, time.perf_counter() - t)
        print(
            f"| GaussianMixture {ct} | k={best[1]}, reg_covar={best[2]:g} "
            f"| {best[0]:.2f} | {best[3]:.1f} |",
            flush=True,
        )
    best = max((PCA(k).fit(Xtr).score(Xte), k) for k in range(5, 64, 5 if QUICK else 1))
    print(f"| PPCA | k={best[1]} | {best[0]:.2f} | - |", flush=True)

    # (H, method, lr, epochs[, tuned]): "tuned" adds CD-10, momentum 0.9, a
    # linear decay of the rate and iterate averaging (session 35's best)
    runs = [(20, "cd", 0.01, 100)] if not QUICK else [(16, "cd", 0.01, 10)]
    if not QUICK:
        runs += [(20, "pcd", 0.01, 100), (100, "cd", 0.01, 100), (256, "cd", 0.01, 50)]
        runs += [(20, "cd", 0.003, 1000, True), (100, "cd", 0.001, 10000, True)]
        if "--long" in sys.argv:
            runs += [(100, "cd", 0.001, 30000, True)]
    print(
        "\n| GaussianBernoulliRBM | fit s | log Z | held-out (forward) "
        "| interval | reverse AIS |\n|---|---|---|---|---|---|"
    )
    for H, method, lr, n_iter, *tuned in runs:
        tuned = (
            dict(
                n_gibbs_steps=10,
                momentum=0.9,
                learning_rate_schedule="linear",
                average=True,
            )
            if tuned
            else {}
        )
        t = time.perf_counter()
        rbm = GaussianBernoulliRBM(
            H,
            method=method,
            learning_rate=lr,
            n_iter=n_iter,
            batch_size=20,
            random_state=0,
            **tuned,
        ).fit(Xtr)
        fit_s = time.perf_counter() - t
        k = tuned.get("n_gibbs_steps", 1)
        extra = ", momentum 0.9, linear decay, averaged" if tuned else ""
        name = f"H={H} {method.upper()}-{k} lr={lr}{extra}, {n_iter} epochs"
        if H <= 20:
            ll = rbm.log_likelihood(Xte, method="exact").mean()
            print(f"| {name} | {fit_s:.1f} | exact | {ll:.2f} | - | - |", flush=True)
            continue
        n_betas = 2000 if QUICK else 14500
        fwd, low, high, rev = ais_scores(rbm, Xte, n_betas, 100)
        print(
            f"| {name} | {fit_s:.1f} | AIS {n_betas} x 100 "
            f"| {fwd:.2f} | [{low:.2f}, {high:.2f}] | {rev:.2f} |",
            flush=True,
        )


def features():
    Xtr, Xte, ytr, yte = real_digits()
    print("\n| data | model | accuracy |\n|---|---|---|")
    lr_raw = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
    print(
        f"| digits (real) | LogisticRegression on scaled inputs | "
        f"{lr_raw.score(Xte, yte):.3f} |"
    )
    for H in [64] if QUICK else [64, 256]:
        pipe = make_pipeline(
            StandardScaler(),
            GaussianBernoulliRBM(H, n_iter=20, random_state=0),
            LogisticRegression(max_iter=2000),
        ).fit(Xtr, ytr)
        print(
            f"| digits (real) | scaler + GaussianBernoulliRBM({H}) + LR "
            f"| {pipe.score(Xte, yte):.3f} |",
            flush=True,
        )
    X, y = load_breast_cancer(return_X_y=True)
    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    s = cross_val_score(base, X, y, cv=5)
    print(f"| breast_cancer (5-fold) | scaler + LR | {s.mean():.3f} ± {s.std():.3f} |")
    for H in [16] if QUICK else [16, 64]:
        pipe = make_pipeline(
            StandardScaler(),
            GaussianBernoulliRBM(H, n_iter=50, random_state=0),
            LogisticRegression(max_iter=2000),
        )
        s = cross_val_score(pipe, X, y, cv=5)
        print(
            f"| breast_cancer (5-fold) | scaler + GaussianBernoulliRBM({H}) + LR "
            f"| {s.mean():.3f} ± {s.std():.3f} |",
            flush=True,
        )


def stability():
    """20 seeds x learning rates {1e-3, 1e-2}, learned variances: the share of
    fits that end with a non-finite parameter, a variance outside [floor,
    ceiling] or a non-finite exact held-out log-likelihood."""
    Xtr, Xte, _, _ = real_digits()
    print("\n| training set | learning rate | fits | diverged | mean held-out |")
    print("|---|---|---|---|---|")
    small = StandardScaler().fit_transform(load_digits().data)[:200]
    for name, data, test in [
        ("dequantized digits, 1347 rows", Xtr, Xte),
        ("raw digits standardized, first 200 rows", small, small),
    ]:
        for lr in [1e-3, 1e-2]:
            bad, scores = 0, []
            for seed in range(5 if QUICK else 20):
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    try:
                        rbm = GaussianBernoulliRBM(
                            16, learning_rate=lr, n_iter=20, random_state=seed
                        ).fit(data)
                        s = rbm.log_likelihood(test, method="exact").mean()
                        v = rbm.variances_
                        ok = (
                            np.isfinite(s)
                            and np.all(v >= rbm.variance_floor_ * (1 - 1e-9))
                            and np.all(v <= rbm.variance_ceiling_ * (1 + 1e-9))
                        )
                    except (RuntimeWarning, FloatingPointError, ValueError):
                        ok = False
                bad += not ok
                if ok:
                    scores.append(s)
            n = 5 if QUICK else 20
            print(
                f"| {name} | {lr:g} | {n} | {bad}/{n} | {np.mean(scores):.2f} |",
                flush=True,
            )


def _bare_products(X, H, batch, rng):
    """The products of one PCD-1 epoch: per minibatch the positive and
    negative hidden activations, the visible mean, and the two gradient
    outer products."""
    W = rng.normal(0, 0.01, (H, X.shape[1]))
    h = rng.random((batch, H))

    def run():
        for s in range(0, X.shape[0], batch):
            v = X[s : s + batch]
            a = v @ W.T
            m = h @ W
            b = m @ W.T
            g = a.T @ v
            g -= b.T @ m

    return run


def speed():
    from _common import alternate, special_blas_threads

    Xtr, _, _, _ = real_digits()
    rng = np.random.default_rng(0)
    X = np.tile(Xtr, (8, 1))  # 10 776 rows
    print("\n| shape | skebm epoch s | bare 1 thread s | bare 2 threads s | ratio |")
    print("|---|---|---|---|---|")
    for H, batch in [(256, 100), (1000, 100)]:
        bare = _bare_products(X, H, batch, rng)
        rbm = GaussianBernoulliRBM(H, n_iter=1, batch_size=batch, random_state=0)

        def one_thread(bare=bare):
            with special_blas_threads(1):  # labelled: bare products, 1 thread
                bare()

        def two_threads(bare=bare):
            with special_blas_threads(2):  # labelled: bare products, 2 threads
                bare()

        med = alternate(
            {"skebm": lambda rbm=rbm: rbm.fit(X), "1": one_thread, "2": two_threads},
            3 if QUICK else 7,
        )
        fastest = min(med["1"], med["2"])
        print(
            f"| {X.shape[0]} x {X.shape[1]}, H={H}, batch {batch} | {med['skebm']:.3f} "
            f"| {med['1']:.3f} | {med['2']:.3f} | {med['skebm'] / fastest:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    warnings.simplefilter("ignore", category=UserWarning)
    parts = [a for a in sys.argv[1:] if not a.startswith("--")] or [
        "density",
        "features",
        "stability",
        "speed",
    ]
    for part in parts:
        run = {"density": density, "features": features, "stability": stability}
        run["speed"] = speed
        run[part]()
