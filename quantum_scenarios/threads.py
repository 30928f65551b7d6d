"""Thread policy: how many intra-op threads torch may use. One place, called by every entry point.

Why a policy: the exact executor's work per torch op is small below about 2**18 amplitudes, so
a second OpenMP thread costs more in synchronisation than it saves, and on a shared machine a
parallel region waits for whichever of its threads the OS has descheduled. Measured on the
2-core development machine with one other busy process, torch's default (one thread per core)
made training 15× slower than one thread (issue 10; ``benchmarks/bench_training.py`` prints the
figures side by side).

The rules, in order:

1. An explicit request (``requested``, e.g. ``ExecutorConfig.threads``) wins, capped by rule 4.
2. Inside a Dask worker: one thread (the workers already fill the cores).
3. States below 2**:data:`MULTI_THREAD_MIN_QUBITS` amplitudes: one thread. At or above, as many
   threads as there are cores idle (CPU affinity minus the 1-minute load average of other
   processes, at least one).
4. Never more than the CPUs the process may run on (``os.sched_getaffinity``).

Call :func:`apply_thread_policy` at an entry point (the CLI, :func:`~quantum_scenarios.gan.
training.train_qgan`, each Prefect task that trains); :func:`thread_policy` is the same as a
context manager that restores the previous setting.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "MULTI_THREAD_MIN_QUBITS",
    "apply_process_policy",
    "apply_thread_policy",
    "choose_threads",
    "cpu_budget",
    "in_dask_worker",
    "thread_policy",
]

MULTI_THREAD_MIN_QUBITS = 18
"""Below this many qubits the exact executor runs on one thread (``benchmarks/bench_training.py``:
at 12–16 qubits two threads were 4–6× slower than one on the shared 2-core machine)."""


def cpu_budget() -> int:
    """CPUs this process may run on: its CPU affinity (``os.cpu_count()`` where affinity is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def in_dask_worker() -> bool:
    """Whether this code runs inside a Dask distributed worker (without importing Dask)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except (ValueError, AttributeError):
        return False
    return True


def _idle_cores(budget: int) -> int:
    try:
        load = os.getloadavg()[0]
    except OSError:
        return budget
    others = max(0.0, load - 1.0)  # this process is running: it counts for one
    return max(1, min(budget, int(budget - others + 0.5)))


def choose_threads(num_qubits: int | None = None, *, requested: int | None = None) -> int:
    """The number of intra-op threads the policy gives a computation on ``num_qubits`` qubits.

    Args:
        num_qubits: Width of the largest state the computation holds; None: no quantum state
            (one thread, unless requested).
        requested: An explicit thread count (>= 1), or None to apply the rules.

    Returns:
        A thread count between 1 and :func:`cpu_budget`.

    Raises:
        ValueError: ``requested`` or ``num_qubits`` is not a positive integer.
    """
    for name, value in (("requested", requested), ("num_qubits", num_qubits)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be None or an integer >= 1, received {value!r}")
    budget = cpu_budget()
    if requested is not None:
        return min(requested, budget)
    if in_dask_worker() or num_qubits is None or num_qubits < MULTI_THREAD_MIN_QUBITS:
        return 1
    return _idle_cores(budget)


def apply_thread_policy(num_qubits: int | None = None, *, requested: int | None = None) -> int:
    """Set torch's intra-op threads by :func:`choose_threads` and return the number set."""
    import torch

    threads = choose_threads(num_qubits, requested=requested)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


@contextmanager
def thread_policy(num_qubits: int | None = None, *, requested: int | None = None) -> Iterator[int]:
    """:func:`apply_thread_policy` for the duration of a ``with`` block, then the previous setting."""
    import torch

    previous = torch.get_num_threads()
    try:
        yield apply_thread_policy(num_qubits, requested=requested)
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def apply_process_policy() -> None:
    """At a process entry point (the CLI): one thread for every OpenMP/BLAS pool not set by the user.

    Sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` to 1 where unset
    (they reach child processes too: the Prefect server, Dask workers), and torch's threads by
    :func:`apply_thread_policy` if torch is already imported. Training then raises torch's
    threads where the policy allows (large states on idle cores).
    """
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    if "torch" in sys.modules:
        apply_thread_policy()
