"""Quantum telemetry: what a run executed and how noisy its estimates were.

The figures of the operations guide, per run:

* circuits and shots executed (calibration included), jobs, job success rate, mean job latency;
* the transpiled circuit's depth and 2-qubit gate count, active qubits, estimated success
  probability (from :func:`~quantum_scenarios.quantum.hardware.circuit_statistics`);
* gradient signal-to-noise: per parameter ``|mean| / std`` of the parameter-shift gradient over
  repeated shot estimates (:func:`gradient_snr`);
* shot variance: the variance of the estimated probabilities over repeats, next to the multinomial
  value ``p(1−p)/shots`` it should equal (:func:`shot_variance`);
* the shot budget and whether it stopped the run.

Executors expose what they ran through a ``ledger`` (:class:`~quantum_scenarios.quantum.mitigation.SamplerLedger`);
exact executors have none and run no shots.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def shots_spent(executor: Any) -> int:
    """Shots an executor has run so far, readout calibration included (0 for exact executors)."""
    ledger = getattr(executor, "ledger", None)
    spent = int(ledger.shots) if ledger is not None else 0
    readout = getattr(executor, "readout", None)
    if readout is not None:
        spent += int(readout.calibration_shots)
    return spent


def execution_summary(executor: Any) -> dict[str, Any]:
    """Circuits, shots, jobs, success rate, latency and seeds of an executor so far."""
    ledger = getattr(executor, "ledger", None)
    summary: dict[str, Any] = {
        "executor": getattr(executor, "name", type(executor).__name__),
        "circuits": 0,
        "shots": 0,
        "jobs": 0,
        "failed_jobs": 0,
        "job_success_rate": None,
        "mean_latency_s": None,
    }
    if ledger is not None:
        summary.update(ledger.as_dict())
    readout = getattr(executor, "readout", None)
    if readout is not None:
        summary["circuits"] += int(readout.calibration_circuits)
        summary["shots"] += int(readout.calibration_shots)
        summary["readout_calibration"] = {"circuits": readout.calibration_circuits, "shots": readout.calibration_shots}
    if getattr(executor, "costs", None):
        summary["mitigation_costs"] = {k: dict(v) for k, v in executor.costs.items()}
    seeds = getattr(executor, "seeds", None)
    if seeds:
        summary["seeds"] = {"count": len(seeds), "first": int(seeds[0]), "last": int(seeds[-1])}
    provenance = getattr(executor, "provenance", None)
    if callable(provenance):  # executor=ibm: backend, instance, mode, job ids (never the token)
        summary["ibm"] = provenance()
    for key in ("noise_backend", "fallback"):
        if getattr(executor, key, None) is not None:
            summary[key] = getattr(executor, key)
    return summary


def gradient_snr(executor: Any, theta: Any, weights: Any, *, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Signal-to-noise of the parameter-shift gradient over ``repeats`` independent shot estimates.

    Returns:
        ``{"repeats", "median_snr", "min_snr", "mean_abs_gradient", "mean_std"}``; SNR per parameter is
        ``|mean| / std`` (infinite for a deterministic executor, whose std is 0).
    """
    if repeats < 2:
        raise ValueError(f"repeats must be >= 2 to estimate a spread, received {repeats}")
    rng = np.random.default_rng(seed)
    grads = np.stack([
        np.asarray(executor.parameter_shift_gradient(theta, weights, seed=int(rng.integers(2**31))), dtype=float)
        for _ in range(repeats)
    ])
    mean, std = np.abs(grads.mean(axis=0)), grads.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(std > 0, mean / std, np.inf)
    return {
        "repeats": int(repeats),
        "median_snr": float(np.median(snr)),
        "min_snr": float(np.min(snr)),
        "mean_abs_gradient": float(mean.mean()),
        "mean_std": float(std.mean()),
    }


def shot_variance(executor: Any, theta: Any, *, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Variance of the probability estimates over ``repeats`` shot runs, against ``p(1−p)/shots``.

    Returns:
        ``{"repeats", "shots", "mean_variance", "multinomial_variance", "ratio"}`` (bin-averaged);
        a ratio near 1 means shot noise alone explains the spread.
    """
    if repeats < 2:
        raise ValueError(f"repeats must be >= 2 to estimate a variance, received {repeats}")
    rng = np.random.default_rng(seed)
    estimates = np.stack([
        np.asarray(executor.probabilities(theta, seed=int(rng.integers(2**31))), dtype=float) for _ in range(repeats)
    ])
    shots = int(getattr(executor, "shots", 0) or 0)
    mean = estimates.mean(axis=0)
    variance = float(estimates.var(axis=0, ddof=1).mean())
    expected = float((mean * (1 - mean)).mean() / shots) if shots else 0.0
    return {
        "repeats": int(repeats),
        "shots": shots,
        "mean_variance": variance,
        "multinomial_variance": expected,
        "ratio": variance / expected if expected > 0 else None,
    }


def check_budget(spent: int, last_epoch: int, budget: int | None) -> str | None:
    """The message that stops training, or None: stop before an epoch that would overrun ``budget``.

    Args:
        spent: Shots spent so far.
        last_epoch: Shots the last completed epoch used (the next one is expected to use as many).
        budget: The run's shot budget (None: unlimited).
    """
    if budget is None:
        return None
    if spent >= budget or (last_epoch > 0 and spent + last_epoch > budget):
        return (
            f"shot budget of {budget} shots reached: {spent} spent, the next epoch needs about {last_epoch}; "
            "training stopped at the last completed epoch (raise executor.shot_budget to continue, e.g. with resume)"
        )
    return None


__all__ = ["check_budget", "execution_summary", "gradient_snr", "shot_variance", "shots_spent"]
