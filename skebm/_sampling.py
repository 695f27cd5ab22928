"""Model-agnostic machinery: seeding, parallel Gibbs chains, AIS.

A model plugs in through two small protocols.

Chain model (for :func:`run_chains`): an object with
``init_state(v0)`` -> state from visible rows ``v0`` (n, n_features),
``random_visible(n, rng)`` -> a random starting visible configuration,
``step_(state, rng)`` -> one full Gibbs sweep, updating ``state`` in place,
``visible(state, probabilities)`` -> (n, n_features) array of the state.

Annealing path (for :func:`run_ais`): an object with ``log_z0``,
``sample_base(n, rng)``, ``from_visible(v)``, ``delta_log_f(state, b0, b1)``
(= log p*_{b1} - log p*_{b0} per chain) and ``step_(state, beta, rng)``.
"""

import numbers
from concurrent.futures import BrokenExecutor

import joblib
import numpy as np
from joblib import Parallel, delayed

from ._threads import _config, _get_controller, blas_threads_for

# Within a block BLAS runs single-threaded (see _threads.py); blocks of chains
# run in parallel over joblib workers.
# Chains are split into blocks whose size depends on the number of chains only,
# never on n_jobs: each block gets its own SeedSequence child, so the output is
# bit-identical whatever the number of workers.
_MIN_BLOCK = 32
_MAX_BLOCKS = 64


def run_parallel(jobs, *, n_jobs, what, **parallel_kw):
    """``joblib.Parallel(n_jobs=n_jobs, **parallel_kw)(jobs)`` that never
    returns part of a run.

    A worker process that dies (killed, out of memory) breaks joblib's
    process pool; that is re-raised as a ``RuntimeError`` naming ``what`` was
    running, with the pool's error as its cause, so no caller can mistake the
    blocks that did finish for the whole result. With
    ``return_as="generator"`` the results still stream, and the error comes
    where the lost block would have.
    """
    try:
        parts = Parallel(n_jobs=n_jobs, **parallel_kw)(jobs)
    except BrokenExecutor as err:
        raise _worker_lost(what) from err
    if parallel_kw.get("return_as") == "generator":
        return _guarded(parts, what)
    return parts


def _guarded(parts, what):
    try:
        yield from parts
    except BrokenExecutor as err:
        raise _worker_lost(what) from err


def block_threads(n_jobs, n_blocks):
    """Python threads to run blocks of chains on, or 0 to run them as asked.

    Measured (``benchmarks/bench_threads.py``): a block of ~33 chains makes
    products too small for a second BLAS thread, and threaded BLAS pools that
    spin collapse on a busy machine; but numpy releases the GIL inside its
    products, element-wise work and random draws, so two blocks run side by
    side on two threads (about 1.45x on 2 cores), and a waiting Python thread
    does not spin. So when the caller left ``n_jobs`` at None and set no
    joblib backend, the blocks run on as many threads as numpy's BLAS pool
    allows (1 inside ``threadpool_limits(1)`` or a joblib worker, so never
    oversubscribed) and the machine has cores. The blocks, and so the
    result, are the same whatever the number of threads.
    """
    if n_jobs is not None or n_blocks < 2 or _config["blas_threads"] == "inherit":
        return 0
    backend, context_jobs = joblib.parallel.get_active_backend()
    if context_jobs is not None or type(backend).__name__ != "LokyBackend":
        return 0  # the user chose how to parallelise: Parallel honours it
    blas = [
        lib.num_threads
        for lib in _get_controller().select(user_api="blas").lib_controllers
    ]
    threads = min(n_blocks, joblib.cpu_count(), max(blas, default=1))
    return threads if threads > 1 else 0


def _run_blocks(block, block_inner, args, n_jobs, what, verbose):
    """``block(*a)`` for every ``a`` in ``args``, in order: inline for one
    block, else on threads (:func:`block_threads`), else on joblib workers.

    ``block`` sets the one-thread BLAS limit itself (as a worker must);
    threads run ``block_inner`` under one limit set here, because
    threadpoolctl's limit is process-wide. Joblib reports blocks as they
    finish when ``verbose``.
    """
    if len(args) == 1:
        return [block(*args[0])]
    verbose = 10 if verbose else 0
    threads = block_threads(n_jobs, len(args))
    if not threads:
        jobs = (delayed(block)(*a) for a in args)
        return run_parallel(jobs, n_jobs=n_jobs, what=what, verbose=verbose)
    with blas_threads_for(None):
        jobs = (delayed(block_inner)(*a) for a in args)
        return run_parallel(
            jobs, n_jobs=threads, what=what, prefer="threads", verbose=verbose
        )


def _worker_lost(what):
    return RuntimeError(
        f"{what} stopped: a joblib worker process died before its block "
        "finished (killed, or out of memory), so no result is returned. "
        "Run it again, with n_jobs=1 if memory is short."
    )


def seed_sequence(random_state):
    """A ``numpy.random.SeedSequence`` from any scikit-learn ``random_state``.

    int -> ``SeedSequence(int)``; None -> fresh OS entropy; a ``Generator`` or
    ``RandomState`` -> one draw from it (so it advances, like scikit-learn's
    use of a passed ``RandomState``); a ``SeedSequence`` is used as is.
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, numbers.Integral):
        return np.random.SeedSequence(int(random_state))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(random_state.randint(0, 2**31, size=4).tolist())
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or RandomState; "
        f"got {random_state!r}"
    )


def make_generator(random_state):
    """The generator a fit draws from.

    An int or None gives a fresh ``Generator`` (PCG64 seeded through a
    ``SeedSequence``); a ``Generator`` is used as is; a legacy ``RandomState``
    is also used as is so that the random stream matches scikit-learn's.
    """
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    return np.random.default_rng(seed_sequence(random_state))


def chain_blocks(n):
    """Sizes of the blocks ``n`` chains are split into (depends on ``n`` only).

    About ``n / 32`` blocks (at most 64) of nearly equal size, so that each
    block is large enough to vectorise well and the blocks balance over workers.
    """
    n_blocks = max(1, min(_MAX_BLOCKS, n // _MIN_BLOCK))
    base, extra = divmod(n, n_blocks)
    return [base + (i < extra) for i in range(n_blocks)]


def _run_block(model, n, n_steps, v0, thin, probabilities, seed):
    with blas_threads_for(None):
        return _run_block_inner(model, n, n_steps, v0, thin, probabilities, seed)


def _run_block_inner(model, n, n_steps, v0, thin, probabilities, seed):
    rng = np.random.default_rng(seed)
    if v0 is None:
        v0 = model.random_visible(n, rng)
    state = model.init_state(v0)
    kept = []
    for step in range(1, n_steps + 1):
        model.step_(state, rng)
        if thin and step % thin == 0:
            kept.append(model.visible(state, probabilities))
    if thin:
        return np.stack(kept, axis=1) if kept else np.empty((n, 0, v0.shape[1]))
    return model.visible(state, probabilities)


def run_chains(
    model,
    n_samples,
    n_steps,
    *,
    init=None,
    thin=None,
    probabilities=False,
    n_jobs=None,
    random_state=None,
    verbose=0,
):
    """Run ``n_samples`` independent Gibbs chains; return their visible states.

    Chains are vectorised within a block and blocks are spread over joblib
    workers (honouring ``joblib.parallel_backend``). Block ``i`` is seeded by
    the ``i``-th child of one ``SeedSequence`` made from ``random_state``, so
    the result is identical for every ``n_jobs``.

    Returns
    -------
    samples : ndarray of shape (n_samples, n_features), or
        (n_samples, n_steps // thin, n_features) when ``thin`` is given.
    """
    sizes = chain_blocks(n_samples)
    seeds = seed_sequence(random_state).spawn(len(sizes))
    starts = np.cumsum([0] + sizes)
    if init is not None:
        rows = np.arange(n_samples) % init.shape[0]
        blocks_v0 = [
            init[rows[s:e]] for s, e in zip(starts[:-1], starts[1:], strict=False)
        ]
    else:
        blocks_v0 = [None] * len(sizes)
    args = [
        (model, n, n_steps, v0, thin, probabilities, seed)
        for n, v0, seed in zip(sizes, blocks_v0, seeds, strict=False)
    ]
    parts = _run_blocks(_run_block, _run_block_inner, args, n_jobs, "sampling", verbose)
    return np.concatenate(parts, axis=0)


def _ais_block(path, betas, n, v0, seed):
    with blas_threads_for(None):
        return _ais_block_inner(path, betas, n, v0, seed)


def _ais_block_inner(path, betas, n, v0, seed):
    rng = np.random.default_rng(seed)
    state = path.sample_base(n, rng) if v0 is None else path.from_visible(v0)
    log_w = np.zeros(n)
    K = len(betas) - 1
    for k in range(1, K + 1):
        log_w += path.delta_log_f(state, betas[k - 1], betas[k])
        if k < K:
            path.step_(state, betas[k], rng)
    return log_w


def run_ais(
    path, betas, n_runs, *, init=None, n_jobs=None, random_state=None, verbose=0
):
    """Importance log-weights of ``n_runs`` annealing runs along ``betas``.

    Forward AIS starts each run from the base model (``init=None``) with betas
    rising from 0 to 1; reverse AIS passes states of the target model as
    ``init`` and betas falling from 1 to 0. Blocks of runs are seeded and
    spread over workers as in :func:`run_chains` (n_jobs-invariant).

    Returns
    -------
    log_w : ndarray of shape (n_runs,)
    """
    betas = np.asarray(betas, dtype=np.float64)
    sizes = chain_blocks(n_runs)
    seeds = seed_sequence(random_state).spawn(len(sizes))
    starts = np.cumsum([0] + sizes)
    v0s = [
        None if init is None else init[s:e]
        for s, e in zip(starts[:-1], starts[1:], strict=False)
    ]
    args = [
        (path, betas, n, v0, seed)
        for n, v0, seed in zip(sizes, v0s, seeds, strict=False)
    ]
    parts = _run_blocks(
        _ais_block,
        _ais_block_inner,
        args,
        n_jobs,
        "annealed importance sampling",
        verbose,
    )
    return np.concatenate(parts)
