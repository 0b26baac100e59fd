"""How many threads ember's CPU maths may use (numpy's BLAS: matmul and friends).

The course multiplies small matrices (64 x 1000 by 1000 x 100). For these one BLAS thread is
about as fast as several on an idle machine, and on a busy one (a shared 2-core grader, a laptop
running JupyterLab and a browser) BLAS threads spinning against each other are disastrous: the
same 300-step two-layer-net loop took 1.3 s with one thread and 35 s with two on a loaded 2-core
machine. So `import ember` limits BLAS to one thread, unless you chose otherwise in the
environment: EMBER_NUM_THREADS=n gives n, and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS /
MKL_NUM_THREADS (read by BLAS itself) leave the library's own setting untouched.

    ember.get_num_threads()          # what BLAS uses now
    ember.set_num_threads(4)         # as torch.set_num_threads; at any time

Timing CPU against GPU honestly (assignment 00): set the number of threads you mean to measure,
e.g. `ember.set_num_threads(os.cpu_count())`, and report it with the timings.
"""
from __future__ import annotations

import os

ENV = "EMBER_NUM_THREADS"
BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as e:                      # a declared dependency; say so if it's missing
        raise ImportError("ember.set_num_threads needs the threadpoolctl package "
                          "(pip install threadpoolctl)") from e
    return ThreadpoolController()


def set_num_threads(n: int) -> None:
    """Use `n` threads in numpy's BLAS (matrix products) from now on, in this process."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive integer number of threads, got {n!r}")
    _controller().limit(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads numpy's BLAS uses now (1 if no BLAS library was found)."""
    pools = [p for p in _controller().info() if p.get("user_api") == "blas"]
    return max((int(p["num_threads"]) for p in pools), default=1)


def apply_default() -> None:
    """At import: EMBER_NUM_THREADS if set; else one thread, unless a BLAS variable is set."""
    want = os.environ.get(ENV)
    if want is None and any(v in os.environ for v in BLAS_ENV):
        return
    try:
        n = int(want) if want is not None else 1
    except ValueError:
        raise ValueError(f"{ENV} must be a positive integer, got {want!r}") from None
    try:
        set_num_threads(n)
    except ImportError:
        pass                        # without threadpoolctl BLAS keeps its own default
