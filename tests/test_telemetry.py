"""Tests for quantum_scenarios.quantum.telemetry and the shot budget of training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qiskit import QuantumCircuit

from quantum_scenarios.encoding import encode
from quantum_scenarios.gan.training import train_qgan
from quantum_scenarios.quantum import hardware as hw
from quantum_scenarios.quantum.circuits import build_generator
from quantum_scenarios.quantum.executors import AerExecutor, ExactExecutor, fake_backend
from quantum_scenarios.quantum.telemetry import (
    check_budget,
    execution_summary,
    gradient_snr,
    shot_variance,
    shots_spent,
)


@pytest.fixture(scope="module")
def encoding():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=800) * 0.01, columns=["A", "B"])
    return encode(frame, num_qubits=2, loader="normal")


def test_budget_rule():
    assert check_budget(0, 0, None) is None
    assert check_budget(0, 0, 100) is None  # the first epoch always runs
    assert check_budget(60, 30, 100) is None
    assert "shot budget of 100 shots reached: 80 spent, the next epoch needs about 30" in check_budget(80, 30, 100)
    assert check_budget(100, 0, 100) is not None


def test_shot_budget_stops_at_the_last_completed_epoch_with_a_valid_model(encoding):
    generator = build_generator(encoding.loader, ansatz="ry_cz", reps=1, entanglement="linear", seed=1)
    common = dict(executor="aer", optimizer="adam", loss="renyi", renyi_alpha=0.5, shots=64, seed=3,
                  discriminator_steps=1)
    probe = train_qgan(encoding, generator, epochs=1, **common)
    per_epoch = probe.telemetry["shots"]
    assert per_epoch > 0
    budget = int(3.5 * per_epoch)
    result = train_qgan(encoding, generator, epochs=20, shot_budget=budget, **common)
    assert result.epochs_run == 3 and len(result.history) == 3
    assert result.telemetry["shots"] <= budget and result.telemetry["shot_budget"] == budget
    assert "shot budget of" in result.stop_reason
    assert result.probabilities.shape == (16,) and result.probabilities.sum() == pytest.approx(1.0)
    assert np.all(np.isfinite(result.theta))
    # the partial run is the same run as the first three epochs of an unbudgeted one
    full = train_qgan(encoding, generator, epochs=3, **common)
    np.testing.assert_allclose(result.theta, full.theta, atol=0)
    assert full.stop_reason is None
    with pytest.raises(ValueError, match="shot_budget must be >= 1"):
        train_qgan(encoding, generator, epochs=1, shot_budget=0, **common)


def test_execution_summary_and_shot_statistics(encoding):
    prior = QuantumCircuit(3)
    prior.h(range(3))
    generator = hw.build_hardware_generator(prior, fake_backend("FakeManilaV2"), reps=1, seed=0, init_scale=1.0)
    aer = AerExecutor(generator, shots=500, seed=2, idle_noise=False)
    variance = shot_variance(aer, generator.initial_point, repeats=6, seed=1)
    assert variance["shots"] == 500
    assert 0.3 < variance["ratio"] < 3.0  # shot noise explains the spread (multinomial)
    snr = gradient_snr(aer, generator.initial_point, np.arange(8.0), repeats=4, seed=1)
    assert snr["repeats"] == 4 and snr["mean_std"] > 0 and np.isfinite(snr["median_snr"])
    summary = execution_summary(aer)
    assert summary["jobs"] == 6 + 4 and summary["circuits"] == 6 + 4 * 2 * generator.num_parameters
    assert summary["shots"] == 500 * summary["circuits"] == shots_spent(aer)
    assert summary["job_success_rate"] == 1.0 and summary["mean_latency_s"] > 0
    assert summary["noise_backend"] == "fake_manila" and summary["seeds"]["count"] == 10
    exact = ExactExecutor(build_generator(QuantumCircuit(2), reps=1))
    assert shots_spent(exact) == 0 and execution_summary(exact)["jobs"] == 0
    deterministic = gradient_snr(exact, np.full(exact.num_parameters, 0.3), np.arange(4.0), repeats=2)
    assert deterministic["mean_std"] == 0
    with pytest.raises(ValueError, match="repeats must be >= 2"):
        shot_variance(aer, generator.initial_point, repeats=1)


def test_warm_start_continues_from_given_parameters(encoding):
    generator = build_generator(encoding.loader, ansatz="ry_cz", reps=1, entanglement="linear", seed=1)
    exact = train_qgan(encoding, generator, executor="exact", loss="renyi", renyi_alpha=0.5, epochs=30, seed=0,
                       generator_lr=0.05)
    warm = train_qgan(encoding, generator, executor="exact", loss="renyi", renyi_alpha=0.5, epochs=1, seed=0,
                      initial_theta=exact.theta, generator_lr=1e-9)
    np.testing.assert_allclose(warm.theta, exact.theta, atol=1e-6)
    assert warm.history[0].kl == pytest.approx(exact.history[-1].kl, abs=1e-6)
    assert warm.config["initial_theta"] == pytest.approx(list(exact.theta))
    with pytest.raises(ValueError, match="theta must have shape"):
        train_qgan(encoding, generator, epochs=1, initial_theta=[0.0])
