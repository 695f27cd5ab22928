"""
Deep belief network on digits: features, fine-tuning and generated samples
===========================================================================

A :class:`skebm.DBN` stacks RBMs trained greedily, each on the hidden
probabilities of the one below. Its top-layer features can feed a linear
classifier, and :class:`skebm.DBNClassifier` fine-tunes the whole pretrained
stack plus a softmax layer by backpropagation (scikit-learn's
``MLPClassifier`` started from the pretrained weights). We compare both with
logistic regression on the raw pixels, then draw digits from the DBN: Gibbs
chains in the top RBM, then one top-down pass to the pixels.

Digits is small (1 347 training images): unsupervised features alone need
more data than this to beat raw pixels (on MNIST they do, see
``benchmarks/bench_dbn_mnist.py``), while the fine-tuned network matches or
beats the pixel baseline.

Run as a script it writes ``plot_dbn_digits.png``.
"""

# %%
import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skebm import DBN, DBNClassifier

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
if QUICK:  # the smoke-test settings stop fine-tuning before it converges
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = X / 16.0  # grey levels in [0, 1], used as probabilities
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# Pretraining settings shared by the two DBN models: CD-1 with momentum and
# visible biases started from the data (Hinton's practical guide).
sizes = (64, 64) if QUICK else (256, 256)
pretrain = dict(
    n_iter=5 if QUICK else 30,
    learning_rate=0.04,
    batch_size=20,
    momentum=0.9,
    method="cd",
    visible_bias_init="data",
)

scores = {}
t = time.time()
raw = LogisticRegression(max_iter=2000).fit(X_train, y_train)
scores["pixels + LR"] = raw.score(X_test, y_test)

features = Pipeline(
    [
        ("dbn", DBN(sizes, **pretrain, random_state=0)),
        ("lr", LogisticRegression(C=100, max_iter=3000)),
    ]
).fit(X_train, y_train)
scores["DBN features + LR"] = features.score(X_test, y_test)

clf = DBNClassifier(
    sizes,
    **pretrain,
    learning_rate_init=0.01,
    alpha=1e-3,
    max_iter=50 if QUICK else 200,
    random_state=0,
)
clf.fit(X_train, y_train)
scores["DBNClassifier (fine-tuned)"] = clf.score(X_test, y_test)
for name, score in scores.items():
    print(f"{name:28s} test accuracy {score:.4f}")
print(f"(fitted in {time.time() - t:.1f} s)")

# %%
# Samples: 30 independent chains of 1000 Gibbs sweeps in the top RBM of the
# pretrained network, each passed down once; we show p(v | h1) of that pass.
dbn = features.named_steps["dbn"]
samples = dbn.sample(
    30, n_steps=100 if QUICK else 1000, probabilities=True, random_state=0
)
# Starting the chains at the up-pass of test digits shows what the network
# keeps of an image: up to the top, one sweep of the top RBM, and down again.
recon = dbn.sample(10, n_steps=1, init=X_test[:10], probabilities=True, random_state=0)

fig = plt.figure(figsize=(11, 4.8))
grid = fig.add_gridspec(1, 2, width_ratios=[1, 1.6])
ax = fig.add_subplot(grid[0])
names = list(scores)
ax.barh(names, [scores[n] for n in names], color=["gray", "tab:blue", "tab:green"])
ax.set_xlim(0.85, 1.0)
ax.set_xlabel("test accuracy (digits, 25 % held out)")
for i, n in enumerate(names):
    ax.text(
        scores[n] - 0.002, i, f"{scores[n]:.3f}", va="center", ha="right", color="white"
    )
rows = [
    (X_test[:10], "test digits"),
    (recon, "up, one top-level sweep, and down"),
    (samples[:10], "samples from random starts"),
    (samples[10:20], ""),
    (samples[20:30], ""),
]
sub = grid[1].subgridspec(len(rows), 10, wspace=0.05, hspace=0.3)
for r, (imgs, title) in enumerate(rows):
    for i in range(10):
        a = fig.add_subplot(sub[r, i])
        a.imshow(imgs[i].reshape(8, 8), cmap="gray_r", interpolation="nearest")
        a.set_axis_off()
        if i == 0 and title:
            a.set_title(title, loc="left", fontsize=9)
fig.suptitle(f"DBN {'-'.join(map(str, (64, *sizes)))} on digits")
fig.tight_layout()
fig.savefig("plot_dbn_digits.png", dpi=90)
