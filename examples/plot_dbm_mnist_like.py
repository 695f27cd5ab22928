"""
A deep Boltzmann machine on digits: samples, and its bound against a DBN and an RBM
===================================================================================

Trains a two-hidden-layer :class:`skebm.DBM` on binarized 8x8 digits (greedy
pretraining with the doubling trick, then joint training with mean-field and
persistent chains), draws samples from it with the alternating odd/even Gibbs
sampler, and compares its test score with a :class:`skebm.DBN` of the same
layer sizes and a :class:`skebm.BernoulliRBM` with the same number of
parameters:

* DBM: the mean-field variational lower bound on log p(x), with log Z by AIS;
* DBN: its variational lower bound (top-RBM log Z by AIS);
* RBM: the log-likelihood itself (log Z by AIS).

All three use the same AIS settings. Run as a script it writes
``plot_dbm_mnist_like.png``; ``SKEBM_EXAMPLE_QUICK=1`` makes it shorter.
"""

# %%
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skebm import DBM, DBN, BernoulliRBM

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
X, y = load_digits(return_X_y=True)
X = (X >= 8).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.25, stratify=y, random_state=0)


def n_params(sizes):
    """Weights and biases of an undirected stack of the given layer sizes."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)) + sum(sizes)


hidden = (64, 32)
# An RBM with (about) the DBM's number of parameters: 64 H + 64 + H.
n_rbm = round((n_params((64,) + hidden) - 64) / 65)
ais = {"method": "ais", "n_betas": 1000 if QUICK else 3000, "n_runs": 100}
epochs = 5 if QUICK else 20
pre_epochs = 5 if QUICK else 30

# %%
# Train the three models. The DBM's joint training needs a small step: with
# learning rates much above 0.003 (momentum 0.5) the persistent chains lag
# behind the model and the bound gets worse than after pretraining alone. The
# DBN and the RBM get as many epochs per layer as the DBM in all.
results = {}
t = time.time()
dbm = DBM(
    hidden,
    learning_rate=0.003,
    batch_size=20,
    n_iter=epochs,
    n_chains=100,
    momentum=0.5,
    pretrain_n_iter=pre_epochs,
    pretrain_learning_rate=0.05,
    log_partition_params=ais,
    random_state=0,
).fit(X_train)
results[f"DBM 64-{hidden[0]}-{hidden[1]}\nbound"] = (
    dbm.score(X_test),
    time.time() - t,
)

t = time.time()
dbn = DBN(
    hidden,
    learning_rate=0.05,
    batch_size=20,
    n_iter=pre_epochs + epochs,
    momentum=0.5,
    log_partition_params=ais,
    random_state=0,
).fit(X_train)
results[f"DBN 64-{hidden[0]}-{hidden[1]}\nbound"] = (
    dbn.score(X_test),
    time.time() - t,
)

t = time.time()
rbm = BernoulliRBM(
    n_rbm,
    learning_rate=0.05,
    batch_size=20,
    n_iter=pre_epochs + epochs,
    momentum=0.5,
    random_state=0,
).fit(X_train)
results[f"RBM 64-{n_rbm}\nlog-likelihood"] = (
    rbm.log_likelihood(X_test, random_state=0, **ais).mean(),
    time.time() - t,
)
for name, (score, secs) in results.items():
    print(f"{name.replace(chr(10), ' ')}: {score:.2f} nats/digit ({secs:.1f} s)")
print(f"parameters: DBM {n_params((64,) + hidden)}, RBM {n_params((64, n_rbm))}")

# %%
# Samples: 20 independent chains of alternating odd/even block Gibbs sweeps
# from random starts; the visible probabilities of the last sweep make a less
# noisy picture of the same samples.
samples = dbm.sample(
    20, n_steps=200 if QUICK else 1000, probabilities=True, random_state=0
)

fig = plt.figure(figsize=(11, 4.5))
grid = fig.add_gridspec(2, 2, width_ratios=[1.4, 1])
for k, (imgs, title) in enumerate(
    [(X_train[:20], "training digits"), (samples, "DBM samples")]
):
    sub = grid[k, 0].subgridspec(2, 10, wspace=0.05, hspace=0.05)
    for i in range(20):
        ax = fig.add_subplot(sub[i // 10, i % 10])
        ax.imshow(imgs[i].reshape(8, 8), cmap="gray_r", interpolation="nearest")
        ax.set_axis_off()
        if i == 0:
            ax.set_title(title, loc="left", fontsize=10)
ax = fig.add_subplot(grid[:, 1])
names = list(results)
scores = [results[n][0] for n in names]
bars = ax.barh(names, scores, color=["C0", "C1", "C2"][: len(names)])
ax.bar_label(bars, fmt="%.2f", padding=3)
ax.set_xlim(min(scores) - 5, max(max(scores) + 6, 0))
ax.set_xlabel("test score (nats per digit, higher is better)")
ax.set_title("same number of parameters", fontsize=10)
fig.tight_layout()
fig.savefig("plot_dbm_mnist_like.png", dpi=90)
