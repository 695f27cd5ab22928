"""Record the reference for ``test_dbm_recipe_matches_hand_driven_bench``.

Run once, on the code before DBM had the recipe's parameters (commit d81a64d
+ this script), to write ``dbm_recipe_reference.npz``: three joint epochs
driven by hand the way ``benchmarks/bench_dbm.py`` did until then --
``DBM(n_iter=0).fit`` for the pretraining, then per epoch ``set_params`` of
the learning rate (``lr / decay**updates`` floored, the MATLAB schedule) and
of the momentum (0.5, then 0.9 after the switch epoch) and one
``partial_fit``, and the mean of the parameters at the ends of epochs
2 and 3 (bench_dbm's ``IterateAverage``). Settings: those of the -87.24
recipe at a size that runs in a second.

    python tests/data/dbm_recipe_reference.py

Re-recorded in session 38 (commit after 0752242), when the DBM's doubling-trick
pretraining RBMs moved from their own CD code to the shared
``_cd.cd_statistics_`` (tied copies): their random draws and summation order
changed, so their parameters did, while the joint epochs' recipe did not. The
test's live comparison with :func:`hand_driven` (run in the same process) is
what shows that the constructor reproduces the hand-driven bench; the file
pins today's numbers against unintended change.

The stored figures are one machine's: another CPU's BLAS kernels round some
sums differently (last-bit differences), so the test compares them with a
tight tolerance and checks bit-identity against :func:`hand_driven` run in
the same process.
"""

import os

import numpy as np
from sklearn.datasets import load_digits

from skebm import DBM

SETTINGS = dict(
    hidden=(20, 30),
    lr=0.001,
    decay=1.01,
    floor=9e-4,
    momentum_switch=1,
    average_from=2,
    epochs=3,
    n_rows=300,
    batch=50,
    n_chains=40,
)
MODEL = dict(
    n_gibbs_steps=5,
    mean_field_max_iter=10,
    weight_decay=2e-4,
    dynamic_binarization=True,
    centering=True,
    max_norm=8.0,
    sparsity_cost=[0.0, 2.0],
    sparsity_target=[0.2, 0.1],
    mean_field_tol=1e-5,
    pretrain_n_iter=2,
    pretrain_learning_rate=0.05,
    random_state=0,
)


def data():
    return load_digits().data[: SETTINGS["n_rows"]] / 16.0


def hand_driven():
    """The three hand-driven epochs; returns the arrays the reference keeps."""
    s = SETTINGS
    X = data()
    model = DBM(
        s["hidden"],
        learning_rate=s["lr"],
        batch_size=s["batch"],
        n_iter=0,
        n_chains=s["n_chains"],
        momentum=0.5,
        **MODEL,
    ).fit(X)
    per_epoch = int(np.ceil(X.shape[0] / s["batch"]))
    sums, count = None, 0
    for epoch in range(1, s["epochs"] + 1):
        updates = (epoch - 1) * per_epoch
        model.set_params(
            learning_rate=max(s["lr"] / s["decay"] ** updates, s["floor"]),
            momentum=0.5 if epoch <= s["momentum_switch"] else 0.9,
        )
        model.partial_fit(X)
        if epoch >= s["average_from"]:
            params = [*model.coefs_, *model.intercepts_]
            if sums is None:
                sums = [np.zeros(p.shape, np.float64) for p in params]
            for a, p in zip(sums, params, strict=True):
                a += p
            count += 1
    dtype = model.coefs_[0].dtype
    arrays = {f"last_{i}": p for i, p in enumerate([*model.coefs_, *model.intercepts_])}
    arrays.update({f"mean_{i}": (a / count).astype(dtype) for i, a in enumerate(sums)})
    arrays.update({f"chain_{i}": x for i, x in enumerate(model.particles_)})
    return arrays


def main():
    arrays = hand_driven()
    path = os.path.join(os.path.dirname(__file__), "dbm_recipe_reference.npz")
    np.savez(path, **arrays)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
