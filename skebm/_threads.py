"""BLAS thread control for the hot loops.

Measured on the 2-core machines this project runs on: OpenBLAS's two threads
speed up a large product about 1.9x on an idle machine, but while another
CPU-heavy process runs they spin and get descheduled and small products slow
down by one or two orders of magnitude (a whole demo went from 12 s to 86 s).
One thread is about as fast for small products and robust, so the minibatch
loops, Gibbs chains and AIS run their BLAS calls single-threaded below a work
threshold, and parallelism over chains comes from joblib workers instead.
"""

import contextlib

# Multiply-adds of one matrix product below which one BLAS thread is used:
# 100 x 784 x 256 = 2.0e7 is the largest "small" minibatch product.
SMALL_PRODUCT = 2.1e7

_controller = None


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def blas_threads_for(work):
    """Context manager: one BLAS thread if ``work`` multiply-adds are small.

    Costs a few microseconds (the library list is read once per process).
    """
    if work is not None and work >= SMALL_PRODUCT:
        return contextlib.nullcontext()
    return _get_controller().limit(limits=1, user_api="blas")
