"""Helpers shared by the benchmark scripts: timing with alternation and medians."""

import time

import numpy as np


def alternate(funcs, repeats, return_rounds=False):
    """Run each callable once per round, ``repeats`` rounds; median seconds each.

    Alternating A, B, C, A, B, C ... spreads the machine's noise evenly over
    the contenders instead of letting a burst of load hit one of them. With
    ``return_rounds`` also return every round's seconds (name -> list), for
    ratios taken within a round.
    """
    times = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, f in funcs.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    medians = {name: float(np.median(ts)) for name, ts in times.items()}
    return (medians, times) if return_rounds else medians


def synthetic_binary(n, d, density, seed=0, dtype=np.float64):
    """Binary matrix of i.i.d. Bernoulli(density) pixels."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, d)) < density).astype(dtype)


def table(rows, header):
    """Print rows (lists) as an aligned Markdown table."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = (
        "| "
        + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=False))
        + " |"
    )
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(
            "| "
            + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False))
            + " |"
        )


def special_blas_threads(n):
    """Context manager limiting BLAS to ``n`` threads (None: no limit).

    Only for rows labelled as a special setting beside the default row: the
    default row of every benchmark runs skebm as users call it, with no
    thread limit around the call (tests/test_benchmarks_public.py checks that
    ``threadpool_limits`` appears nowhere else).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n)
