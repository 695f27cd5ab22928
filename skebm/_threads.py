"""BLAS thread policy of the hot loops, and the public switch that turns it off.

What was measured on the 2-core machines this project runs on, in the
configuration users have (no environment variable, no ``threadpool_limits``;
``benchmarks/bench_threads.py``, ``benchmarks/RESULTS.md`` section 1t):

- A skebm process loads two OpenBLAS libraries, numpy's and scipy's (the
  training loops call scipy's ``gemm`` for the fused gradient product), each
  with its own pool of worker threads. OpenBLAS workers busy-wait for a while
  after every call. With both pools threaded, a 2-core machine carries the
  main thread plus two spinning workers, and the minibatch loop, which
  alternates short products with element-wise work, ran 2-3x slower than with
  one thread (RBM, 500 hidden, batch 100: 1.6 s against 0.73 s per epoch).
- With only *one* library threaded (numpy's; scipy's at one thread) the same
  loop is faster than both one thread and both threaded (0.61 s): the products
  gain from the second core and nothing is left spinning against the
  element-wise work.
- Small products (one minibatch product below ``SMALL_PRODUCT`` multiply-adds)
  gain nothing from a second thread and collapse by one or two orders of
  magnitude while another CPU-heavy process runs (the workers spin and are
  descheduled), so loops of small products run single-threaded, and
  parallelism over chains comes from joblib workers (``n_jobs``) or, for
  ``sample`` and AIS left at ``n_jobs=None``, from Python threads over their
  blocks of chains (``_sampling.block_threads``: numpy releases the GIL, and a
  waiting Python thread does not spin).
- The Bernoulli RBM's training loop sends *all* its products to scipy's BLAS
  (``_cd._product_``: the fused statistics product needs ``gemm``'s alpha and
  beta, which numpy's ``matmul`` lacks), so for large products there it is
  scipy's pool that keeps its threads and numpy's runs one
  (``library="scipy"``). With the statistics product on a one-thread scipy
  and the rest on a two-thread numpy, a PCD-1 epoch at batch >= 100 cost
  1.23-1.92x the bare products at two threads; with every product on a
  two-thread scipy, 0.96-1.21x (``benchmarks/RESULTS.md`` section 1b',
  session 38). ``SMALL_PRODUCT`` came down from 2.1e7 to 1.5e7 then, so that
  batch 100 x 784 x 256 is threaded too (its epoch: 1.51-1.62x the fastest
  bare products single-threaded, 1.06-1.22x threaded). The price, measured:
  with one other CPU-bound process running, the threaded RBM fits take
  1.6-2.1x the one-thread time.

So each hot loop says how large its products are, and :func:`blas_threads_for`
applies that rule. The rule only ever *lowers* thread counts, so a user's own
``threadpool_limits`` around a call still holds; ``set_config(blas_threads=
"inherit")`` switches the rule off altogether (the thread counts are then
whatever the process has).
"""

import contextlib
import os

__all__ = ["config_context", "get_config", "set_config"]

# Multiply-adds of one matrix product below which one BLAS thread is used:
# 100 x 784 x 256 = 2.0e7 is above it, 10 x 784 x 1000 = 7.8e6 below.
SMALL_PRODUCT = 1.5e7

_BLAS_THREADS = ("auto", "inherit")
_config = {"blas_threads": "auto"}

_controller = None
_secondary = None
_primary = None


def get_config():
    """The current values of skebm's global settings.

    Returns
    -------
    config : dict
        ``{"blas_threads": "auto" | "inherit"}``; see :func:`set_config`.
    """
    return dict(_config)


def set_config(blas_threads=None):
    """Set skebm's global settings (in this process).

    Parameters
    ----------
    blas_threads : {"auto", "inherit"}, default=None
        ``"auto"`` (the default): each training, sampling and evaluation loop
        picks its BLAS threads by the measured rule of skebm's thread policy
        (one thread for small products; for large ones numpy's BLAS keeps its
        threads and scipy's, when it is a second library, runs one).
        ``"inherit"``: skebm leaves every thread pool as it finds it and starts
        no threads of its own, for users who manage threads themselves.
        ``None`` leaves the setting unchanged.
    """
    if blas_threads is not None:
        if blas_threads not in _BLAS_THREADS:
            raise ValueError(
                f"blas_threads must be one of {_BLAS_THREADS}; got {blas_threads!r}."
            )
        _config["blas_threads"] = blas_threads


@contextlib.contextmanager
def config_context(*, blas_threads=None):
    """Context manager for :func:`set_config`: the old settings come back on exit.

    Parameters
    ----------
    blas_threads : {"auto", "inherit"}, default=None
        See :func:`set_config`.

    Examples
    --------
    >>> import skebm
    >>> with skebm.config_context(blas_threads="inherit"):
    ...     skebm.get_config()["blas_threads"]
    'inherit'
    >>> skebm.get_config()["blas_threads"]
    'auto'
    """
    old = get_config()
    set_config(blas_threads=blas_threads)
    try:
        yield
    finally:
        set_config(**old)


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def _secondary_blas():
    """The BLAS libraries loaded besides numpy's (scipy's own, if separate).

    Returns a ThreadpoolController over them, or None when numpy and scipy
    share one library (e.g. one MKL or a system OpenBLAS): then there is no
    second pool to keep quiet. Looked up once per process.
    """
    global _secondary
    if _secondary is None:
        import scipy

        ctl = _get_controller().select(user_api="blas")
        scipy_dir = os.path.dirname(scipy.__file__)  # also prefixes scipy.libs/
        paths = [
            lib.filepath
            for lib in ctl.lib_controllers
            if (lib.filepath or "").startswith(scipy_dir)
        ]
        others = len(ctl.lib_controllers) - len(paths)
        _secondary = (ctl.select(filepath=paths),) if paths and others else (None,)
    return _secondary[0]


def _primary_blas():
    """The BLAS libraries other than scipy's own (numpy's), or None when
    numpy and scipy share one library. Looked up once per process."""
    global _primary
    if _primary is None:
        secondary = _secondary_blas()
        if secondary is None:
            _primary = (None,)
        else:
            quiet = {lib.filepath for lib in secondary.lib_controllers}
            ctl = _get_controller().select(user_api="blas")
            paths = [lib.filepath for lib in ctl.lib_controllers]
            _primary = (ctl.select(filepath=[p for p in paths if p not in quiet]),)
    return _primary[0]


def blas_threads_for(work, library="numpy"):
    """Context manager applying the thread policy to a loop of products.

    Parameters
    ----------
    work : float or None
        Multiply-adds of the loop's largest single matrix product (e.g.
        batch x n_visible x n_hidden); ``None`` for loops of small products
        or element-wise work (chains, AIS, pseudo-likelihood).
    library : {"numpy", "scipy"}, default="numpy"
        Whose BLAS the loop's products run in (numpy's ``matmul`` or
        ``scipy.linalg.blas``): above the threshold that library keeps its
        threads and the other runs one.

    Costs a few microseconds (the library list is read once per process).
    """
    if _config["blas_threads"] == "inherit":
        return contextlib.nullcontext()
    if work is not None and work >= SMALL_PRODUCT:
        quiet = _secondary_blas() if library == "numpy" else _primary_blas()
        if quiet is None:
            return contextlib.nullcontext()
        return quiet.limit(limits=1)
    return _get_controller().limit(limits=1, user_api="blas")
