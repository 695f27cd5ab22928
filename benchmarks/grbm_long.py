"""A long Gaussian-RBM run on the real-valued digits, split over sessions.

**Read RESULTS.md section 8 (sessions 39 and 40) before resuming a run:**
with every iterate averaged and an unshuffled data order, CD-10 grew spurious
modes (mass far from the data that CD never samples) between 100 000 and
104 000 epochs of a 300 000-epoch decay, and CD-5 between 81 000 and 125 000.
Score every long model with >= 1 000 AIS runs over several seeds
(``--runs 1000 --seeds 3``): 100 runs miss those modes.

Session 41 met the density target of issue 26 (beat the best
GaussianMixture, -57.61 nats) in 3 000 epochs with 200 hidden units and
``method="cd+pcd"`` (bench_gaussian_digits.py); this script is for runs of
100 000 epochs or more (``--method cd+pcd`` for a new run with persistent
chains beside CD's), over an hour on these machines.
It runs them as warm fits of ``--chunk`` epochs
(``warm_start=True`` continues chains, velocities, the iterate average and
the random stream bit for bit) and pickles the model (with the run's
horizon) after every chunk, so that a session can stop at any time and the
next one resumes from the checkpoint::

    python benchmarks/grbm_long.py --minutes 80 --chunk 2000 --horizon 100000 \
        --average-from 0.5 --shuffle --checkpoint run.pkl   # train, checkpointing
    python benchmarks/grbm_long.py --checkpoint run.pkl --evaluate --runs 1000 --seeds 3

The recipe: H=100, CD-k (``--n-gibbs-steps``, 10; ``--method``, ``--n-chains``),
batch 100, momentum 0.9,
optional ``weight_decay`` and ``shuffle``, the iterates averaged from
``--average-from`` x horizon epochs on (0: every iterate; an int
``average`` counts training samples), and a learning rate that decays
linearly from 0.005 to 0 over ``--horizon`` epochs. A warm ``fit`` cannot
carry a linear horizon beyond its own end, so each chunk runs at the
constant rate of the linear schedule at the chunk's midpoint:
0.005 * (1 - (e + chunk / 2) / horizon) for a chunk starting after epoch e
(a piecewise-constant approximation of the decay). The options other than
``--minutes``, ``--chunk`` and the evaluation ones apply to a new run only.
"""

import argparse
import os
import pickle
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_gaussian_digits import ais_scores, real_digits  # noqa: E402

from skebm import GaussianBernoulliRBM  # noqa: E402

CHECKPOINT = os.path.join(os.path.dirname(__file__), "grbm_long.pkl")
BASE_RATE = 0.005


def new_model(args, n_train):
    return GaussianBernoulliRBM(
        100,
        method=args.method,
        n_chains=args.n_chains,
        n_gibbs_steps=args.n_gibbs_steps,
        learning_rate=BASE_RATE,
        momentum=0.9,
        batch_size=100,
        weight_decay=args.weight_decay,
        shuffle=args.shuffle,
        # average the iterates from epoch average_from * horizon on
        average=int(args.average_from * args.horizon * n_train) or True,
        warm_start=True,
        random_state=0,
    )


def chunk_rate(epochs_done, chunk, horizon):
    return BASE_RATE * max(0.0, 1.0 - (epochs_done + chunk / 2) / horizon)


def save(model, horizon, path):
    # history_ holds one line per epoch (11 MB pickled at 300 000 epochs);
    # the checkpoint keeps every 1 000th, which training does not read
    model.history_ = [h for h in model.history_ if h["epoch"] % 1000 == 0]
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump((model, horizon), f)
    os.replace(tmp, path)


def evaluate(model, X, n_betas, n_runs, seed=0):
    fwd, low, high, rev = ais_scores(model, X, n_betas, n_runs, random_state=seed)
    info = model.log_partition_info_  # the forward run's, cached by ais_scores
    print(
        f"epochs {model.n_iter_}: held-out {fwd:.2f} [{low:.2f}, {high:.2f}], "
        f"reverse AIS {rev:.2f} (AIS {n_betas} betas x {n_runs} runs, "
        f"seed {seed}; log Z {info['log_z']:.2f}, effective sample size "
        f"{info['ess']:.1f}: near 1 when one run carries the estimate)",
        flush=True,
    )


def log_p_hidden(model, h):
    """Unnormalised log p(h) with v integrated out (a Gaussian integral):
    c.h + sum_i (b_i a_i + a_i**2 / 2) / var_i with a = W^T h."""
    a = h @ model.components_
    quadratic = (model.intercept_visible_ * a + 0.5 * a * a) / model.variances_
    return h @ model.intercept_hidden_ + quadratic.sum(-1)


def hidden_ascent(model, h, max_sweeps=100):
    """Greedy coordinate ascent of log p(h) (one unit at a time, every
    start at once) until no unit flips: the mode each start drains to."""
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    inv_var = 1.0 / model.variances_
    h = h.copy()
    a = h @ W
    for _ in range(max_sweeps):
        flips = 0
        for j in range(h.shape[1]):
            a -= h[:, j : j + 1] * W[j]  # a without unit j
            gain = c[j] + ((b + a + 0.5 * W[j]) * W[j] * inv_var).sum(-1)
            new = (gain > 0).astype(h.dtype)
            flips += int((new != h[:, j]).sum())
            h[:, j] = new
            a += h[:, j : j + 1] * W[j]
        if flips == 0:
            break
    return h


def mode_check(model, X, X_test, n_starts=200, seed=0):
    """A cheap screen for spurious modes (seconds, against minutes of AIS):
    the largest log p(h) that greedy ascent reaches from uniformly random
    hidden states, beside the largest among hidden states sampled from
    p(h | v) of the training rows. In a clean model the first is no larger
    than the second: the modes that random starts drain to are the data's.

    One hidden state's term of Z is a rigorous lower bound on it, so the
    mode also bounds the held-out log-likelihood from above, whatever AIS
    says: log Z >= log p(h*) + sum_i log(2 pi var_i) / 2.
    """
    rng = np.random.default_rng(seed)
    p = model.transform(X)
    h_data = (rng.random(p.shape) < p).astype(p.dtype)
    h_rand = (rng.random((n_starts, p.shape[1])) < 0.5).astype(p.dtype)
    top = hidden_ascent(model, h_rand)
    best = int(np.argmax(log_p_hidden(model, top)))
    mode = log_p_hidden(model, top[best])
    log_z_low = mode + 0.5 * np.log(2 * np.pi * model.variances_).sum()
    print(
        f"epochs {model.n_iter_}: largest log p(h) (v integrated out) of the "
        f"training rows' hidden states {log_p_hidden(model, h_data).max():.1f}; "
        f"reached by ascent from {n_starts} random states {mode:.1f} "
        f"({int(top[best].sum())} units on): log Z >= {log_z_low:.2f}, so the "
        f"held-out log-likelihood is at most "
        f"{np.mean(-model.free_energy(X_test)) - log_z_low:.2f}",
        flush=True,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=0.0)
    p.add_argument("--chunk", type=int, default=1000, help="epochs per checkpoint")
    p.add_argument("--checkpoint", default=CHECKPOINT)
    p.add_argument("--method", default="cd", help="new run: cd or cd+pcd")
    p.add_argument("--n-chains", type=int, default=None, help="new run: n_chains")
    p.add_argument("--n-gibbs-steps", type=int, default=10, help="CD-k of a new run")
    p.add_argument("--horizon", type=int, default=300_000, help="epochs of a new run")
    p.add_argument(
        "--average-from",
        type=float,
        default=0.0,
        help="average the iterates after this fraction of the horizon (new run)",
    )
    p.add_argument("--shuffle", action="store_true", help="new run: shuffle=True")
    p.add_argument("--weight-decay", type=float, default=0.0, help="new run")
    p.add_argument("--seeds", type=int, default=1, help="AIS seeds to evaluate")
    p.add_argument("--evaluate", action="store_true")
    p.add_argument(
        "--modes",
        action="store_true",
        help="the spurious-mode screen (seconds; after every chunk when training)",
    )
    p.add_argument("--betas", type=int, default=14500)
    p.add_argument("--runs", type=int, default=100)
    args = p.parse_args()
    Xtr, Xte, _, _ = real_digits()
    if os.path.exists(args.checkpoint):
        with open(args.checkpoint, "rb") as f:
            # the run's horizon is pickled beside it: a resume keeps it
            model, horizon = pickle.load(f)
    else:
        model = new_model(args, Xtr.shape[0])
        horizon = args.horizon
    start = time.time()
    while (
        time.time() - start < 60 * args.minutes
        and getattr(model, "n_iter_", 0) < horizon
    ):
        t = time.perf_counter()
        done = getattr(model, "n_iter_", 0)
        chunk = min(args.chunk, horizon - done)
        rate = chunk_rate(done, chunk, horizon)
        model.set_params(n_iter=chunk, learning_rate=rate).fit(Xtr)
        save(model, horizon, args.checkpoint)
        print(
            f"epochs {model.n_iter_}, updates {model.t_}, rate {rate:.6f}, "
            f"{time.perf_counter() - t:.0f} s for {chunk} epochs",
            flush=True,
        )
        if args.modes:  # after every chunk: a run shows its first spurious mode
            mode_check(model, Xtr, Xte)
    if args.modes and not args.minutes:
        mode_check(model, Xtr, Xte)
    if args.evaluate:
        for seed in range(args.seeds):
            evaluate(model, Xte, args.betas, args.runs, seed)


if __name__ == "__main__":
    main()
