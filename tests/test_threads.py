"""Tests of the thread policy (quantum_scenarios.threads)."""

from __future__ import annotations

import os
import sys
import types

import pytest
import torch

from quantum_scenarios import threads
from quantum_scenarios.threads import MULTI_THREAD_MIN_QUBITS, apply_thread_policy, choose_threads, cpu_budget, thread_policy


@pytest.fixture
def four_idle_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # this process only


def test_small_states_get_one_thread_and_large_states_the_idle_cores(four_idle_cpus: None) -> None:
    assert cpu_budget() == 4
    assert choose_threads(None) == 1
    assert choose_threads(MULTI_THREAD_MIN_QUBITS - 1) == 1
    assert choose_threads(MULTI_THREAD_MIN_QUBITS) == 4


def test_busy_cores_and_dask_workers_get_fewer_threads(four_idle_cpus: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (3.2, 3.0, 3.0))  # two other busy processes
    assert choose_threads(20) == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert choose_threads(20) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    worker = types.SimpleNamespace(get_worker=lambda: object())
    monkeypatch.setitem(sys.modules, "distributed", worker)
    assert threads.in_dask_worker() and choose_threads(24) == 1

    def outside() -> None:
        raise ValueError("No worker found")

    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(get_worker=outside))
    assert not threads.in_dask_worker() and choose_threads(24) == 4


def test_requests_are_capped_by_the_cpu_affinity(four_idle_cpus: None) -> None:
    assert choose_threads(10, requested=3) == 3
    assert choose_threads(10, requested=64) == 4
    with pytest.raises(ValueError, match=r"requested must be None or an integer >= 1, received 0"):
        choose_threads(10, requested=0)
    with pytest.raises(ValueError, match=r"num_qubits must be None or an integer >= 1, received 2.5"):
        choose_threads(2.5)


def test_apply_and_context_manager_set_and_restore_torch_threads() -> None:
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(min(2, cpu_budget()))
        start = torch.get_num_threads()
        with thread_policy(8) as chosen:
            assert chosen == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == start
        assert apply_thread_policy(4) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_process_policy_sets_unset_pools_to_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the user's choice stays
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    previous = torch.get_num_threads()
    try:
        threads.apply_process_policy()
        assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert os.environ["MKL_NUM_THREADS"] == "3"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)
