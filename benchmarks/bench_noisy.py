"""Noise-aware training and the differentiable noisy executor, side by side with Aer.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_noisy.py [--epochs 500] [--device FakeGuadalupeV2]``

Prints, from one process:

1. Transpiled 2-qubit gate count at 6 qubits (3 assets × 2 qubits, bundled data): today's default
   generator (normal loader, ``ry_cz``, 10 reps, full entanglement, transpiled at level 1 as the
   ``aer`` executor did) against the hardware profile (marginals prior, device CZ ansatz, 2 reps,
   level 3 with the chosen layout); target ≤ 1/5. Also the prior's fidelity cost.
2. One noisy gradient at 6 and 8 qubits: ``exact_noisy`` (forward + autograd backward) against
   Aer density matrix + parameter shift (``aer_density``, all 2P points in one job), and their
   agreement.
3. Noise-aware training: ``--epochs`` Adam epochs of the 6-qubit hardware profile on the fake
   device's noise with ``exact_noisy`` (target: 500 epochs < 5 minutes), with the fidelity to the
   training histogram before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from importlib import metadata

import numpy as np
import torch

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation.distances import classical_fidelity
from quantum_scenarios.gan.training import train_qgan
from quantum_scenarios.market.sources import ingest
from quantum_scenarios.quantum import hardware as hw
from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import AerDensityExecutor, fake_backend
from quantum_scenarios.quantum.noisy import NoisyDensityMatrixExecutor


def versions() -> str:
    names = ("qiskit", "qiskit-aer", "qiskit-ibm-runtime", "torch", "numpy")
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def encoding_for(num_qubits: int):
    market = ingest("bundled")
    return encode(market.returns, num_qubits=num_qubits, loader="normal")


def hardware_generator(encoded, backend, *, prior: str = "marginals", reps: int = 2, seed: int = 0):
    loader = hw.shallow_prior(encoded.loader, encoded.prior, encoded.grid_shape, prior)
    return hw.build_hardware_generator(loader, backend, reps=reps, seed=seed)


def section_depth(backend) -> None:
    encoded = encoding_for(2)
    default = build_generator(encoded.loader, ansatz="ry_cz", reps=10, entanglement="full", seed=7)
    today = hw.circuit_statistics(default, backend)
    ours = hw.circuit_statistics(hardware_generator(encoded, backend), backend)
    t, o = today["transpiled"], ours["transpiled"]
    print("\n[1] transpiled 2-qubit gates, 6 qubits on", backend.name)
    print(f"    default generator : 2q {t['two_qubit_gates']:5d}  depth {t['depth']:5d}  ESP {t['estimated_success_probability']:.3g}")
    print(f"    hardware profile  : 2q {o['two_qubit_gates']:5d}  depth {o['depth']:5d}  ESP {o['estimated_success_probability']:.3g}")
    ratio = o["two_qubit_gates"] / t["two_qubit_gates"]
    print(f"    ratio {ratio:.4f} (target <= 0.2: {'met' if ratio <= 0.2 else 'MISSED'})")
    for kind in hw.PRIORS:
        prior = hw.shallow_prior(encoded.loader, encoded.prior, encoded.grid_shape, kind)
        f = hw.prior_fidelity(prior, encoded.prior, encoded.target)
        g = hw.build_hardware_generator(prior, backend, reps=2)
        s = hw.circuit_statistics(g, backend)["transpiled"]
        print(f"    prior {kind:9s}: fidelity to loader {f['fidelity_to_loader']:.4f}, to data {f['fidelity_to_target']:.4f}; "
              f"hardware-profile 2q {s['two_qubit_gates']}")


def section_gradient(backend) -> None:
    print("\n[2] one noisy gradient: exact_noisy (autograd) vs Aer density matrix + parameter shift")
    for qubits_per_asset, assets in ((2, 3), (4, 2)):
        market = ingest("bundled")
        encoded = encode(market.returns.iloc[:, :assets], num_qubits=qubits_per_asset, loader="normal")
        generator = hardware_generator(encoded, backend)
        n = generator.num_qubits
        weights = np.random.default_rng(0).normal(size=2**n)
        theta = generator.initial_point
        ours = NoisyDensityMatrixExecutor(generator, backend=backend)
        aer = AerDensityExecutor(generator)
        ours.parameter_shift_gradient(theta, weights)  # warm-up
        started = time.perf_counter()
        g_ours = ours.parameter_shift_gradient(theta, weights)
        t_ours = time.perf_counter() - started
        started = time.perf_counter()
        g_aer = aer.parameter_shift_gradient(theta, weights)
        t_aer = time.perf_counter() - started
        print(f"    {n} qubits ({ours.num_active_qubits} active, P={generator.num_parameters}): exact_noisy {t_ours*1e3:8.1f} ms, "
              f"aer_density+shift {t_aer*1e3:8.1f} ms, speed-up {t_aer/t_ours:6.1f}x, max |Δgrad| {np.abs(g_ours-g_aer).max():.1e}")


def section_training(backend, epochs: int) -> None:
    encoded = encoding_for(2)
    generator = hardware_generator(encoded, backend)
    executor = NoisyDensityMatrixExecutor(generator, backend=backend)
    f0 = classical_fidelity(encoded.target, executor.probabilities(generator.initial_point).detach().numpy())
    started = time.perf_counter()
    result = train_qgan(
        encoded, generator, executor="exact_noisy", executor_options={"backend": backend.name},
        optimizer="adam", loss="renyi", renyi_alpha=0.5, epochs=epochs, generator_lr=0.02, seed=1,
    )
    seconds = time.perf_counter() - started
    print(f"\n[3] noise-aware training, {generator.num_qubits} qubits on {backend.name} noise, Adam, exact_noisy")
    print(f"    {result.epochs_run} epochs in {seconds:.1f} s ({seconds / result.epochs_run * 1e3:.1f} ms/epoch); "
          f"target 500 epochs < 300 s: {'met' if seconds * 500 / result.epochs_run < 300 else 'MISSED'}")
    print(f"    noisy fidelity to the training histogram: {f0:.4f} at start -> {result.history[-1].fidelity:.4f}")
    print("    (today: about 60 s per epoch with executor=aer, 128 shots, default generator -> ~8 h for 500 epochs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--device", default="FakeGuadalupeV2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    backend = fake_backend(args.device)
    print(f"load {os.getloadavg()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; {versions()}")
    section_depth(backend)
    section_gradient(backend)
    section_training(backend, args.epochs)
    print(f"\nload at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
