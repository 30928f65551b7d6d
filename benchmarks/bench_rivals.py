"""Benchmark: every quantum mode against every classical rival, out of sample, no test-set tuning.

Data: the bundled S&P 500 / NASDAQ / WTI daily log returns (or ``--synthetic D``: a D-asset
factor model with Student-t innovations). GARCH(1,1)-t residuals of the training period
(up to ``--split``) are what every model learns; the test period (after it) is filtered with
the training parameters and never used for any choice: the quantum models stop early on
the *last 20% of the training period* and nothing else is tuned here.

Models: qGAN joint (3 qubits per asset), copula qGAN, factor qGAN (for more than 4 assets),
hybrid (quantum latent + decoder); rivals: Gaussian, filtered historical simulation,
Student-t copula, DCC(1,1)-t, classical GAN (same discriminator; the joint qGAN's epoch count
and training time as its budget).

Printed: the comparison table on the pipeline's evaluation grid (3 qubits per asset over the
training residuals; joint up to 4 assets, the mean over every asset pair's 2-D grid above): KL and fidelity in/out of sample, W1, tail-dependence error, mode coverage,
epochs to convergence, training time, peak memory; backtests at 1 and 10 days (Kupiec,
Christoffersen, traffic light, ES Z2); stylized facts of simulated paths against the data;
for synthetic data the correlation max-abs error.

Usage:
    python benchmarks/bench_rivals.py [--split 2012-12-31] [--epochs 2000] [--synthetic 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
import qiskit
import scipy
import torch

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation import backtest_table, comparison_table, stylized_facts
from quantum_scenarios.evaluation.grids import JOINT_GRID_MAX_ASSETS, evaluation_grid
from quantum_scenarios.evaluation.rivals import ClassicalGAN, DCCGarch, FilteredHistoricalSimulation, GaussianRival, StudentTCopula
from quantum_scenarios.market.sources import ingest
from quantum_scenarios.models import CopulaModel, FactorModel, HybridModel, JointModel
from quantum_scenarios.scenarios.generation import prepare_model_inputs
from quantum_scenarios.scenarios.trajectories import simulate_paths

FAST = {"discriminator_steps": 1, "batch_size": 64}  # the Rényi loss does not use the discriminator


def synthetic_returns(d: int, k: int = 3, days: int = 2500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Daily log returns of a k-factor model with Student-t(5) factors and innovations."""
    rng = np.random.default_rng(seed)
    loadings = np.column_stack([rng.uniform(0.5, 0.9, d)] + [rng.uniform(-0.4, 0.4, d) for _ in range(k - 1)])
    scale = np.sqrt(3 / 5)
    f = rng.standard_t(5, (days, k)) * scale
    e = rng.standard_t(5, (days, d)) * scale * 0.5
    r = 0.01 * (f @ loadings.T + e)
    cov = loadings @ loadings.T + 0.25 * np.eye(d)
    s = np.sqrt(np.diag(cov))
    index = pd.bdate_range("2008-01-01", periods=days)
    return pd.DataFrame(r, index=index, columns=[f"S{j:02d}" for j in range(d)]), cov / np.outer(s, s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="2012-12-31")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--synthetic", type=int, default=0, help="number of assets of a synthetic factor-model file")
    parser.add_argument("--skip", default="", help="comma-separated model names to skip")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"versions: python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"torch {torch.__version__}, qiskit {qiskit.__version__}; load {os.getloadavg()}", flush=True)
    true_corr = None
    if args.synthetic:
        returns, true_corr = synthetic_returns(args.synthetic, seed=args.seed)
        split = returns.index[1999].date()
    else:
        returns, split = ingest("bundled").returns, args.split
    inputs = prepare_model_inputs(returns, mode="garch", split_date=split)
    assets = list(returns.columns)
    train, test = inputs.train_values[assets], inputs.test_values[assets].dropna()
    d = len(assets)
    print(f"{d} assets, train {len(train)} days (to {inputs.split_date}), test {len(test)} days", flush=True)
    skip = set(filter(None, args.skip.split(",")))
    common = {"epochs": args.epochs, "check_every": 100, "patience": 3, "training": {**FAST, "seed": args.seed},
              "circuit": {"seed": args.seed}}
    quantum = {}
    if d <= 4:
        quantum["qgan_joint"] = JointModel(num_qubits=3, **common)
        quantum["qgan_copula"] = CopulaModel(num_qubits=4 if d <= 3 else 3, **common)
    else:
        quantum["qgan_factor"] = FactorModel(factors=3, copula={"num_qubits": 4, **common})
    quantum["hybrid"] = HybridModel(epochs=args.epochs, seed=args.seed)
    models, training = {}, {}
    for name, model in quantum.items():
        if name in skip:
            continue
        started = time.perf_counter()
        model.fit(train)
        summary = model.summary()
        training[name] = {"epochs_to_convergence": summary.get("epochs_to_convergence"),
                          "seconds": time.perf_counter() - started, "peak_memory_mb": summary.get("peak_memory_mb"),
                          "epochs_run": summary.get("epochs_run")}
        models[name] = model
        print(f"  fitted {name}: {training[name]['seconds']:.1f} s, best epoch {summary.get('epochs_to_convergence')}, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    reference = next(iter(models.values()), None)
    # the classical GAN gets the main qGAN's budget: the epochs it trained (selection rounds included) and its time
    budget_epochs = training.get("qgan_joint", training.get("qgan_factor", {})).get("epochs_run") or args.epochs
    budget_seconds = training.get("qgan_joint", training.get("qgan_factor", {})).get("seconds")
    rivals = {"gaussian": GaussianRival(), "fhs": FilteredHistoricalSimulation(), "t_copula": StudentTCopula(),
              "dcc": DCCGarch(), "classical_gan": ClassicalGAN(epochs=int(budget_epochs), max_seconds=budget_seconds,
                                                               seed=args.seed)}
    for name, rival in rivals.items():
        if name in skip:
            continue
        started = time.perf_counter()
        rival.fit(train)
        info = {"seconds": time.perf_counter() - started}
        if name == "classical_gan":
            info["epochs_to_convergence"] = rival.epochs_run
        training[name] = info
        models[name] = rival
    del reference
    # the pipeline's evaluation grid: joint up to 4 assets, the mean over every asset pair's 2-D grid above
    encoded = encode(train, num_qubits=3, joint=d <= JOINT_GRID_MAX_ASSETS)
    grid = evaluation_grid(encoded, train.to_numpy())
    table = comparison_table(train.to_numpy(), test.to_numpy(), grid, models, training=training, seed=args.seed)
    pd.set_option("display.width", 200)
    print(f"\ncomparison on the {grid.description} grid (training residuals), test after", inputs.split_date)
    print(table.round(4).to_string(index=False))
    quantum_rows = table[table["model"].isin(list(quantum))]
    rival_rows = table[~table["model"].isin(list(quantum))]
    if len(quantum_rows) and len(rival_rows):
        best_q = quantum_rows.loc[quantum_rows["kl_out"].idxmin()]
        kl_win = bool(best_q["kl_out"] < rival_rows["kl_out"].min())
        fid_win = bool(best_q["fidelity_out"] > rival_rows["fidelity_out"].max())
        best_kl = rival_rows.loc[rival_rows["kl_out"].idxmin()]
        best_fid = rival_rows.loc[rival_rows["fidelity_out"].idxmax()]
        print(f"\nbest quantum model {best_q['model']}: KL(test||model) {best_q['kl_out']:.4f} vs best rival "
              f"{best_kl['model']} {best_kl['kl_out']:.4f} ({'PASS' if kl_win else 'FAIL'}); fidelity "
              f"{best_q['fidelity_out']:.4f} vs best rival {best_fid['model']} {best_fid['fidelity_out']:.4f} "
              f"({'PASS' if fid_win else 'FAIL'})")
    if true_corr is not None:
        for name, model in models.items():
            draws = model(200_000, np.random.default_rng(1))
            err = np.abs(np.corrcoef(draws, rowvar=False) - np.corrcoef(train.to_numpy(), rowvar=False)).max()
            print(f"  {name:<14} correlation max-abs error vs training residuals {err:.4f} (target <= 0.05: "
                  f"{'PASS' if err <= 0.05 else 'FAIL'})")
    started = time.perf_counter()
    backtests = backtest_table(inputs.test_returns[assets], models, horizons=(1, 10), garch=inputs.garch_train,
                               n_samples=5_000, seed=args.seed)
    print(f"\nbacktests, equal-weight portfolio, 99% ({time.perf_counter() - started:.0f} s):")
    print(backtests.round(4).to_string(index=False))
    facts = {"data": stylized_facts(returns.to_numpy())}
    for name, model in models.items():
        paths = simulate_paths(model, n_paths=8, horizon=1500, mode="garch", garch=inputs.garch, last_prices=np.ones(d),
                               assets=assets, seed=args.seed)
        facts[name] = stylized_facts(paths.log_returns)
    print("\nstylized facts (paths of 1,500 days through the GARCH recursion, 8 paths) vs the data:")
    print(pd.DataFrame(facts).T.round(4).to_string())
    print(f"\nload at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
