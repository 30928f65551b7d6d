"""The exact executor's generator gradient: time, memory-traffic bound, peak memory, build, batching.

Problem (issue 10): an H loader on every qubit, then ``ry_cz`` with reps 6 and linear
entanglement (about 7n parameters); the gradient of ``Σ w·p`` (forward probabilities and the
adjoint backward pass). One torch thread unless ``--threads``; medians of repeats.

Sections (all printed side by side, with the load average and versions):

* ``gradient``: ms per gradient at 6–20 qubits for ``complex128`` and ``complex64`` precision
  (a real circuit runs in float64 / float32) and, for reference, forced complex arithmetic
  (``real=False``); the memory-traffic bound of the issue (8 state transfers per layer, forward
  plus backward, complex128 state, at ``--bandwidth`` GB/s) and our ratio to it.
* ``memory``: in a fresh subprocess per case, peak RSS above the process's baseline (after
  imports) of building the executor plus one forward and backward at 20 qubits, and the build time.
* ``batch``: gradients per second at 10 qubits for batches of 1, 8, 16 and 32 parameter sets.
* ``chunks``: CPU ms per gradient for each ``max_chunk_qubits`` from 2 to 6 at 7–20 qubits, on
  the benchmark circuit and on the pipeline's default (``ry_cz`` reps 10, full entanglement),
  the contenders alternating; the default of :class:`ExactExecutor` is marked ``*``.
* ``--device cuda``: 20–28 qubits, complex64 and complex128 precision, ms per gradient and peak
  GPU memory (``torch.cuda.max_memory_allocated``). Needs a CUDA GPU; none was available where
  this was written.

Run: ``python benchmarks/bench_executor.py [--sections gradient,memory,batch] [--max-qubits 20]``
or ``python benchmarks/bench_executor.py --device cuda``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

import numpy as np
import torch
from qiskit import QuantumCircuit

from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import ExactExecutor

STATE_TRANSFERS_PER_LAYER = 8  # the traffic model: forward plus backward
BANDWIDTH_GBS = 23.6  # measured copy bandwidth of the development machine (issue 10)


def generator_for(num_qubits: int, reps: int = 6, entanglement: str = "linear"):
    """H loader + ry_cz ansatz, the issue's benchmark circuit."""
    loader = QuantumCircuit(num_qubits)
    loader.h(range(num_qubits))
    return build_generator(loader, ansatz="ry_cz", reps=reps, entanglement=entanglement, seed=0, init_scale=np.pi)


def traffic_bound_seconds(num_qubits: int, layers: int, bandwidth: float, bytes_per_amplitude: int = 16) -> float:
    """Seconds to move ``8`` states per layer at ``bandwidth`` GB/s (complex128 state by default)."""
    return layers * STATE_TRANSFERS_PER_LAYER * 2**num_qubits * bytes_per_amplitude / (bandwidth * 1e9)


def time_gradient(executor: ExactExecutor, *, batch: int = 1, repeats: int, device: str = "cpu") -> float:
    """Median seconds of one forward + backward of ``Σ w·p`` for a batch of parameter sets.

    CPU seconds of this process on the CPU (on a shared machine wall time mostly measures the
    neighbours; torch runs single-threaded here unless ``--threads``), wall seconds on a GPU.
    """
    n, generator = executor.num_qubits, executor.generator
    rng = np.random.default_rng(0)
    weights = torch.as_tensor(rng.normal(size=2**n), dtype=executor.real_dtype, device=device)
    start = np.tile(generator.initial_point, (batch, 1)) + rng.normal(scale=0.1, size=(batch, generator.num_parameters))
    theta = torch.tensor(start if batch > 1 else start[0], dtype=executor.real_dtype, device=device, requires_grad=True)
    times = []
    clock = time.perf_counter if device == "cuda" else time.process_time
    for k in range(repeats + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        began = clock()
        theta.grad = None
        (executor.probabilities(theta) @ weights).sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()
        if k >= 2:  # warm-up excluded
            times.append(clock() - began)
    return float(np.median(times))


def header(threads: int) -> None:
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}; "
        f"{threads} torch thread(s); CPUs {len(os.sched_getaffinity(0))}; load average {os.getloadavg()}"
    )


def section_gradient(args: argparse.Namespace) -> None:
    print("\n== gradient: CPU ms per gradient (median), traffic bound (complex128 state, 8 transfers/layer) ==")
    print(f"{'n':>3} {'P':>4} {'c128 (f64)':>11} {'c64 (f32)':>10} {'complex':>9} {'bound':>8} "
          f"{'c128/bound':>10} {'f64 bound':>9} {'c128/f64b':>9} {'build s':>8} load")
    for n in [q for q in (6, 10, 14, 16, 18, 20) if q <= args.max_qubits]:
        generator = generator_for(n)
        began = time.perf_counter()
        ours = ExactExecutor(generator)
        build = time.perf_counter() - began
        single = ExactExecutor(generator, dtype="complex64")
        forced = ExactExecutor(generator, real=False)
        repeats = args.repeats if n <= 14 else max(3, args.repeats // 20)
        t128, t64 = time_gradient(ours, repeats=repeats), time_gradient(single, repeats=repeats)
        tcx = time_gradient(forced, repeats=repeats) if n <= 18 else float("nan")
        layers = ours.layered.num_layers
        bound = traffic_bound_seconds(n, layers, args.bandwidth)
        bound_real = traffic_bound_seconds(n, layers, args.bandwidth, bytes_per_amplitude=8)
        print(f"{n:>3} {generator.num_parameters:>4} {t128 * 1e3:>11.2f} {t64 * 1e3:>10.2f} {tcx * 1e3:>9.2f} "
              f"{bound * 1e3:>8.2f} {t128 / bound:>9.1f}x {bound_real * 1e3:>9.2f} {t128 / bound_real:>8.1f}x "
              f"{build:>8.2f} {os.getloadavg()[0]:.2f}")


_MEMORY_CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from benchmarks.bench_executor import generator_for
from quantum_scenarios.quantum.executors import ExactExecutor
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
n, real, entanglement = {n}, {real}, {entanglement!r}
generator = generator_for(n, entanglement=entanglement)
warm = ExactExecutor(generator_for(8))  # torch/BLAS one-time buffers belong to the baseline
(warm.probabilities(torch.tensor(warm.generator.initial_point, requires_grad=True)).sum()).backward()
def high_water():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
base = rss()
peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:  # reset the high-water mark, so an import-time peak does not hide ours
    open("/proc/self/clear_refs", "w").write("5")
    peak_before = 0
except OSError:
    pass
began = time.perf_counter()
executor = ExactExecutor(generator, real=real)
build = time.perf_counter() - began
theta = torch.tensor(generator.initial_point, dtype=executor.real_dtype, requires_grad=True)
weights = torch.as_tensor(np.random.default_rng(0).normal(size=2**n), dtype=executor.real_dtype)
began = time.perf_counter()
(executor.probabilities(theta) @ weights).backward()
grad = time.perf_counter() - began
peak = high_water() if peak_before == 0 else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"build": build, "grad": grad, "base": base, "peak": peak, "peak_before": peak_before,
                  "dtype": str(executor.compute_dtype)}}))
"""


def section_memory(args: argparse.Namespace) -> None:
    n = min(20, args.max_qubits)
    state_mb = 2**n * 16 / 2**20
    print(f"\n== memory: peak RSS above baseline, build + one forward/backward, {n} qubits "
          f"(a complex128 state is {state_mb:.0f} MiB); target <= 300 MB, build < 5 s ==")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for real, entanglement in ((None, "linear"), (False, "linear"), (None, "full")):
        code = _MEMORY_CHILD.format(root=root, n=n, real=real, entanglement=entanglement)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=root)
        if out.returncode:
            print(f"  real={real} {entanglement}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        above = (r["peak"] - max(r["base"], r["peak_before"])) / 1e6
        print(f"  ry_cz reps 6 {entanglement:>6}, real={str(real):5} ({r['dtype']:>14}): peak above baseline "
              f"{above:7.1f} MB = {above * 1e6 / 2**n / 16:5.1f} complex128 states; build {r['build']:.2f} s; "
              f"first gradient {r['grad']:.2f} s; load {os.getloadavg()[0]:.2f}")


def section_batch(args: argparse.Namespace) -> None:
    n = 10
    executor = ExactExecutor(generator_for(n))
    print(f"\n== batch: gradients per second at {n} qubits (target: non-decreasing from 8 to 32) ==")
    for batch in (1, 8, 16, 32):
        seconds = time_gradient(executor, batch=batch, repeats=args.repeats)
        print(f"  batch {batch:>2}: {batch / seconds:8.0f} gradients/s ({seconds * 1e3:.2f} ms per batch); "
              f"load {os.getloadavg()[0]:.2f}")


def section_chunks(args: argparse.Namespace) -> None:
    print("\n== chunks: CPU ms per gradient (median) by max_chunk_qubits; * marks the default ==")
    widths = (2, 3, 4, 5, 6)
    print(f"{'circuit':>22} {'n':>3} " + " ".join(f"{w:>7}" for w in widths) + "  load")
    for n in [q for q in (7, 9, 10, 12, 14, 15, 16, 18, 20) if q <= args.max_qubits]:
        for label, reps, entanglement in (("ry_cz reps 6 linear", 6, "linear"), ("ry_cz reps 10 full", 10, "full")):
            generator = generator_for(n, reps=reps, entanglement=entanglement)
            default = ExactExecutor(generator)._engine.chunks
            executors = {w: ExactExecutor(generator, max_chunk_qubits=w) for w in widths}
            repeats = args.repeats if n <= 14 else max(3, args.repeats // 10) if n <= 16 else 3
            times: dict[int, list[float]] = {w: [] for w in widths}
            for _ in range(3):  # rounds, the widths alternating within each
                for w, executor in executors.items():
                    times[w].append(time_gradient(executor, repeats=max(1, repeats // 3)))
            cells = [f"{np.median(times[w]) * 1e3:6.2f}{'*' if executors[w]._engine.chunks == default else ' '}" for w in widths]
            print(f"{label:>22} {n:>3} " + " ".join(cells) + f"  {os.getloadavg()[0]:.2f}")


def section_cuda(args: argparse.Namespace) -> None:
    if not torch.cuda.is_available():
        print("no CUDA device: torch.cuda.is_available() is False")
        return
    print(f"\n== cuda: {torch.cuda.get_device_name()} ms per gradient and peak GPU memory ==")
    for n in range(20, 29, 2):
        generator = generator_for(n)
        for dtype in ("complex64", "complex128"):
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            try:
                executor = ExactExecutor(generator, dtype=dtype, device="cuda")
                seconds = time_gradient(executor, repeats=3, device="cuda")
            except torch.OutOfMemoryError:
                print(f"  {n} qubits {dtype}: out of GPU memory")
                continue
            peak = torch.cuda.max_memory_allocated() / 2**20
            state = 2**n * executor.compute_dtype.itemsize / 2**20
            print(f"  {n} qubits {dtype} ({executor.compute_dtype}): {seconds * 1e3:9.2f} ms, peak {peak:9.0f} MiB "
                  f"({peak / state:.1f} states)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="gradient,memory,batch")
    parser.add_argument("--max-qubits", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--bandwidth", type=float, default=BANDWIDTH_GBS, help="GB/s of the traffic bound")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    header(args.threads)
    if args.device == "cuda":
        section_cuda(args)
        return
    sections = {"gradient": section_gradient, "memory": section_memory, "batch": section_batch, "chunks": section_chunks}
    for name in args.sections.split(","):
        sections[name](args)


if __name__ == "__main__":
    main()
