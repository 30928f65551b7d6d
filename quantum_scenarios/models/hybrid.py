"""Hybrid mode: a quantum latent and a classical PyTorch decoder (the seed architecture).

A parameterised circuit on ``n`` latent qubits (Hadamard layer + ``ry_cz`` ansatz) defines a
distribution ``p_theta(b)`` over ``2**n`` bitstrings; a measured bitstring ``b`` (as ``+-1``)
and Gaussian noise ``eps`` go through an MLP decoder to continuous ``d``-dimensional values,
so no binning of the data is needed. The generator is a mixture of ``2**n`` decoder
components whose weights the circuit learns.

Training is adversarial against the qGAN's discriminator
(:class:`~quantum_scenarios.gan.discriminator.Discriminator`). The generator loss is the
exact expectation over bitstrings, ``sum_b p_theta(b) E_eps[-log D(G(b, eps))]``, with
``p_theta`` from the differentiable exact executor, so gradients reach the circuit angles and
the decoder weights in one backward pass (no sampling noise on the quantum side). Early
stopping uses the validation split of the training period: every ``check_every`` epochs the
model's draws are histogrammed on a grid over the training range and scored by
``KL(validation || model)``; the best state is kept.
"""

from __future__ import annotations

import copy
import resource
import time
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quantum_scenarios.evaluation.distances import kl_divergence
from quantum_scenarios.models.base import ScenarioModel, check_values
from quantum_scenarios.models.training import chronological_split

__all__ = ["HybridModel"]


class HybridModel(ScenarioModel):
    """Quantum latent (``latent_qubits``) + MLP decoder, trained as a GAN.

    Args:
        latent_qubits: Qubits of the latent circuit (``2**n`` mixture components).
        reps: ``ry_cz`` repetitions of the latent circuit.
        noise_dim: Gaussian noise dimensions fed to the decoder beside the bitstring.
        hidden: Decoder hidden widths.
        discriminator_hidden: Discriminator hidden widths (the qGAN's default).
        epochs, batch_size: Training epochs and real minibatch size.
        samples_per_state: Decoder samples per bitstring in the generator loss.
        generator_lr, circuit_lr, discriminator_lr, betas, discriminator_steps: Adam settings.
        validation_fraction, check_every, patience, max_seconds: Early stopping as in copula mode.
        grid_bins: Bins per asset of the validation histogram.
        seed: Seed of weights, angles, noise and minibatches.
    """

    mode = "hybrid"

    def __init__(
        self,
        *,
        latent_qubits: int = 4,
        reps: int = 4,
        noise_dim: int = 2,
        hidden: tuple[int, ...] = (64, 64),
        discriminator_hidden: tuple[int, ...] = (32, 32),
        epochs: int = 1500,
        batch_size: int = 512,
        samples_per_state: int = 32,
        generator_lr: float = 2e-3,
        circuit_lr: float = 0.02,
        discriminator_lr: float = 0.01,
        betas: tuple[float, float] = (0.5, 0.999),
        discriminator_steps: int = 2,
        validation_fraction: float = 0.2,
        check_every: int = 100,
        patience: int = 4,
        max_seconds: float | None = None,
        grid_bins: int = 8,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not 1 <= latent_qubits <= 10:
            raise ValueError(f"latent_qubits must be between 1 and 10; received {latent_qubits}")
        self.latent_qubits = int(latent_qubits)
        self.reps = int(reps)
        self.noise_dim = int(noise_dim)
        self.hidden = tuple(int(h) for h in hidden)
        self.discriminator_hidden = tuple(int(h) for h in discriminator_hidden)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.samples_per_state = int(samples_per_state)
        self.lrs = (float(generator_lr), float(circuit_lr), float(discriminator_lr))
        self.betas = (float(betas[0]), float(betas[1]))
        self.discriminator_steps = int(discriminator_steps)
        self.validation_fraction = float(validation_fraction)
        self.check_every = int(check_every)
        self.patience = int(patience)
        self.max_seconds = max_seconds
        self.grid_bins = int(grid_bins)
        self.seed = int(seed)

    # -- pieces ----------------------------------------------------------------------------------

    def _build(self, d: int, bounds: np.ndarray) -> None:
        import torch
        from qiskit import QuantumCircuit
        from torch import nn

        from quantum_scenarios.gan.discriminator import Discriminator
        from quantum_scenarios.quantum.circuits import build_generator
        from quantum_scenarios.quantum.executors import make_executor

        torch.manual_seed(self.seed)
        loader = QuantumCircuit(self.latent_qubits, name="uniform_latent")
        loader.h(range(self.latent_qubits))
        self.circuit = build_generator(loader, ansatz="ry_cz", reps=self.reps, entanglement="full", seed=self.seed)
        self.executor = make_executor("exact", self.circuit)
        self.theta = torch.nn.Parameter(torch.as_tensor(np.array(self.circuit.initial_point, dtype=float)))
        states = np.arange(2**self.latent_qubits)
        bits = (states[:, None] >> np.arange(self.latent_qubits)[::-1]) & 1
        self.codes = torch.as_tensor(2.0 * bits - 1.0)  # (2**n, n), +-1
        layers: list[nn.Module] = []
        width = self.latent_qubits + self.noise_dim
        for h in self.hidden:
            layers += [nn.Linear(width, h, dtype=torch.float64), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, d, dtype=torch.float64))
        self.decoder = nn.Sequential(*layers)
        self.centre = torch.as_tensor(bounds.mean(axis=1))
        self.half = torch.as_tensor((bounds[:, 1] - bounds[:, 0]) / 2)
        self.discriminator = Discriminator(bounds, hidden=self.discriminator_hidden)

    def _decode(self, codes: Any, noise: Any) -> Any:
        import torch

        return self.centre + self.half * self.decoder(torch.cat([codes, noise], dim=1))

    def latent_probabilities(self) -> np.ndarray:
        """``p_theta(b)`` over the ``2**n`` latent bitstrings."""
        import torch

        with torch.no_grad():
            return self.executor.probabilities(self.theta).cpu().numpy().astype(float)

    # -- fit -------------------------------------------------------------------------------------

    def fit(self, train: ArrayLike | pd.DataFrame) -> "HybridModel":
        import torch
        from torch.nn.functional import logsigmoid

        x, self.assets = check_values(train)
        fit_rows, validation_rows = chronological_split(x, self.validation_fraction)
        low, high = np.quantile(x, 0.005, axis=0), np.quantile(x, 0.995, axis=0)
        pad = 0.1 * (high - low)
        bounds = np.column_stack([low - pad, high + pad])
        self._build(x.shape[1], bounds)
        edges = [np.linspace(lo, hi, self.grid_bins + 1) for lo, hi in bounds]
        selection_rows = validation_rows if validation_rows is not None else fit_rows
        selection_hist = self._histogram(selection_rows, edges)
        rng = np.random.default_rng(self.seed)
        g_lr, c_lr, d_lr = self.lrs
        opt_g = torch.optim.Adam(
            [{"params": self.decoder.parameters(), "lr": g_lr}, {"params": [self.theta], "lr": c_lr}], betas=self.betas
        )
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=d_lr, betas=self.betas)
        data = torch.as_tensor(np.array(fit_rows, dtype=float))
        n_states = self.codes.shape[0]
        started = time.perf_counter()
        tracemalloc.start()
        best: tuple[float, int, dict[str, Any]] | None = None
        stale = 0
        self.validation: list[tuple[int, float]] = []
        epoch = 0
        try:
            for epoch in range(1, self.epochs + 1):
                for _ in range(self.discriminator_steps):
                    real = data[torch.as_tensor(rng.integers(0, len(fit_rows), size=self.batch_size))]
                    with torch.no_grad():
                        fake = torch.as_tensor(self._sample(self.batch_size, rng))
                    loss_d = -(logsigmoid(self.discriminator.logits(real)).mean()
                               + logsigmoid(-self.discriminator.logits(fake)).mean())
                    opt_d.zero_grad()
                    loss_d.backward()
                    opt_d.step()
                p = self.executor.probabilities(self.theta)  # differentiable, (2**n,)
                codes = self.codes.repeat_interleave(self.samples_per_state, dim=0)
                noise = torch.as_tensor(rng.standard_normal((codes.shape[0], self.noise_dim)))
                per_sample = -logsigmoid(self.discriminator.logits(self._decode(codes, noise)))
                loss_g = (p * per_sample.reshape(n_states, self.samples_per_state).mean(dim=1)).sum()
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                if epoch % self.check_every == 0 or epoch == self.epochs:
                    draws = self._sample(20_000, np.random.default_rng(self.seed + epoch))
                    score = float(kl_divergence(selection_hist, self._histogram(draws, edges) + 1e-12))
                    self.validation.append((epoch, score))
                    if best is None or score < best[0] - 1e-6:
                        state = {"decoder": copy.deepcopy(self.decoder.state_dict()), "theta": self.theta.detach().clone()}
                        best, stale = (score, epoch, state), 0
                    else:
                        stale += 1
                    if stale >= self.patience:
                        break
                    if self.max_seconds is not None and time.perf_counter() - started >= self.max_seconds:
                        break
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert best is not None
        self.decoder.load_state_dict(best[2]["decoder"])
        with torch.no_grad():
            self.theta.copy_(best[2]["theta"])
        self.best_epoch, self.epochs_run = best[1], epoch
        self.seconds = time.perf_counter() - started
        self.peak_memory_mb = peak / 2**20
        self.max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.fitted = True
        return self

    @staticmethod
    def _histogram(x: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
        clipped = np.column_stack([np.clip(x[:, j], e[0], e[-1] - 1e-12) for j, e in enumerate(edges)])
        counts = np.histogramdd(clipped, bins=edges)[0].ravel()
        return counts / counts.sum()

    def _sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        import torch

        p = self.latent_probabilities()
        states = rng.choice(p.size, size=k, p=p / p.sum())
        noise = torch.as_tensor(rng.standard_normal((k, self.noise_dim)))
        with torch.no_grad():
            return self._decode(self.codes[torch.as_tensor(states)], noise).numpy().copy()

    def _draw(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self._sample(k, rng)

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "latent_qubits": self.latent_qubits,
            "reps": self.reps,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "epochs_to_convergence": self.best_epoch,
            "seconds": self.seconds,
            "peak_memory_mb": self.peak_memory_mb,
            "max_rss_mb": self.max_rss_mb,
            "num_parameters": int(self.circuit.num_parameters + sum(p.numel() for p in self.decoder.parameters())),
            "num_qubits": self.latent_qubits,
            "validation_kl": [round(v, 6) for _, v in self.validation],
        }
