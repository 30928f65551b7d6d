"""Training cost: where an epoch goes, full runs, and the thread policy under a competing process.

Problem: synthetic correlated normal returns (2,000 rows), the pipeline's default circuit and
loss (normal prior, ``ry_cz`` reps 10 with full entanglement, Rényi-½, Adam lr 0.02, 3
discriminator steps, batch 1024, metrics every 10 epochs), exact executor, complex128 precision.

Sections (load average and versions printed with every figure; CPU seconds are printed next
to wall seconds because on a shared machine wall time mostly measures the neighbours):

* ``profile``: one epoch at 9, 12 and 15 qubits (3×3, 3×4, 5×3): ms per epoch against ms per
  generator gradient (forward with graph + backward + Adam step, what the Rényi epoch cannot
  avoid), the ratio (target <= 2 at 12 and 15 qubits), and the cProfile top entries of 200 epochs.
* ``runs``: 3 assets × 4 qubits and 5 assets × 3 qubits, 2,000 epochs each (targets: < 15 s
  and < 30 s).
* ``threads``: 200 epochs at 3 × 4 qubits with the thread policy (1 thread) and with torch's
  default (one per core), each on a quiet machine and next to a busy process (a Python spin
  loop pinned to nothing), and the slowdown busy/quiet (target <= 1.5× for the policy).

Run: ``python benchmarks/bench_training.py [--sections profile,runs,threads] [--epochs 2000]``
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import multiprocessing
import os
import platform
import pstats
import time

import numpy as np
import pandas as pd
import torch

from quantum_scenarios.encoding import encode
from quantum_scenarios.gan import training as training_module
from quantum_scenarios.gan.training import train_qgan
from quantum_scenarios.quantum.circuits import build_generator

DEFAULTS = {
    "loss": "renyi",
    "renyi_alpha": 0.5,
    "generator_lr": 0.02,
    "discriminator_steps": 3,
    "batch_size": 1024,
    "discriminator_hidden": (32, 32),
    "metrics_every": 10,
    "seed": 1234,
}


def problem(assets: int, qubits: int, *, seed: int = 0):
    """Encoding and generator of the benchmark problem."""
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(np.zeros(assets), 1e-4 * (np.eye(assets) + 0.3), size=2000)
    encoding = encode(pd.DataFrame(x, columns=[f"A{i}" for i in range(assets)]), num_qubits=qubits)
    generator = build_generator(encoding.loader, ansatz="ry_cz", reps=10, entanglement="full", seed=7)
    return encoding, generator


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def section_profile(args: argparse.Namespace) -> None:
    print("\n== profile: ms per epoch vs ms per generator gradient (median CPU ms; target ratio <= 2 at 12 and 15 qubits) ==")
    signature = inspect.signature(train_qgan)
    base = {k: v.default for k, v in signature.parameters.items() if v.default is not inspect.Parameter.empty}
    for assets, qubits in ((3, 3), (3, 4), (5, 3)):
        encoding, generator = problem(assets, qubits)
        config = {**base, **DEFAULTS, "epochs": 10**6, "executor_options": {}, "betas": [0.7, 0.999],
                  "discriminator_hidden": [32, 32]}
        torch.set_num_threads(1)
        run = training_module._Run(encoding, generator, config)
        epochs, grads, walls = [], [], []
        for k in range(110):
            began, wall = time.process_time(), time.perf_counter()
            run.train_epoch()
            if k >= 10:
                epochs.append(time.process_time() - began)
                walls.append(time.perf_counter() - wall)
        for k in range(60):  # the gradient alone: forward with graph, backward, Adam step
            began = time.process_time()
            run._probabilities = None
            run._generator_phase()
            if k >= 10:
                grads.append(time.process_time() - began)
        epoch, grad = np.median(epochs) * 1e3, np.median(grads) * 1e3
        print(f"  {assets}x{qubits} = {assets * qubits:2d} qubits: epoch {epoch:6.2f} ms CPU ({np.median(walls) * 1e3:6.2f} ms wall), "
              f"gradient {grad:6.2f} ms CPU, epoch/gradient {epoch / grad:4.2f}; {load()}")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(200):
            run.train_epoch()
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.top)
        lines = [ln for ln in text.getvalue().splitlines() if ln.strip() and ("/" in ln or "{" in ln)]
        print("    cProfile, 200 epochs, top by own time (ncalls tottime percall cumtime percall):")
        for line in lines[: args.top]:
            print("     ", line.strip()[:150])


def timed_run(assets: int, qubits: int, epochs: int, **options) -> tuple[float, float, float]:
    encoding, generator = problem(assets, qubits)
    wall, cpu = time.perf_counter(), time.process_time()
    result = train_qgan(encoding, generator, **{**DEFAULTS, "epochs": epochs, **options})
    return time.perf_counter() - wall, time.process_time() - cpu, result.history[-1].kl


def section_runs(args: argparse.Namespace) -> None:
    print(f"\n== runs: {args.epochs} epochs, pipeline defaults, thread policy ==")
    for assets, qubits, target in ((3, 4, 15.0), (5, 3, 30.0)):
        wall, cpu, kl = timed_run(assets, qubits, args.epochs)
        print(f"  {assets} assets x {qubits} qubits: {wall:7.1f} s wall, {cpu:7.1f} s CPU (target < {target:g} s), "
              f"final KL {kl:.4f}; {load()}")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def section_threads(args: argparse.Namespace) -> None:
    epochs = args.thread_epochs
    cores = len(os.sched_getaffinity(0))
    print(f"\n== threads: {epochs} epochs at 3 x 4 qubits, quiet vs next to one busy process ({cores} CPUs) ==")
    results = {}
    timed_run(3, 4, 20)  # warm-up: first-call costs (lazy imports, allocator) stay out of the comparison
    for label, threads in (("policy (1 thread)", None), (f"torch default ({cores} threads)", cores)):
        for busy in (False, True):
            spinner = None
            if busy:
                spinner = multiprocessing.get_context("spawn").Process(target=_spin, args=(600.0,), daemon=True)
                spinner.start()
                time.sleep(0.5)
            try:
                wall, cpu, _ = timed_run(3, 4, epochs, threads=threads)
            finally:
                if spinner is not None:
                    spinner.terminate()
                    spinner.join()
            results[(label, busy)] = wall
            print(f"  {label:28s} {'busy' if busy else 'quiet':5s}: {wall:7.2f} s wall, {cpu:6.2f} s CPU; {load()}")
        print(f"  {label:28s} slowdown busy/quiet: {results[(label, True)] / results[(label, False)]:.2f}x (target <= 1.5x)")
    policy_busy = results[("policy (1 thread)", True)]
    default_busy = results[(f"torch default ({cores} threads)", True)]
    print(f"  next to a busy process, torch default / policy: {default_busy / policy_busy:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="profile,runs,threads")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--thread-epochs", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}; "
          f"CPUs {len(os.sched_getaffinity(0))}; {load()} {os.getloadavg()}")
    sections = {"profile": section_profile, "runs": section_runs, "threads": section_threads}
    for name in args.sections.split(","):
        sections[name](args)


if __name__ == "__main__":
    main()
