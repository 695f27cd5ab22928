"""
Generating digits with an RBM, and watching its log-likelihood
==============================================================

Trains a :class:`skebm.BernoulliRBM` on binarized digits, draws samples with
independent Gibbs chains beside training digits (the lecture's "training
samples / generated samples" figure), and tracks the *exact* test
log-likelihood while training goes on: with 16 hidden units the partition
function is enumerated exactly; larger models use AIS
(``log_partition(method="ais")``).

Run as a script it writes ``plot_rbm_samples.png``.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skebm import BernoulliRBM

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
X, y = load_digits(return_X_y=True)
X = (X >= 8).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.25, stratify=y, random_state=0)

# %%
# Train epoch by epoch with ``partial_fit``-style warm continuation: each call of
# ``fit`` with ``n_iter=1`` would restart, so we keep one model and feed it
# minibatches, measuring the exact test log-likelihood after every epoch.
rbm = BernoulliRBM(n_components=16, learning_rate=0.05, batch_size=20, random_state=0)
n_epochs = 5 if QUICK else 40
rng = np.random.default_rng(0)
curve = []
for epoch in range(n_epochs):
    for batch in np.array_split(X_train[rng.permutation(len(X_train))], 68):
        rbm.partial_fit(batch)
    curve.append(rbm.log_likelihood(X_test).mean())
    print(f"epoch {epoch + 1}: exact test log-likelihood {curve[-1]:.2f} nats")

# %%
# Samples: 20 independent chains of 1000 Gibbs steps from random starts; the
# probabilities of the last step make the picture less noisy.
samples = rbm.sample(
    20, n_steps=200 if QUICK else 1000, probabilities=True, random_state=0
)

fig = plt.figure(figsize=(10, 4.5))
grid = fig.add_gridspec(2, 2, width_ratios=[1.4, 1])
for k, (imgs, title) in enumerate(
    [(X_train[:20], "training samples"), (samples, "generated samples")]
):
    sub = grid[k, 0].subgridspec(2, 10, wspace=0.05, hspace=0.05)
    for i in range(20):
        ax = fig.add_subplot(sub[i // 10, i % 10])
        ax.imshow(imgs[i].reshape(8, 8), cmap="gray_r", interpolation="nearest")
        ax.set_axis_off()
        if i == 0:
            ax.set_title(title, loc="left", fontsize=10)
ax = fig.add_subplot(grid[:, 1])
ax.plot(np.arange(1, n_epochs + 1), curve, marker="o", ms=3)
ax.axhline(-64 * np.log(2), color="gray", ls="--", label="uniform model")
ax.set_xlabel("epoch")
ax.set_ylabel("exact test log-likelihood (nats)")
ax.legend()
fig.tight_layout()
fig.savefig("plot_rbm_samples.png", dpi=90)
