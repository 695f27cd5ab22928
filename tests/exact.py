"""Brute-force references for tiny models: enumerate every state.

Written directly from the energy of MATH.md, sharing no code with skebm.
"""

import itertools

import numpy as np
from scipy.special import logsumexp


def all_states(n):
    """Every vector of {0,1}^n, shape (2**n, n), in lexicographic order."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def rbm_energy(v, h, W, b, c):
    """E(v, h) = -h W v - b v - c h for every pair of rows: shape (len(v), len(h))."""
    return -(v @ W.T @ h.T) - (v @ b)[:, None] - (h @ c)[None, :]


def rbm_joint_log_unnorm(W, b, c):
    """-E over the full grid of (v, h) states, shape (2**D, 2**H)."""
    H, D = W.shape
    return -rbm_energy(all_states(D), all_states(H), W, b, c)


def rbm_log_z(W, b, c):
    return float(logsumexp(rbm_joint_log_unnorm(W, b, c)))


def rbm_log_pv(W, b, c):
    """log p(v) for every visible state (lexicographic order)."""
    J = rbm_joint_log_unnorm(W, b, c)
    return logsumexp(J, axis=1) - logsumexp(J)


def state_index(V):
    """Row index of each binary row of V in :func:`all_states` order."""
    V = np.asarray(V).astype(int)
    D = V.shape[1]
    return V @ (1 << np.arange(D - 1, -1, -1))


def chi_square_pvalue(counts, probs, min_expected=5.0):
    """Pearson goodness-of-fit p-value; cells with small expectation are pooled."""
    from scipy.stats import chi2

    counts = np.asarray(counts, dtype=float)
    n = counts.sum()
    expected = probs * n
    small = expected < min_expected
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    stat = np.sum((obs - exp) ** 2 / exp)
    return float(chi2.sf(stat, df=len(obs) - 1))


def rbm_exact_gradient(X, W, b, c, weights=None):
    """Exact gradient of the (weighted) mean log-likelihood of the rows of X.

    Enumerates both layers; ``weights`` (summing to 1) default to uniform.
    """
    from scipy.special import expit

    H, D = W.shape
    V, Hs = all_states(D), all_states(H)
    J = rbm_joint_log_unnorm(W, b, c)
    P = np.exp(J - logsumexp(J))
    w = np.full(len(X), 1.0 / len(X)) if weights is None else weights
    ph = expit(X @ W.T + c)
    gW = (ph * w[:, None]).T @ X - Hs.T @ P.T @ V
    gb = w @ X - P.sum(1) @ V
    gc = w @ ph - P.sum(0) @ Hs
    return gW, gb, gc


def rbm_train_exact(X, H, *, lr=0.1, n_steps=2000, seed=0, weights=None):
    """Full-batch gradient ascent on the exact log-likelihood: the reference."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    W = rng.normal(0, 0.01, (H, D))
    b, c = np.zeros(D), np.zeros(H)
    for _ in range(n_steps):
        gW, gb, gc = rbm_exact_gradient(X, W, b, c, weights)
        W += lr * gW
        b += lr * gb
        c += lr * gc
    return W, b, c
