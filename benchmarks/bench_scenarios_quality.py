"""Scenario quality on the bundled data: baselines, residual correlation, volatility clustering, VaR backtest.

Protocol (issue 4): bundled SP500 / NASDAQ / WTI, log returns, train up to the cut-off
(2012-12-31); a GARCH(1,1)-t per asset fitted on the training returns; its standardised
residuals encoded with 3 qubits per asset between their 0.5% and 99.5% quantiles
(no margin); the test residuals come from the training fit filtered through the test
period (parameters fixed). Checked:

* baselines out-of-sample against the reference numbers (Gaussian fidelity 0.895,
  KL(test||model) 0.18; bootstrap fidelity 0.907, KL 0.22);
* generated one-day joint residuals: correlation within 0.05 (max abs) of the training
  residuals' (the generator is the qGAN probabilities given with ``--qgan``, otherwise the
  training histogram stands in for it);
* GARCH-mode paths: mean autocorrelation of |r| over lags 1-10 positive and within 50% of
  the data's (long paths, one per replicate, as long as the training sample);
* one-day 99% portfolio VaR backtest over the test period (Kupiec), and the stress table.

Run: ``python benchmarks/bench_scenarios_quality.py [--qgan probs.npy | --train-qgan] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from quantum_scenarios.evaluation import bootstrap_baseline, bootstrap_sampler, gaussian_baseline, gaussian_sampler
from quantum_scenarios.encoding import encode
from quantum_scenarios.evaluation import abs_autocorrelation, metric_table, split_by_date, var_backtest_table
from quantum_scenarios.market.sources import ingest
from quantum_scenarios.evaluation import grid_correlation
from quantum_scenarios.scenarios.stress import (
    correlation_stress,
    historical_replay,
    risk_table,
    tail_scenarios,
    volatility_shock,
)
from quantum_scenarios.scenarios.trajectories import generator_draw, simulate_paths
from quantum_scenarios.scenarios.volatility import fit_garch

REFERENCE = {"gaussian": {"fidelity": 0.895, "kl": 0.18}, "bootstrap": {"fidelity": 0.907, "kl": 0.22}}
REFERENCE_TOLERANCE = {"fidelity": 0.01, "kl": 0.02}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", default="2012-12-31")
    parser.add_argument("--qgan", type=Path, help="trained generator probabilities (.npy, basis-state order)")
    parser.add_argument("--train-qgan", action="store_true", help="train the qGAN here (train_qgan defaults)")
    parser.add_argument("--epochs", type=int, default=400, help="epochs with --train-qgan")
    parser.add_argument("--paths", type=int, default=2000, help="paths for the stress scenarios")
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--acf-paths", type=int, default=50, help="long paths for the |r| autocorrelation")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", type=Path, help="write the measured numbers here")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    clock = time.perf_counter()
    results: dict = {}

    market = ingest("bundled")
    train, test = split_by_date(market.returns, args.cutoff)
    garch = fit_garch(train)
    z_train = garch.residuals
    z_test, _ = garch.filter(test)
    encoding = encode(z_train, num_qubits=3, quantiles=(0.005, 0.995), margin=0.0, transform="garch_t_residual")
    target_test = encoding.histogram(z_test.to_numpy())
    print(f"data {market.returns.index[0].date()}..{market.returns.index[-1].date()}: "
          f"train {len(train)} rows, test {len(test)} rows, assets {list(market.assets)}")
    print("GARCH(1,1)-t on training returns (percent units):")
    print(garch.params.round(4).to_string())

    models = {
        "gaussian": gaussian_baseline(z_train, encoding),
        "bootstrap": bootstrap_baseline(z_train, encoding),
    }
    if args.qgan is not None:
        models["qgan"] = np.load(args.qgan)
    elif args.train_qgan:
        from quantum_scenarios.gan.training import train_qgan
        from quantum_scenarios.quantum.circuits import build_generator

        generator_circuit = build_generator(encoding.loader, ansatz="efficient_su2", reps=3, entanglement="full", seed=7)
        trained = train_qgan(encoding, generator_circuit, epochs=args.epochs, seed=args.seed)
        models["qgan"] = trained.probabilities
        print(f"qGAN trained: {trained.epochs_run} epochs in {trained.seconds:.1f}s, "
              f"final in-sample KL {trained.history[-1].kl:.4f}")
    table = metric_table(encoding.target, target_test, models, encoding)
    print("\nGrid metrics (in = vs training histogram, out = vs test histogram):")
    print(table.round(4).to_string(index=False))
    results["metric_table"] = table.to_dict(orient="records")
    out = table[table["sample"] == "out"].set_index("model")
    reproduced = True
    for name, ref in REFERENCE.items():
        for key, value in ref.items():
            got = float(out.loc[name, key])
            ok = abs(got - value) <= REFERENCE_TOLERANCE[key]
            reproduced &= ok
            print(f"  {name:9s} out-of-sample {key:8s} {got:.3f}  (reference {value:.3f}) {'OK' if ok else 'DIFFERS'}")
    results["baselines_reproduced"] = reproduced
    if "qgan" in models:
        beats = all(
            out.loc["qgan", "fidelity"] > out.loc[b, "fidelity"] and out.loc["qgan", "kl"] < out.loc[b, "kl"]
            for b in REFERENCE
        )
        results["qgan_beats_baselines"] = bool(beats)
        print(f"  qGAN beats both baselines out-of-sample (fidelity and KL): {beats}")

    generator_name = "qgan" if "qgan" in models else "training histogram (stand-in for the qGAN)"
    generator = models.get("qgan", encoding.target)
    data_corr = np.corrcoef(z_train.to_numpy(), rowvar=False)
    corr_errors = {
        "uniform_dequantised_draws": generator_draw(encoding, generator),
        "bin_centre_draws": generator_draw(encoding, generator, dequantise=False),
        "within_cell_reference_draws": generator_draw(encoding, generator, reference=z_train),
    }
    for key, sampler in list(corr_errors.items()):
        sample = sampler(200_000, np.random.default_rng(args.seed))
        corr_errors[key] = float(np.abs(np.corrcoef(sample, rowvar=False) - data_corr).max())
    corr_errors["grid_level_vs_training_histogram"] = float(
        np.abs(grid_correlation(generator, encoding) - grid_correlation(encoding.target, encoding)).max()
    )
    results["residual_corr_max_abs_error"] = corr_errors
    results["residual_corr_generator"] = generator_name
    print(f"\nOne-day joint residuals from the {generator_name}: correlation max abs error vs the training "
          "residuals' (target <= 0.05):")
    for key, value in corr_errors.items():
        print(f"  {key:32s} {value:.4f} {'OK' if value <= 0.05 else 'FAILS'}")

    draw = generator_draw(encoding, generator)
    long_paths = simulate_paths(
        draw, n_paths=args.acf_paths, horizon=len(train), garch=garch,
        last_prices=market.prices.loc[train.index[-1]], assets=market.assets, seed=args.seed,
    )
    acf_data = abs_autocorrelation(train.to_numpy()).mean(axis=0)
    acf_paths = abs_autocorrelation(long_paths.log_returns).mean(axis=0)
    iid_paths = simulate_paths(
        draw, n_paths=args.acf_paths, horizon=len(train), mode="iid",
        last_prices=market.prices.loc[train.index[-1]], assets=market.assets, seed=args.seed,
    )
    acf_iid = abs_autocorrelation(iid_paths.log_returns).mean(axis=0)
    ratio = acf_paths / acf_data
    acf_ok = bool(np.all(acf_paths > 0) and np.all(np.abs(ratio - 1) <= 0.5))
    pooled_ratio = float(acf_paths.mean() / acf_data.mean())
    results["abs_acf"] = {
        "data": dict(zip(market.assets, acf_data.tolist())),
        "garch_paths": dict(zip(market.assets, acf_paths.tolist())),
        "iid_paths_on_residual_grid": dict(zip(market.assets, acf_iid.tolist())),
        "within_50pct_every_asset": acf_ok,
        "assets_pooled_ratio": pooled_ratio,
    }
    print(f"\nMean ACF of |r| over lags 1-10 ({args.acf_paths} GARCH-mode paths x {len(train)} steps vs training data):")
    print(pd.DataFrame({"data": acf_data, "garch_paths": acf_paths, "ratio": ratio, "iid_mode": acf_iid},
                       index=list(market.assets)).round(4).to_string())
    print(f"  positive and within 50% of the data for every asset: {acf_ok}; "
          f"averaged over assets {acf_paths.mean():.4f} vs {acf_data.mean():.4f} (ratio {pooled_ratio:.3f})")

    samplers = {
        ("qgan" if "qgan" in models else "histogram"): draw,
        "gaussian": gaussian_sampler(z_train),
        "bootstrap": bootstrap_sampler(z_train),
    }
    backtests = pd.concat(
        [var_backtest_table(test, samplers, level=level, garch=garch, seed=args.seed) for level in (0.95, 0.99)],
        ignore_index=True,
    )
    results["var_backtest"] = backtests.to_dict(orient="records")
    print("\nOne-day equal-weight portfolio VaR backtest on the test period (GARCH filter, Kupiec):")
    print(backtests.round(4).to_string(index=False))

    stress_start = time.perf_counter()
    today = garch.extend(test)  # training parameters, state at the last observed day
    base = simulate_paths(draw, n_paths=args.paths, horizon=args.horizon, garch=today,
                          last_prices=market.prices.iloc[-1], assets=market.assets, seed=args.seed)
    sets = {
        "base": base,
        "tail": tail_scenarios(base, level=0.99),
        "vol_shock": volatility_shock(base, garch=today, factor=2.0),
        "correlation_stress": correlation_stress(base, garch=today, stress_level=0.9),
        "historical_replay": historical_replay(market.returns, horizon=args.horizon, n_windows=5,
                                               last_prices=market.prices.iloc[-1]),
    }
    risk = risk_table(sets, levels=(0.95, 0.99), horizons=(1, 5, 10))
    stress_seconds = time.perf_counter() - stress_start
    portfolio = risk[risk["asset"] == "portfolio"].pivot_table(
        index=["scenario_type", "horizon"], columns="level", values=["var", "es"]
    )
    print(f"\nStress scenarios ({args.paths} GARCH-mode paths x {args.horizon} days from the last observed day, "
          f"built in {stress_seconds:.1f}s); equal-weight portfolio VaR / ES:")
    print(portfolio.round(4).to_string())
    print("historical replay windows:")
    print(sets["historical_replay"].extra.to_string(index=False))
    results["stress_portfolio"] = risk[risk["asset"] == "portfolio"].to_dict(orient="records")
    results["seconds"] = time.perf_counter() - clock
    print(f"\ntotal {results['seconds']:.1f}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
