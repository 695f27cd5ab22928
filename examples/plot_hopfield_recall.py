"""
==========================================================
Hopfield recall, and Gibbs vs Metropolis-Hastings sampling
==========================================================

The lecture's first two energy-based models share one energy,
E(x) = -1/2 x^T W x - b^T x over x in {-1, +1}^D:

* a :class:`~skebm.HopfieldNetwork` stores patterns in W and *minimises* E
  by flipping one unit at a time, x_i <- sign(a_i) with a = W x + b, so a
  corrupted pattern slides down to the stored one;
* a :class:`~skebm.BoltzmannMachine` is its stochastic version,
  p(x) = exp(-E(x)) / Z, sampled by Gibbs sampling (x_i = +1 with probability
  sigmoid(2 a_i)) or by Metropolis-Hastings (flip a unit, accept with
  probability min(1, p(x_hat) / p(x)); no Z needed).

Images are binarized 8 x 8 digits; pixel v in {0, 1} is the unit
x = 2 v - 1. Set ``SKEBM_EXAMPLE_QUICK=1`` for an even shorter run.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skebm import BoltzmannMachine, HopfieldNetwork  # noqa: E402

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
rng = np.random.default_rng(0)
digits, labels = load_digits(return_X_y=True)
X = (digits > 7).astype(float)  # binarize the 16 grey levels

# %%
# Store four digits in a Hopfield network
# ---------------------------------------
# Digit images are strongly correlated (they share a dark background), which
# defeats the Hebbian rule: its patterns interfere and are not even fixed
# points. The pseudo-inverse (projection) rule stores any linearly
# independent set.
chosen = [np.flatnonzero(labels == d)[0] for d in (0, 1, 4, 7)]
patterns = X[chosen]
hebbian = HopfieldNetwork("hebbian", random_state=0).fit(patterns)
network = HopfieldNetwork("pseudo_inverse", random_state=0).fit(patterns)
for name, net in [("hebbian", hebbian), ("pseudo_inverse", network)]:
    stable = np.all(net.predict(patterns) == patterns, axis=1)
    print(f"{name:>15}: stored patterns that are fixed points: {stable.sum()}/4")

# Corrupt each pattern: flip 15 % of its pixels.
probes = patterns.copy()
for row in probes:
    flip = rng.choice(64, 10, replace=False)
    row[flip] = 1 - row[flip]

# %%
# Recall step by step
# -------------------
# Asynchronous updates written out, one unit at a time in a random order, to
# take snapshots inside the first sweep; ``network.predict`` runs the same
# dynamics to the fixed point. Each update can only lower the energy (by
# 2 ``|a_i|`` when unit i flips).
W, b = network.coef_, network.intercept_
x = 2 * probes - 1
snapshots, energy = [probes.copy()], [network.energy(probes)]
for sweep in range(3):
    for t, i in enumerate(rng.permutation(64)):
        a = x @ W[i] + b[i]
        x[:, i] = np.where(a > 0, 1.0, np.where(a < 0, -1.0, x[:, i]))
        energy.append(network.energy(x))
        if sweep == 0 and t % 16 == 15:
            snapshots.append((x + 1) / 2)
snapshots.append((x + 1) / 2)
energy = np.array(energy)
recalled, info = network.recall(probes, return_info=True)
print("recalled exactly:", np.all(recalled == patterns, axis=1))
print("sweeps to a fixed point:", info["n_sweeps"], "converged:", info["converged"])
assert np.all(np.diff(energy, axis=0) <= 1e-9), "energy went up"

titles = ["probe"] + [f"{16 * k} updates" for k in range(1, 5)] + ["3 sweeps"]
fig, axes = plt.subplots(4, len(snapshots) + 1, figsize=(10, 6.5))
for r in range(4):
    for c, snap in enumerate(snapshots):
        axes[r, c].imshow(snap[r].reshape(8, 8), cmap="gray_r")
        axes[0, c].set_title(titles[c], fontsize=9)
    axes[r, -1].imshow(patterns[r].reshape(8, 8), cmap="gray_r")
axes[0, -1].set_title("stored", fontsize=9)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Hopfield recall (pseudo-inverse rule), asynchronous updates")
fig.savefig("hopfield_recall_steps.png", dpi=80)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(energy)
ax.set_xlabel("single-unit updates")
ax.set_ylabel("energy E(x)")
ax.set_title("The energy never increases during asynchronous recall")
fig.tight_layout()
fig.savefig("hopfield_recall_energy.png", dpi=80)

# %%
# A Boltzmann machine on the digits: Gibbs vs Metropolis-Hastings
# ----------------------------------------------------------------
# The fully visible model, trained by maximum pseudo-likelihood (convex,
# L-BFGS), captures pairwise pixel correlations only; its samples look like
# strokes rather than digits (the lecture's "generated samples").
bm = BoltzmannMachine("pseudo_likelihood", weight_decay=1e-3, tol=1e-5).fit(X)
n_chains, n_sweeps = (8, 150) if QUICK else (16, 400)
chains = {}
for sampler in ("gibbs", "metropolis"):
    chains[sampler] = bm.sample(
        n_chains, sampler=sampler, n_steps=n_sweeps, thin=1, random_state=1
    )
    if sampler == "metropolis":
        acceptance = bm.acceptance_rate_
        print(f"Metropolis-Hastings acceptance rate: {acceptance:.2f}")


def autocorrelation(series, max_lag):
    """Mean over chains of the normalised autocorrelation of (chains, steps)."""
    s = series - series.mean(axis=1, keepdims=True)
    var = np.mean(s**2)
    return (
        np.array([np.mean(s[:, : s.shape[1] - k] * s[:, k:]) for k in range(max_lag)])
        / var
    )


max_lag = 40
burn = n_sweeps // 4
acf = {}
for sampler, c in chains.items():
    # The statistic: each state's unnormalised log-probability, -F(x).
    f = -bm.free_energy(c.reshape(-1, 64)).reshape(c.shape[:2])[:, burn:]
    acf[sampler] = autocorrelation(f, max_lag)
    tau = 1 + 2 * np.sum(acf[sampler][1:][acf[sampler][1:] > 0.05])
    print(f"{sampler:>10}: integrated autocorrelation time of -F(x) ~ {tau:.1f} sweeps")

fig = plt.figure(figsize=(10, 5))
grid = fig.add_gridspec(2, 9)
for r, sampler in enumerate(chains):
    for k in range(6):
        ax = fig.add_subplot(grid[r, k])
        ax.imshow(chains[sampler][k, -1].reshape(8, 8), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            label = "Gibbs" if sampler == "gibbs" else f"MH\n(accept {acceptance:.2f})"
            ax.set_ylabel(label, fontsize=9)
ax = fig.add_subplot(grid[:, 6:])
for sampler, a in acf.items():
    ax.plot(a, label=sampler)
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("lag (sweeps of 64 updates / proposals)")
ax.set_title("autocorrelation of -F(x)", fontsize=10)
ax.legend()
fig.suptitle(f"BoltzmannMachine samples after {n_sweeps} sweeps")
fig.tight_layout()
fig.savefig("boltzmann_gibbs_vs_metropolis.png", dpi=80)
