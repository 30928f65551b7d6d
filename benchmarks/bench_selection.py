"""Benchmark: model choices made on the training period only, scored out of sample beside the hand-picked defaults.

Data: the bundled S&P 500 / NASDAQ / WTI daily log returns; every model learns the
GARCH(1,1)-t residuals of the training period (up to each ``--splits`` date); the test
period after it is filtered with the training parameters.

For each split and seed:

* :func:`quantum_scenarios.models.selection.select_model` is handed the *training* residuals
  only (and the cut-off, which it checks). It holds out their last 20%, fits every
  candidate of ``DEFAULT_CANDIDATES`` on the rest with early stopping on the held-out block,
  scores each on that block (``KL(validation || model)`` and fidelity on a common 3-qubit
  grid), picks the lowest KL and refits it on the whole training period;
* the pipeline's hand-picked defaults (joint, 3 qubits per asset, ``ry_cz`` reps 10 full,
  Rényi-½, lr 0.02, 2,000 fixed epochs, no validation) are trained on the same period;
* the candidates as fitted for selection (first 80% of the training period) are also scored
  on the test period, to show whether validation ranks them as the test would (Spearman
  and Kendall rank correlation of validation KL and test KL).

Then the chosen model, the defaults and the classical rivals (Gaussian, filtered historical
simulation, Student-t copula, DCC(1,1)-t; ``--rivals`` adds ``classical_gan``) are scored out
of sample on one grid (3 qubits per asset over the training residuals, the pipeline's bounds)
with :func:`~quantum_scenarios.evaluation.scorecard.comparison_table`: the mean and standard
deviation over the seeds of ``KL(test || model)`` and fidelity.

Usage:
    python benchmarks/bench_selection.py [--splits 2012-12-31,2010-12-31] [--seeds 0,1,2] [--epochs 2000]
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
from scipy import stats

from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation.rivals import (
    ClassicalGAN,
    DCCGarch,
    FilteredHistoricalSimulation,
    GaussianRival,
    StudentTCopula,
)
from quantum_scenarios.evaluation.scorecard import comparison_table
from quantum_scenarios.market.sources import ingest
from quantum_scenarios.models import JointModel
from quantum_scenarios.models.selection import DEFAULT_CANDIDATES, select_model
from quantum_scenarios.scenarios.generation import prepare_model_inputs

FAST = {"discriminator_steps": 1, "batch_size": 64}  # the Rényi loss does not use the discriminator


def load() -> str:
    return "load " + "/".join(f"{v:.1f}" for v in os.getloadavg())


def rivals_for(names: list[str], epochs: int, seconds: float | None, seed: int) -> dict:
    make = {
        "gaussian": GaussianRival,
        "fhs": FilteredHistoricalSimulation,
        "t_copula": StudentTCopula,
        "dcc": DCCGarch,
        "classical_gan": lambda: ClassicalGAN(epochs=epochs, max_seconds=seconds, seed=seed),
    }
    unknown = sorted(set(names) - set(make))
    if unknown:
        raise SystemExit(f"--rivals: unknown {unknown}; choose from {sorted(make)}")
    return {name: make[name]() for name in names}


def run_split(split: str, seeds: list[int], epochs: int, rival_names: list[str], n_samples: int) -> dict:
    returns = ingest("bundled").returns
    inputs = prepare_model_inputs(returns, mode="garch", split_date=split)
    assets = list(returns.columns)
    train, test = inputs.train_values[assets], inputs.test_values[assets].dropna()
    assert train.index[-1] <= pd.Timestamp(split) < test.index[0]
    grid = encode(train, num_qubits=3)
    print(f"\n=== split {split}: train {len(train)} days {train.index[0].date()}..{train.index[-1].date()}, "
          f"test {len(test)} days {test.index[0].date()}..{test.index[-1].date()}; {load()}", flush=True)
    rows, correlations, choices = [], [], []
    for seed in seeds:
        circuit, training = {"seed": seed}, {**FAST, "seed": seed}
        started = time.perf_counter()
        selection = select_model(train, epochs=epochs, circuit=circuit, training=training, seed=seed,
                                 last_training_date=split)
        sel_seconds = time.perf_counter() - started
        # the candidates as fitted for selection (first 80% of training), scored on the test period
        cand = comparison_table(train.to_numpy(), test.to_numpy(), grid, selection.candidates, n_samples=n_samples,
                                seed=seed).set_index("model")
        table = selection.table.set_index("candidate")
        table["test_kl"] = cand.loc[table.index, "kl_out"]
        table["test_fidelity"] = cand.loc[table.index, "fidelity_out"]
        rho = stats.spearmanr(table["validation_kl"], table["test_kl"]).statistic
        tau = stats.kendalltau(table["validation_kl"], table["test_kl"]).statistic
        rho_fid = stats.spearmanr(table["validation_fidelity"], table["test_fidelity"]).statistic
        oracle = table["test_kl"].idxmin()
        # candidates the validation block cannot tell from the choice (gap within 2 paired bootstrap SE)
        ties = [c for c in table.index if not table.loc[c, "chosen"]
                and table.loc[c, "validation_kl_gap"] < 2 * table.loc[c, "validation_kl_gap_se"]]
        correlations.append({"seed": seed, "spearman_kl": rho, "kendall_kl": tau, "spearman_fidelity": rho_fid,
                             "chosen": selection.choice.label, "test_best_candidate": oracle,
                             "within_2se_of_choice": len(ties)})
        choices.append(selection.choice.label)
        print(f"\n-- seed {seed}: selection {sel_seconds:.0f} s (refit {selection.epochs} epochs), validation "
              f"{selection.validation_dates[0]}..{selection.validation_dates[1]} ({selection.n_validation} of "
              f"{selection.n_fit + selection.n_validation} training days); {load()}", flush=True)
        shown = table[["validation_kl", "validation_kl_se", "validation_kl_gap", "validation_kl_gap_se",
                       "validation_fidelity", "validation_kl_own_grid", "best_epoch", "epochs_run", "seconds", "chosen",
                       "test_kl", "test_fidelity"]]
        print(shown.round(4).to_string())
        print(f"   chosen: {selection.choice.label}; lowest test KL among candidates: {oracle}; rank correlation "
              f"validation vs test KL: Spearman {rho:.3f}, Kendall {tau:.3f}; fidelity Spearman {rho_fid:.3f}; "
              f"within 2 bootstrap SE of the choice on validation: {ties or 'none'}")
        started = time.perf_counter()
        defaults = JointModel(num_qubits=3, validation_fraction=0.0, epochs=epochs, check_every=epochs,
                              patience=10**6, circuit=circuit, training=training, measure_memory=False).fit(train)
        default_seconds = time.perf_counter() - started
        info = {"selected": {"seconds": sel_seconds, "epochs_to_convergence": selection.epochs},
                "defaults": {"seconds": default_seconds, "epochs_to_convergence": epochs}}
        scored = comparison_table(train.to_numpy(), test.to_numpy(), grid,
                                  {"selected": selection.model, "defaults": defaults}, training=info,
                                  n_samples=n_samples, seed=seed)
        scored["seed"] = seed
        rows.append(scored)
        print(scored[["model", "kl_in", "kl_out", "fidelity_in", "fidelity_out", "train_seconds"]].round(4)
              .to_string(index=False), flush=True)
    # the rivals do not depend on the qGAN seed except through their draws; fit once, draw per seed
    fitted = {}
    for name, rival in rivals_for(rival_names, epochs=epochs, seconds=None, seed=seeds[0]).items():
        started = time.perf_counter()
        fitted[name] = (rival.fit(train), time.perf_counter() - started)
    for seed in seeds:
        scored = comparison_table(train.to_numpy(), test.to_numpy(), grid, {n: m for n, (m, _) in fitted.items()},
                                  training={n: {"seconds": s} for n, (_, s) in fitted.items()},
                                  n_samples=n_samples, seed=seed)
        scored["seed"] = seed
        rows.append(scored)
    everything = pd.concat(rows, ignore_index=True)
    summary = everything.groupby("model", sort=False).agg(
        kl_out=("kl_out", "mean"), kl_out_sd=("kl_out", "std"), fidelity_out=("fidelity_out", "mean"),
        fidelity_out_sd=("fidelity_out", "std"), kl_in=("kl_in", "mean"), w1_out=("w1_out", "mean"),
        train_seconds=("train_seconds", "mean"))
    print(f"\nsplit {split}: out of sample on the 3-qubit grid, mean (sd) over seeds {seeds}; {load()}")
    print(summary.round(4).to_string())
    corr = pd.DataFrame(correlations)
    print("\nvalidation vs test ranking of the candidates (per seed):")
    print(corr.round(3).to_string(index=False))
    hits = int((corr["chosen"] == corr["test_best_candidate"]).sum())
    print(f"mean Spearman {corr['spearman_kl'].mean():.3f}, mean Kendall {corr['kendall_kl'].mean():.3f} "
          f"({len(DEFAULT_CANDIDATES)} candidates); the validation choice had the lowest test KL in {hits} of "
          f"{len(corr)} seeds")
    sel, dft = summary.loc["selected"], summary.loc["defaults"]
    rivals = summary.drop(index=["selected", "defaults"])
    verdict = []
    if len(rivals):
        best_kl, best_fid = rivals["kl_out"].idxmin(), rivals["fidelity_out"].idxmax()
        verdict.append(f"selected vs best rival: KL {sel['kl_out']:.4f} vs {best_kl} {rivals.loc[best_kl, 'kl_out']:.4f}"
                       f" ({'beats' if sel['kl_out'] < rivals['kl_out'].min() else 'loses'}); fidelity "
                       f"{sel['fidelity_out']:.4f} vs {best_fid} {rivals.loc[best_fid, 'fidelity_out']:.4f} "
                       f"({'beats' if sel['fidelity_out'] > rivals['fidelity_out'].max() else 'loses'})")
    print(f"\nsplit {split}: selected (training period only) KL {sel['kl_out']:.4f} ± {sel['kl_out_sd']:.4f}, fidelity "
          f"{sel['fidelity_out']:.4f} ± {sel['fidelity_out_sd']:.4f}; hand-picked defaults KL {dft['kl_out']:.4f} ± "
          f"{dft['kl_out_sd']:.4f}, fidelity {dft['fidelity_out']:.4f} ± {dft['fidelity_out_sd']:.4f}; choices {choices}")
    paired = everything[everything["model"].isin(["selected", "defaults"])].pivot(index="seed", columns="model")
    d_kl = paired[("kl_out", "selected")] - paired[("kl_out", "defaults")]
    d_fid = paired[("fidelity_out", "selected")] - paired[("fidelity_out", "defaults")]
    print(f"  selected - defaults per seed: KL {np.round(d_kl.to_numpy(), 4).tolist()} (mean {d_kl.mean():+.4f}), "
          f"fidelity {np.round(d_fid.to_numpy(), 4).tolist()} (mean {d_fid.mean():+.4f})")
    for line in verdict:
        print("  " + line)
    return {"summary": summary, "correlations": corr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", default="2012-12-31,2010-12-31")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--rivals", default="gaussian,fhs,t_copula,dcc",
                        help="comma-separated: gaussian, fhs, t_copula, dcc, classical_gan")
    parser.add_argument("--samples", type=int, default=200_000, help="draws per model for the grid histograms")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"versions: python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"pandas {pd.__version__}, torch {torch.__version__}, qiskit {qiskit.__version__}; {load()}; "
          f"{os.cpu_count()} CPUs, torch threads 1", flush=True)
    print("candidates:", ", ".join(c.label for c in DEFAULT_CANDIDATES))
    pd.set_option("display.width", 220)
    seeds = [int(s) for s in args.seeds.split(",")]
    rival_names = [r for r in args.rivals.split(",") if r]
    started = time.perf_counter()
    for split in args.splits.split(","):
        run_split(split, seeds, args.epochs, rival_names, args.samples)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {load()}")


if __name__ == "__main__":
    main()
