"""
RBM features for digit classification, done right
==================================================

The idea of scikit-learn's gallery example "Restricted Boltzmann Machine
features for digit classification": learn features with an RBM, classify them
with logistic regression. Here with correct settings (a logistic regression
that actually converges), its classification report against logistic
regression on raw pixels, and the learned filters as a picture.

Run as a script it writes ``plot_rbm_logistic.png``.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skebm import BernoulliRBM

QUICK = os.environ.get("SKEBM_EXAMPLE_QUICK") == "1"
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)

# %%
# Features: 100 hidden units, PCD-1 with momentum; the pixels are scaled into
# [0, 1] inside the pipeline (Bernoulli units reject anything else; clip=True
# keeps test pixels brighter than any training pixel inside [0, 1]).
rbm = BernoulliRBM(
    n_components=100,
    learning_rate=0.05,
    n_iter=5 if QUICK else 30,
    momentum=0.5,
    random_state=0,
)
model = Pipeline(
    [
        ("scale", MinMaxScaler(clip=True)),
        ("rbm", rbm),
        ("logistic", LogisticRegression(C=100.0, max_iter=3000)),
    ]
).fit(X_train, y_train)
raw = Pipeline(
    [
        ("scale", MinMaxScaler(clip=True)),
        ("logistic", LogisticRegression(C=100.0, max_iter=3000)),
    ]
).fit(X_train, y_train)

print("Logistic regression on RBM features:\n")
print(classification_report(y_test, model.predict(X_test), digits=3))
print("Logistic regression on raw pixels:\n")
print(classification_report(y_test, raw.predict(X_test), digits=3))

# %%
fig, axes = plt.subplots(10, 10, figsize=(5, 5.4))
for ax, w in zip(axes.flat, rbm.components_, strict=False):
    ax.imshow(w.reshape(8, 8), cmap="RdBu_r", interpolation="nearest")
    ax.set_axis_off()
fig.suptitle(
    f"100 RBM filters; accuracy {model.score(X_test, y_test):.3f} "
    f"(raw pixels {raw.score(X_test, y_test):.3f})"
)
fig.savefig("plot_rbm_logistic.png", dpi=90)
