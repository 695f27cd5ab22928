"""
Choosing contrastive-divergence settings with GridSearchCV
==========================================================

``BernoulliRBM.score`` is the mean exact pseudo-log-likelihood, so an
unsupervised grid search needs no scorer: cross-validated pseudo-likelihood
over the training method (CD / PCD), the number of Gibbs steps k and the
learning rate. The grid runs its fits in parallel with ``n_jobs``.

Run as a script it writes ``plot_grid_search.png``.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skebm import BernoulliRBM

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
X = load_digits().data / 16.0
if QUICK:
    X = X[:300]

grid = GridSearchCV(
    BernoulliRBM(n_components=32, n_iter=3 if QUICK else 10, random_state=0),
    {
        "method": ["cd", "pcd"],
        "n_gibbs_steps": [1, 3] if QUICK else [1, 3, 10],
        "learning_rate": [0.02, 0.1],
    },
    cv=3,
    n_jobs=2,
).fit(X)
print("best:", grid.best_params_, f"pseudo-log-likelihood {grid.best_score_:.2f}")

# %%
res = grid.cv_results_
fig, ax = plt.subplots(figsize=(6, 4))
for method in ("cd", "pcd"):
    for lr, style in zip((0.02, 0.1), ("--", "-"), strict=False):
        sel = [
            i
            for i, p in enumerate(res["params"])
            if p["method"] == method and p["learning_rate"] == lr
        ]
        ks = [res["params"][i]["n_gibbs_steps"] for i in sel]
        ax.errorbar(
            ks,
            res["mean_test_score"][sel],
            yerr=res["std_test_score"][sel],
            ls=style,
            marker="o",
            label=f"{method.upper()}-k, learning rate {lr}",
        )
ax.set_xscale("log")
ax.set_xticks(sorted({p["n_gibbs_steps"] for p in res["params"]}))
ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
ax.set_xlabel("Gibbs steps k")
ax.set_ylabel("cross-validated pseudo-log-likelihood")
ax.legend()
fig.tight_layout()
fig.savefig("plot_grid_search.png", dpi=90)
print(np.round(res["mean_test_score"], 2))
