"""Demo: ``python -m skebm`` trains an RBM on scikit-learn's digits (no download).

Prints the pseudo-likelihood as training goes, the exact and AIS
log-likelihood of a small RBM, and the accuracy of Pipeline([RBM,
LogisticRegression]) against logistic regression on raw pixels; writes
``skebm_demo.png`` (filters and generated samples) when matplotlib is present.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from . import BernoulliRBM


def main(argv=None):
    # No thread settings here: the demo runs the library as users call it
    # (the thread policy is the library's own, see skebm/_threads.py).
    parser = argparse.ArgumentParser(prog="python -m skebm", description=__doc__)
    parser.add_argument("--output", default="skebm_demo.png", help="PNG to write")
    parser.add_argument("--n-iter", type=int, default=20)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )

    print("1. An RBM with 100 hidden units on the digits (8x8 pixels in [0, 1])")
    rbm = BernoulliRBM(
        n_components=100,
        learning_rate=0.05,
        batch_size=10,
        n_iter=args.n_iter,
        momentum=0.5,
        random_state=0,
        verbose=1,
    )
    t = time.time()
    rbm.fit(X_train)
    print(f"   trained in {time.time() - t:.1f}s")
    print(
        f"   exact pseudo-log-likelihood per image: train {rbm.score(X_train):.2f}, "
        f"test {rbm.score(X_test):.2f} nats"
    )

    print("2. How good is it really? A 16-hidden-unit RBM on binarized digits")
    Xb_train, Xb_test = (X_train >= 0.5) * 1.0, (X_test >= 0.5) * 1.0
    small = BernoulliRBM(
        n_components=16, learning_rate=0.05, batch_size=20, n_iter=30, random_state=0
    ).fit(Xb_train)
    exact = small.log_partition(method="exact")
    ais = small.log_partition(
        method="ais", n_betas=2000, random_state=0, return_details=True
    )
    print(
        f"   log Z exact {exact:.3f}; AIS {ais['log_z']:.3f} "
        f"[{ais['log_z_low']:.3f}, {ais['log_z_high']:.3f}] (2000 betas, 100 runs)"
    )
    print(
        f"   test log-likelihood {small.log_likelihood(Xb_test).mean():.2f} nats "
        f"per image (uniform model: {-64 * np.log(2):.2f})"
    )

    print("3. Features for a classifier: Pipeline([rbm, logistic]) vs raw pixels")
    pipe = Pipeline(
        [
            ("rbm", BernoulliRBM(**{**rbm.get_params(), "verbose": 0})),
            ("logistic", LogisticRegression(C=100.0, max_iter=2000)),
        ]
    ).fit(X_train, y_train)
    raw = LogisticRegression(C=100.0, max_iter=2000).fit(X_train, y_train)
    print(f"   accuracy RBM features + LR: {pipe.score(X_test, y_test):.3f}")
    print(f"   accuracy raw pixels   + LR: {raw.score(X_test, y_test):.3f}")

    samples = rbm.sample(
        20, n_steps=1000, probabilities=True, init=X_test[:20], random_state=0
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no picture written")
        return
    fig, axes = plt.subplots(5, 20, figsize=(12, 3.6))
    for i, ax in enumerate(axes.flat):
        if i < 60:
            img, cmap = rbm.components_[i], "RdBu_r"
        elif i < 80:
            img, cmap = X_test[i - 60], "gray_r"
        else:
            img, cmap = samples[i - 80], "gray_r"
        ax.imshow(img.reshape(8, 8), cmap=cmap, interpolation="nearest")
        ax.set_axis_off()
    fig.suptitle(
        "RBM filters (rows 1-3); test digits (row 4); "
        "the model's samples after 1000 Gibbs steps from each (row 5)"
    )
    fig.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
