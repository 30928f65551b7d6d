"""Benchmark: our exact executor and qGAN loop against the qiskit-machine-learning PyTorch qGAN tutorial.

The problem is the tutorial's ("PyTorch qGAN Implementation", qiskit-machine-learning docs):
a 2-D standard normal evaluated on an 8x8 grid over [-2, 2]^2 (3 qubits per dimension);
generator = H on all 6 qubits + ``efficient_su2(6, reps=6)`` (84 parameters); discriminator
2 -> 20 -> 1 (LeakyReLU 0.2, sigmoid); Adam lr 0.01, betas (0.7, 0.999), weight_decay 0.005.

Contenders, in one process:

(a) qiskit-ML exactly as in the tutorial: ``SamplerQNN`` on ``StatevectorSampler()`` wrapped in
    ``TorchConnector``; its gradients come from the sampler's parameter-shift gradient.
(b) ours: the same circuit on the ``exact`` executor (differentiable PyTorch statevector), and
    ``train_qgan`` with its defaults.

It prints the generator-gradient time per step (forward + backward of the probability-weighted
generator loss) for both and their ratio at 6, 10 and 14 qubits (``efficient_su2(n, reps=6)``),
the epochs and wall time ours needs to reach exact KL(target‖generator) <= 0.05, and the exact
KL the tutorial setup reaches after its 50 epochs, with its wall time.

Run: ``python benchmarks/bench_vs_qiskit_ml.py`` (about three minutes on 2 cores, most of it
spent in the qiskit-ML contender). ``--quick`` skips 14 qubits and the tutorial's training.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from qiskit import QuantumCircuit
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import Statevector
from scipy.stats import entropy, multivariate_normal

from quantum_scenarios.encoding import Encoding, encode
from quantum_scenarios.gan.discriminator import Discriminator
from quantum_scenarios.gan.losses import generator_loss
from quantum_scenarios.gan.training import train_qgan
from quantum_scenarios.evaluation import kl_divergence
from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import make_executor

TUTORIAL_SEED = 123456
KL_TARGET = 0.05


# -- the tutorial's problem ----------------------------------------------------------------------


def tutorial_grid(qubits_per_dim: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's grid and target: ``grid_elements`` (x fastest) and the normalised pdf on it."""
    coords = np.linspace(-2, 2, 2**qubits_per_dim)
    grid = np.transpose([np.tile(coords, len(coords)), np.repeat(coords, len(coords))])
    pdf = multivariate_normal(mean=[0.0, 0.0], cov=[[1, 0], [0, 1]]).pdf(grid)
    return grid, pdf / pdf.sum()


def tutorial_encoding() -> Encoding:
    """The tutorial problem as our :class:`Encoding`: 8 bins per dimension centred on ``linspace(-2, 2, 8)``.

    The target is the tutorial's normalised pdf evaluated at our bin centres (our basis order puts
    dimension 0 in the most significant qubits; the target is symmetric, so the vector is the
    tutorial's). The prior loader is ``uniform``: H on every qubit, as in the tutorial.
    """
    half = 2.0 / 7.0  # half a bin: edges at -2 - 2/7, ..., 2 + 2/7 put the centres on linspace(-2, 2, 8)
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 2)), columns=["x0", "x1"])
    encoding = encode(frame, num_qubits=3, bounds=[(-2 - half, 2 + half)] * 2, loader="uniform", transform="standard_normal")
    pdf = multivariate_normal(mean=[0.0, 0.0], cov=[[1, 0], [0, 1]]).pdf(encoding.values())
    encoding.target = pdf / pdf.sum()
    return encoding


def tutorial_circuit(num_qubits: int) -> QuantumCircuit:
    """H on all qubits followed by ``efficient_su2(num_qubits, reps=6)`` (the tutorial's generator)."""
    circuit = QuantumCircuit(num_qubits)
    circuit.h(circuit.qubits)
    circuit.compose(efficient_su2(num_qubits, reps=6), inplace=True)
    return circuit


class TutorialDiscriminator(torch.nn.Module):
    """The tutorial's discriminator: 2 -> 20 -> 1 with LeakyReLU(0.2) and a sigmoid."""

    def __init__(self, input_size: int = 2) -> None:
        super().__init__()
        self.linear_input = torch.nn.Linear(input_size, 20)
        self.leaky_relu = torch.nn.LeakyReLU(0.2)
        self.linear20 = torch.nn.Linear(20, 1)
        self.sigmoid = torch.nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.linear20(self.leaky_relu(self.linear_input(x))))


def adversarial_loss(inputs: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The tutorial's weighted BCE."""
    bce = target * torch.log(inputs) + (1 - target) * torch.log(1 - inputs)
    return -torch.sum(weights * bce)


# -- contender (a): qiskit-machine-learning --------------------------------------------------------


def qiskit_ml_generator(circuit: QuantumCircuit) -> torch.nn.Module:
    """``TorchConnector(SamplerQNN(circuit, StatevectorSampler()))`` as the tutorial builds it."""
    from qiskit.primitives import StatevectorSampler as Sampler
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import SamplerQNN
    from qiskit_machine_learning.utils import algorithm_globals

    qnn = SamplerQNN(circuit=circuit, sampler=Sampler(), input_params=[], weight_params=circuit.parameters, sparse=False)
    initial_weights = algorithm_globals.random.random(circuit.num_parameters)
    return TorchConnector(qnn, initial_weights)


def qiskit_ml_step(num_qubits: int) -> Callable[[], None]:
    """One generator-gradient step of the tutorial: forward the QNN, weighted BCE, backward."""
    circuit = tutorial_circuit(num_qubits)
    generator = qiskit_ml_generator(circuit)
    grid, _ = tutorial_grid(num_qubits // 2)
    disc_value = TutorialDiscriminator()(torch.tensor(grid, dtype=torch.float)).detach()
    valid = torch.ones(2**num_qubits, 1, dtype=torch.float)

    def step() -> None:
        generator.zero_grad()
        gen_dist = generator(torch.tensor([])).reshape(-1, 1)
        adversarial_loss(disc_value, valid, gen_dist).backward()

    return step


# -- contender (b): ours ---------------------------------------------------------------------------


def our_step(num_qubits: int) -> Callable[[], None]:
    """One generator-gradient step of ours: exact probabilities, weighted BCE, autograd backward."""
    loader = QuantumCircuit(num_qubits)
    loader.h(range(num_qubits))
    generator = build_generator(loader, ansatz="efficient_su2", reps=6, entanglement="reverse_linear", seed=0, init_scale=1.0)
    executor = make_executor("exact", generator)
    grid, _ = tutorial_grid(num_qubits // 2)
    with torch.no_grad():
        logits = Discriminator([[-2.0, 2.0], [-2.0, 2.0]], (20,)).logits(torch.as_tensor(grid))
    theta = torch.nn.Parameter(torch.as_tensor(generator.initial_point))

    def step() -> None:
        theta.grad = None
        generator_loss(executor.probabilities(theta), logits).backward()

    return step


def time_step(step: Callable[[], None], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Best and median wall time of ``step`` over ``repeats`` calls, after ``warmup`` untimed calls.

    The best time is :mod:`timeit`'s estimate of the intrinsic cost (other load only adds to a
    run); the median shows what a training loop sees on a busy machine.
    """
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


# -- training --------------------------------------------------------------------------------------


def train_tutorial(epochs: int = 50) -> dict[str, float]:
    """The tutorial's training loop, verbatim apart from plotting; returns KLs and wall time."""
    from qiskit_machine_learning.utils import algorithm_globals

    algorithm_globals.random_seed = TUTORIAL_SEED
    torch.manual_seed(TUTORIAL_SEED)
    grid, prob_data = tutorial_grid(3)
    circuit = tutorial_circuit(6)
    generator = qiskit_ml_generator(circuit)
    discriminator = TutorialDiscriminator(2)
    generator_optimizer = torch.optim.Adam(generator.parameters(), lr=0.01, betas=(0.7, 0.999), weight_decay=0.005)
    discriminator_optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.01, betas=(0.7, 0.999), weight_decay=0.005)
    outputs = len(prob_data)
    relative_entropy = []
    start = time.perf_counter()
    for _ in range(epochs):
        valid = torch.ones(outputs, 1, dtype=torch.float)
        fake = torch.zeros(outputs, 1, dtype=torch.float)
        real_dist = torch.tensor(prob_data, dtype=torch.float).reshape(-1, 1)
        samples = torch.tensor(grid, dtype=torch.float)
        disc_value = discriminator(samples)
        gen_dist = generator(torch.tensor([])).reshape(-1, 1)

        generator_optimizer.zero_grad()
        generator_loss_value = adversarial_loss(disc_value, valid, gen_dist)
        generator_loss_value.backward(retain_graph=True)
        generator_optimizer.step()

        discriminator_optimizer.zero_grad()
        real_loss = adversarial_loss(disc_value, valid, real_dist)
        fake_loss = adversarial_loss(disc_value, fake, gen_dist.detach())
        ((real_loss + fake_loss) / 2).backward()
        discriminator_optimizer.step()
        relative_entropy.append(entropy(gen_dist.detach().squeeze().numpy(), prob_data))
    seconds = time.perf_counter() - start
    weights = generator.weight.detach().numpy()
    exact = Statevector(circuit.assign_parameters(dict(zip(circuit.parameters, weights)))).probabilities()
    return {
        "seconds": seconds,
        "kl_target_gen": kl_divergence(prob_data, exact),
        "kl_gen_target": kl_divergence(exact, prob_data),
        "tutorial_relative_entropy": float(relative_entropy[-1]),
    }


def train_ours(seed: int = 0) -> dict[str, float]:
    """``train_qgan`` with its defaults on the tutorial problem, until exact KL <= 0.05."""
    encoding = tutorial_encoding()
    generator = build_generator(encoding.loader, ansatz="efficient_su2", reps=6, entanglement="reverse_linear", seed=0)
    result = train_qgan(encoding, generator, epochs=2000, kl_tolerance=KL_TARGET, seed=seed)
    return {
        "epochs": result.epochs_run,
        "seconds": result.seconds,
        "kl": result.history[-1].kl,
        "reached": result.stopped_early,
        "ms_per_epoch": 1000 * statistics.median(r.seconds for r in result.history),
    }


# -- report ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip 14 qubits and the tutorial's 50-epoch training")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds of ours to report (default 3)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    sizes = [(6, 5, 200), (10, 3, 100)] + ([] if args.quick else [(14, 1, 20)])  # (qubits, qiskit-ML reps, our reps)
    print("\nGenerator gradient per step (forward + backward of -Σ p_θ(x) log D(x)), H + efficient_su2(n, reps=6):")
    print(f"{'':>14} {'qiskit-ML [s]':>19} {'ours [ms]':>17} {'speed-up':>17}")
    print(f"{'qubits params':>14} {'best':>9} {'median':>9} {'best':>8} {'median':>8} {'best':>8} {'median':>8}")
    ratios = {}
    for n, qml_repeats, our_repeats in sizes:
        ours = time_step(our_step(n), our_repeats, warmup=3)
        theirs = time_step(qiskit_ml_step(n), qml_repeats, warmup=1 if n < 14 else 0)
        ratios[n] = theirs[0] / ours[0]
        print(
            f"{n:>6} {14 * n:>7} {theirs[0]:>9.3f} {theirs[1]:>9.3f} {1000 * ours[0]:>8.3f} {1000 * ours[1]:>8.3f} "
            f"{ratios[n]:>7.0f}x {theirs[1] / ours[1]:>7.0f}x",
            flush=True,
        )

    print(f"\nOurs (train_qgan defaults, exact executor) until exact KL(target‖generator) <= {KL_TARGET}:")
    runs = [train_ours(seed) for seed in range(args.seeds)]
    for seed, run in enumerate(runs):
        status = "reached" if run["reached"] else "NOT reached"
        print(
            f"  seed {seed}: {status} KL {run['kl']:.4f} after {run['epochs']} epochs in {run['seconds']:.2f} s "
            f"({run['ms_per_epoch']:.2f} ms/epoch)",
            flush=True,
        )

    tutorial = None
    if not args.quick:
        print("\nqiskit-ML tutorial setup, 50 epochs:")
        tutorial = train_tutorial(50)
        print(
            f"  exact KL(target‖generator) {tutorial['kl_target_gen']:.4f}, exact KL(generator‖target) "
            f"{tutorial['kl_gen_target']:.4f}, tutorial's sampled relative entropy {tutorial['tutorial_relative_entropy']:.4f}; "
            f"wall time {tutorial['seconds']:.1f} s"
        )

    print("\nTargets:")
    print(f"  >= 300x at 6 qubits (best times):   {ratios[6]:.0f}x  {'PASS' if ratios[6] >= 300 else 'FAIL'}")
    if 14 in ratios:
        print(f"  >= 1000x at 14 qubits (best times): {ratios[14]:.0f}x  {'PASS' if ratios[14] >= 1000 else 'FAIL'}")
    worst = max(r["seconds"] if r["reached"] else float("inf") for r in runs)
    print(f"  KL <= {KL_TARGET} in < 10 s: slowest seed {worst:.2f} s  {'PASS' if worst < 10 else 'FAIL'}")


if __name__ == "__main__":
    main()
