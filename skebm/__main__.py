"""Demo: ``python -m skebm`` trains on scikit-learn's digits (no download).

Three parts, each printed as measured:

1. generation: an RBM trained with the README's generation recipe draws 100
   digits from independent random starts; a classifier trained on the real
   digits says which classes they cover (the rule is printed);
2. classification: a fine-tuned ``DBNClassifier``, RBM features + logistic
   regression and logistic regression on raw pixels, on the same test split;
3. likelihood: the exact log Z of a small RBM beside its AIS estimate and
   interval, and the exact test log-likelihood.

Writes ``skebm_demo.png`` (the generated digits, sorted by the judged class,
and the RBM's filters) when matplotlib is present. ``--quick`` runs
everything with small settings (a smoke test: its figures are not the ones
the demo is about).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from . import BernoulliRBM, DBNClassifier

# The rule that decides whether a generated image "is" a digit: the judge
# (logistic regression on the real training digits) must give one class at
# least this probability, and a class is covered when at least
# MIN_PER_CLASS of the generated images are judged to be it.
JUDGE_CONFIDENCE = 0.5
MIN_PER_CLASS = 3
N_GENERATED = 100


def generation_recipe(n_iter, random_state):
    """The README's recipe for an RBM that generates every digit class."""
    return BernoulliRBM(
        n_components=100,
        learning_rate=0.05,
        learning_rate_schedule="linear",
        momentum=0.5,
        batch_size=20,
        n_chains=200,  # many persistent chains: they spread over the modes
        centering=True,
        visible_bias_init="data",
        dynamic_binarization=True,
        n_iter=n_iter,
        random_state=random_state,
    )


def judge_samples(judge, samples):
    """Judged class of each sample (-1 where the judge is unsure), and counts."""
    proba = judge.predict_proba(samples)
    labels = np.where(
        proba.max(axis=1) >= JUDGE_CONFIDENCE, judge.classes_[proba.argmax(axis=1)], -1
    )
    counts = np.array([(labels == k).sum() for k in judge.classes_])
    return labels, counts


def generate(X_train, y_train, *, n_iter=30, n_steps=1000, seed=0):
    """Part 1: fit the generating RBM, draw samples, judge them.

    Returns the fitted RBM, the samples (probabilities of the last Gibbs
    step, shape (N_GENERATED, 64)), the judge, each sample's label (-1:
    unsure) and the number of samples judged to be each class.
    """
    rbm = generation_recipe(n_iter, seed).fit(X_train)
    samples = rbm.sample(
        N_GENERATED, n_steps=n_steps, probabilities=True, random_state=seed
    )
    judge = LogisticRegression(max_iter=3000).fit(X_train, y_train)
    labels, counts = judge_samples(judge, samples)
    return rbm, samples, judge, labels, counts


def load_split():
    """scikit-learn's digits in [0, 1], split 75/25 (stratified, fixed seed)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # grey levels in [0, 1], read as probabilities
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def tile(images, fill=np.nan):
    """Ten 8x8 images a row, one pixel of ``fill`` between them."""
    rows = -(-len(images) // 10)
    out = np.full((9 * rows - 1, 89), fill)
    for i, img in enumerate(images):
        r, c = divmod(i, 10)
        out[9 * r : 9 * r + 8, 9 * c : 9 * c + 8] = img.reshape(8, 8)
    return out


def _accuracy_line(name, accuracy, n_test):
    se = np.sqrt(accuracy * (1 - accuracy) / n_test)
    return f"   {name:40s} {accuracy:.3f} (+/- {se:.3f} s.e.)"


def main(argv=None):
    # No thread settings here: the demo runs the library as users call it
    # (the thread policy is the library's own, see skebm/_threads.py).
    parser = argparse.ArgumentParser(
        prog="python -m skebm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output", default="skebm_demo.png", help="PNG to write")
    parser.add_argument(
        "--n-iter", type=int, default=None, help="epochs of the generating RBM (30)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--quick", action="store_true", help="small settings, for a smoke test"
    )
    args = parser.parse_args(argv)
    n_iter = args.n_iter if args.n_iter is not None else (3 if args.quick else 30)
    seed = args.seed
    start = time.time()

    X_train, X_test, y_train, y_test = load_split()
    n_test = len(y_test)

    # ---------------------------------------------------------- generation
    print(f"1. Generating digits: an RBM with 100 hidden units, {n_iter} epochs")
    print(
        "   recipe: centered PCD-1 with 200 persistent chains, dynamic "
        "binarization, linear learning-rate decay"
    )
    t = time.time()
    n_steps = 200 if args.quick else 1000
    rbm, samples, judge, labels, counts = generate(
        X_train, y_train, n_iter=n_iter, n_steps=n_steps, seed=seed
    )
    covered = int((counts >= MIN_PER_CLASS).sum())
    print(
        f"   trained and sampled in {time.time() - t:.1f}s; exact "
        f"pseudo-log-likelihood per image: train {rbm.score(X_train):.2f}, "
        f"test {rbm.score(X_test):.2f} nats"
    )
    print(
        f"   {N_GENERATED} samples, {n_steps} Gibbs steps each from independent "
        "random starts"
    )
    print(
        f"   rule: the judge (logistic regression on the real training digits, "
        f"test accuracy {judge.score(X_test, y_test):.3f}) labels a sample k when "
        f"p(k) >= {JUDGE_CONFIDENCE}; a class is covered by >= {MIN_PER_CLASS} "
        "samples"
    )
    print(
        "   samples per class: "
        + " ".join(f"{k}:{c}" for k, c in zip(judge.classes_, counts, strict=True))
        + f" unsure:{int((labels == -1).sum())}"
    )
    print(f"   classes covered: {covered} of {len(judge.classes_)}")

    # ------------------------------------------------------ classification
    print("2. Classification on the same split (450 test digits)")
    if args.quick:  # the smoke-test settings stop fine-tuning before it converges
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
    t = time.time()
    hidden = (64, 64) if args.quick else (256, 256)
    sizes = "-".join(map(str, (64, *hidden, 10)))
    dbn_clf = DBNClassifier(
        hidden,
        n_iter=3 if args.quick else 20,
        learning_rate=0.04,
        batch_size=20,
        momentum=0.9,
        method="cd",
        visible_bias_init="data",
        learning_rate_init=0.01,
        alpha=1e-3,
        max_iter=20 if args.quick else 200,
        random_state=seed,
    ).fit(X_train, y_train)
    dbn_seconds = time.time() - t
    # the generating RBM of part 1, its hidden probabilities as features
    features = LogisticRegression(C=100.0, max_iter=3000)
    features.fit(rbm.transform(X_train), y_train)
    raw = LogisticRegression(max_iter=3000).fit(X_train, y_train)
    scores = {
        f"DBNClassifier {sizes}, fine-tuned": dbn_clf.score(X_test, y_test),
        "RBM features (part 1) + logistic": features.score(
            rbm.transform(X_test), y_test
        ),
        "raw pixels + logistic": raw.score(X_test, y_test),
    }
    print(f"   test accuracy (DBNClassifier fitted in {dbn_seconds:.1f}s):")
    for name, accuracy in scores.items():
        print(_accuracy_line(name, accuracy, n_test))
    print(
        "   on 8x8 digits differences below about two standard errors are noise; "
        "on MNIST\n   the fine-tuned DBNClassifier makes 1.44% errors against "
        "7.45% for raw pixels (README)"
    )

    # ---------------------------------------------------------- likelihood
    print("3. How good is it really? A 16-hidden-unit RBM on binarized digits")
    Xb_train, Xb_test = (X_train >= 0.5) * 1.0, (X_test >= 0.5) * 1.0
    small = BernoulliRBM(
        n_components=16,
        learning_rate=0.05,
        batch_size=20,
        n_iter=5 if args.quick else 30,
        random_state=seed,
    ).fit(Xb_train)
    exact = small.log_partition(method="exact")
    n_betas = 500 if args.quick else 2000
    ais = small.log_partition(
        method="ais", n_betas=n_betas, random_state=seed, return_details=True
    )
    print(
        f"   log Z exact {exact:.3f}; AIS {ais['log_z']:.3f} "
        f"[{ais['log_z_low']:.3f}, {ais['log_z_high']:.3f}] "
        f"({n_betas} betas, 100 runs)"
    )
    small.log_partition(method="exact")  # the likelihood below uses the exact Z
    print(
        f"   exact test log-likelihood {small.log_likelihood(Xb_test).mean():.2f} "
        f"nats per image (uniform model: {-64 * np.log(2):.2f})"
    )
    print(f"total {time.time() - start:.1f}s")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no picture written")
        return
    order = np.argsort(np.where(labels < 0, 10, labels), kind="stable")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5.4))
    left.imshow(tile(samples[order]), cmap="gray_r", interpolation="nearest")
    for i, idx in enumerate(order):
        label = "?" if labels[idx] < 0 else str(labels[idx])
        left.text(9 * (i % 10), 9 * (i // 10) + 1.5, label, color="tab:red", fontsize=7)
    filters = rbm.components_ / np.abs(rbm.components_).max(axis=1, keepdims=True)
    right.imshow(
        tile(filters, fill=0.0), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
    )
    for ax in (left, right):
        ax.set_axis_off()
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93, wspace=0.04)
    fig.suptitle(
        f"Left: {N_GENERATED} generated digits ({n_steps} Gibbs steps from random "
        f"starts), sorted by the judge's label (red; ? = unsure), {covered} of 10 "
        "classes covered.   Right: the RBM's 100 filters",
        fontsize=9,
    )
    fig.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
