"""Exact test log-likelihood of 16-hidden-unit RBMs on binarized digits.

Digits binarized at 8/16, stratified 75/25 split (random_state=0). Every RBM
has 16 hidden units, so log Z is enumerated exactly (2**16 hidden states) and
the table's log-likelihoods carry no estimation error. Rows: skebm's CD-1,
CD-10, PCD-1, PCD-1 with centering, parallel tempering, scikit-learn's
BernoulliRBM (PCD-1), all with the same epochs, batch size and learning rate,
and a reference trained by full-batch gradient ascent on the *exact*
log-likelihood gradient (written here, by enumeration), which shows how close
each stochastic method gets to what maximum likelihood reaches.

Usage: python benchmarks/bench_digits_likelihood.py [--epochs 100] [--quick]
"""

import argparse
import time

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SkRBM

from skebm import BernoulliRBM


def softplus(x):
    return np.logaddexp(0.0, x)


def binary_states(H):
    """All 2**H binary vectors of length H, shape (2**H, H)."""
    return ((np.arange(2**H)[:, None] >> np.arange(H)) & 1).astype(np.float64)


def exact_log_z(W, b, c):
    """Exact log Z of an RBM given as bare arrays, by summing over all h.

    Used for the rows that are not skebm models (scikit-learn's RBM and the
    exact-gradient reference); skebm models use ``log_partition``.
    """
    Hs = binary_states(W.shape[0])
    return float(logsumexp(Hs @ c + softplus(Hs @ W + b).sum(axis=1)))


def exact_gradient(X, W, b, c, Hs):
    """Exact mean log-likelihood gradient; model terms by summing over all h."""
    logits = Hs @ W + b  # (2**H, D)
    log_ph = Hs @ c + softplus(logits).sum(axis=1)  # log sum_v exp(-E(v, h))
    p_h = np.exp(log_ph - logsumexp(log_ph))  # p(h)
    ev = expit(logits)  # E[v | h]
    model_hv = (Hs * p_h[:, None]).T @ ev
    ph_data = expit(X @ W.T + c)
    gW = ph_data.T @ X / len(X) - model_hv
    gb = X.mean(0) - p_h @ ev
    gc = ph_data.mean(0) - p_h @ Hs
    return gW, gb, gc


def train_exact(X, H, steps, lr, seed=0):
    """Full-batch gradient ascent with momentum on the exact log-likelihood."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    W = rng.normal(0, 0.01, (H, D))
    p = (X.mean(0) + 1 / len(X)) / (1 + 2 / len(X))
    b, c = np.log(p / (1 - p)), np.zeros(H)
    Hs = binary_states(H)
    vel = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)]
    for _ in range(steps):
        for v, g, prm in zip(
            vel, exact_gradient(X, W, b, c, Hs), (W, b, c), strict=False
        ):
            v *= 0.9
            v += lr * g
            prm += v
    return W, b, c


def test_ll(W, b, c, X):
    log_z = exact_log_z(W, b, c)
    a = X @ W.T + c
    return float(np.mean(X @ b + softplus(a).sum(axis=1)) - log_z)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--exact-steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.exact_steps, args.seeds = 10, 200, 1

    X, y = load_digits(return_X_y=True)
    X = (X >= 8).astype(np.float64)
    X_train, X_test = train_test_split(X, test_size=0.25, stratify=y, random_state=0)
    H = 16
    common = dict(
        n_components=H,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        n_iter=args.epochs,
    )
    methods = {
        "skebm CD-1": dict(method="cd"),
        "skebm CD-10": dict(method="cd", n_gibbs_steps=10),
        "skebm PCD-1": dict(method="pcd"),
        "skebm PCD-1 + centering": dict(method="pcd", centering=True),
        "skebm PT (10 temperatures)": dict(method="pt"),
        "skebm FPCD-1": dict(method="fpcd"),
        "skebm FPCD-1 + centering": dict(method="fpcd", centering=True),
    }
    rows = []
    for name, extra in list(methods.items()) + [("sklearn BernoulliRBM", None)]:
        lls, secs = [], []
        for seed in range(args.seeds):
            t = time.perf_counter()
            if extra is None:
                m = SkRBM(**common, random_state=seed).fit(X_train)
            else:
                m = BernoulliRBM(**common, **extra, random_state=seed).fit(X_train)
            secs.append(time.perf_counter() - t)
            if extra is None:
                ll = test_ll(
                    m.components_, m.intercept_visible_, m.intercept_hidden_, X_test
                )
            else:  # log p(x) = -F(x) - log Z, both from skebm's public API
                log_z = m.log_partition(method="exact")
                ll = float(-np.mean(m.free_energy(X_test)) - log_z)
            lls.append(ll)
        rows.append((name, np.mean(lls), np.std(lls), np.mean(secs)))
        print(
            f"{name:28s} {np.mean(lls):8.3f} +- {np.std(lls):.3f} {np.mean(secs):.1f}s",
            flush=True,
        )
    t = time.perf_counter()
    W, b, c = train_exact(X_train, H, args.exact_steps, lr=0.05)
    ref = test_ll(W, b, c, X_test)
    ref_train = test_ll(W, b, c, X_train)
    rows.append(("exact-gradient reference", ref, 0.0, time.perf_counter() - t))
    print(f"exact reference: test {ref:.3f}, train {ref_train:.3f}")

    print(
        f"\n{args.epochs} epochs, batch {args.batch_size}, learning rate {args.lr}, "
        f"{H} hidden units, mean over {args.seeds} seeds; exact log Z\n"
    )
    print(
        "| method | exact test log-likelihood (nats) | gap to exact-gradient | fit s |"
    )
    print("|---|---|---|---|")
    for name, ll, sd, s in rows:
        print(f"| {name} | {ll:.2f} ± {sd:.2f} | {ll - ref:+.2f} | {s:.1f} |")


if __name__ == "__main__":
    main()
