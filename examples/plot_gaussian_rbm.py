"""
A Gaussian RBM on real-valued digits, against GaussianMixture and PPCA
======================================================================

Trains a :class:`skebm.GaussianBernoulliRBM` with learned variances on the
digits scikit-learn ships, made real-valued (dequantized with uniform noise,
divided by 17, standardized with the training statistics), and shows its
learned filters, its per-pixel standard deviations, samples beside real
digits, and a table of held-out log-densities against
:class:`sklearn.mixture.GaussianMixture` and probabilistic PCA. With 20
hidden units the RBM is a mixture of 2**20 Gaussians whose log Z is
enumerated exactly, so every figure in the table is an exact log-density in
nats per image, in the same standardized space.

The table is printed as measured, and at this size it does not favour the
RBM: a diagonal GaussianMixture gives every component its own variances,
while the RBM's 2**H components share one diagonal covariance. A 200-unit
RBM trained with ``method="cd+pcd"`` for 3 000 epochs (minutes, and AIS to
score it) matches or beats the best mixture; see ``benchmarks/RESULTS.md``
for the full grid, the larger RBMs and the training times.

Run as a script it writes ``plot_gaussian_rbm.png``.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skebm import GaussianBernoulliRBM

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
digits = load_digits()
X = (digits.data + np.random.default_rng(0).random(digits.data.shape)) / 17
X_train, X_test = train_test_split(
    X, test_size=0.25, stratify=digits.target, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# The RBM: CD-1, learned variances (floored at 1 % and capped at 100 times
# each pixel's variance), exact log-likelihood because H = 20.
H = 12 if QUICK else 20
rbm = GaussianBernoulliRBM(
    n_components=H,
    method="cd",
    batch_size=20,
    n_iter=10 if QUICK else 100,
    random_state=0,
).fit(X_train)
rows = [("GaussianBernoulliRBM", f"H={H}", rbm.score(X_test))]

# %%
# The peers, each at its best setting on a small grid.
for cov in ["diag"] if QUICK else ["diag", "full"]:
    best = max(
        (
            GaussianMixture(k, covariance_type=cov, reg_covar=1e-2, random_state=0)
            .fit(X_train)
            .score(X_test),
            k,
        )
        for k in ([5, 10] if QUICK else [5, 10, 20, 40])
    )
    rows.append((f"GaussianMixture ({cov})", f"k={best[1]}", best[0]))
best = max((PCA(k).fit(X_train).score(X_test), k) for k in range(10, 64, 10))
rows.append(("probabilistic PCA", f"k={best[1]}", best[0]))
print("held-out log-density (nats per image, standardized space)")
for name, setting, score in rows:
    print(f"  {name:<24} {setting:<6} {score:8.2f}")

# %%
# Samples: independent Gibbs chains from random starts, mapped back to
# pixel space (the means of p(v | h) of the last step).
samples = rbm.sample(
    20, n_steps=100 if QUICK else 1000, probabilities=True, random_state=0
)
samples = scaler.inverse_transform(samples)
real = scaler.inverse_transform(X_test[:20])

fig = plt.figure(figsize=(11, 6))
grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1.3, 1])
filters = grid[0, 0].subgridspec(4, 5, wspace=0.05, hspace=0.05)
for i in range(min(20, H)):
    ax = fig.add_subplot(filters[i // 5, i % 5])
    ax.imshow(rbm.components_[i].reshape(8, 8), cmap="RdBu_r", interpolation="nearest")
    ax.set_axis_off()
    if i == 0:
        ax.set_title("filters W", loc="left", fontsize=10)
ax = fig.add_subplot(grid[0, 1])
im = ax.imshow(np.sqrt(rbm.variances_).reshape(8, 8), cmap="viridis")
ax.set_title("learned standard deviation per pixel", fontsize=10)
ax.set_axis_off()
fig.colorbar(im, ax=ax, fraction=0.046)
for k, (imgs, title) in enumerate([(real, "real digits"), (samples, "samples")]):
    sub = grid[1, k].subgridspec(2, 10, wspace=0.05, hspace=0.05)
    for i in range(20):
        ax = fig.add_subplot(sub[i // 10, i % 10])
        ax.imshow(imgs[i].reshape(8, 8), cmap="gray_r", interpolation="nearest")
        ax.set_axis_off()
        if i == 0:
            ax.set_title(title, loc="left", fontsize=10)
ax = fig.add_subplot(grid[:, 2])
ax.barh([f"{n}\n{s}" for n, s, _ in rows], [v for _, _, v in rows])
ax.set_xlabel("held-out log-density (nats)")
ax.invert_yaxis()
fig.tight_layout()
fig.savefig("plot_gaussian_rbm.png", dpi=90)
