"""Time the exact executor's generator gradient (forward probabilities + backward of Σ w·p).

Problem: H on every qubit followed by ``efficient_su2(n, reps=6)`` (the qiskit-machine-learning
qGAN tutorial generator), at 6 qubits (84 parameters) and 14 qubits (196 parameters).
Targets on the 2-core CPU: < 3 ms at 6 qubits, < 40 ms at 14 qubits.

Run: ``python benchmarks/bench_executor.py [--repeats 200] [--threads 1]``

Threads: the work per torch op is small at these sizes, so one intra-op thread is the
default. On a 2-core machine shared with other processes, two threads (torch's default
here) make OpenMP/MKL parallel regions wait for a descheduled thread and the timings
become erratic; pass ``--threads 2`` to measure that setting.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from qiskit import QuantumCircuit

from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import ExactExecutor


def time_gradient(num_qubits: int, *, reps: int = 6, repeats: int = 100, dtype: str = "complex128", seed: int = 0) -> tuple[float, int]:
    """Median seconds per generator gradient, and the parameter count."""
    loader = QuantumCircuit(num_qubits)
    loader.h(range(num_qubits))
    generator = build_generator(loader, ansatz="efficient_su2", reps=reps, entanglement="reverse_linear", seed=seed, init_scale=np.pi)
    executor = ExactExecutor(generator, dtype=dtype)
    rng = np.random.default_rng(seed)
    weights = torch.as_tensor(rng.normal(size=2**num_qubits), dtype=executor.real_dtype)
    theta = torch.tensor(generator.initial_point, dtype=executor.real_dtype, requires_grad=True)
    times = []
    for k in range(repeats + 10):
        start = time.perf_counter()
        theta.grad = None
        loss = (executor.probabilities(theta) * weights).sum()
        loss.backward()
        if k >= 10:  # warm-up excluded
            times.append(time.perf_counter() - start)
    return float(np.median(times)), generator.num_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), complex128, median of repeats")
    for num_qubits, target_ms in ((6, 3.0), (10, None), (14, 40.0)):
        repeats = args.repeats if num_qubits <= 10 else max(10, args.repeats // 10)
        seconds, params = time_gradient(num_qubits, repeats=repeats)
        target = f"(target < {target_ms:g} ms)" if target_ms else ""
        print(f"exact gradient, {num_qubits:2d} qubits, {params:3d} parameters: {seconds * 1e3:8.3f} ms {target}")


if __name__ == "__main__":
    main()
