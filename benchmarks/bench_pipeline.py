"""Benchmark: the default `qscen run` on the bundled data, and the issue-4 quality targets.

Runs the whole pipeline (Prefect flow, no server) in a fresh work folder with the default
configuration, times it, then reads the run's manifest and prints every target:

* wall time of `qscen run` (target: under 3 minutes on 2 cores, install excluded);
* out of sample, same grid: the qGAN's classical fidelity and KL(test‖model) against the
  Gaussian and bootstrap baselines (target: better than both);
* generated one-day joint residuals: correlation max-abs error vs the training data (≤ 0.05);
* GARCH-mode paths: mean autocorrelation of |r| over lags 1–10, positive and within 50% of the data's.

Usage:
    python benchmarks/bench_pipeline.py [--workdir DIR] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qscen-bench-"))
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="qscen-bench-prefect-"))
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    command = [sys.executable, "-m", "qscen.cli", "run", "--workdir", str(workdir), "--run-id", "bench",
               "--no-progress"]
    for item in args.overrides:
        command += ["--set", item]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        return done.returncode
    manifest = json.loads((workdir / "data" / "runs" / "bench" / "manifest.json").read_text())
    m = manifest["metrics"]
    print(f"qscen run (default config, bundled data): {seconds:.1f} s   target < 180 s  "
          f"{'PASS' if seconds < 180 else 'FAIL'}")
    print("\nout of sample (test period after the split date), same grid:")
    print(f"  {'model':<10} {'fidelity':>9} {'KL(test||model)':>16}")
    for model in ("qgan", "gaussian", "bootstrap"):
        print(f"  {model:<10} {m[f'{model}_fidelity_out']:>9.4f} {m[f'{model}_kl_out']:>16.4f}")
    fid_ok = m["qgan_fidelity_out"] > max(m["gaussian_fidelity_out"], m["bootstrap_fidelity_out"])
    kl_ok = m["qgan_kl_out"] < min(m["gaussian_kl_out"], m["bootstrap_kl_out"])
    print(f"  qGAN fidelity above both baselines: {'PASS' if fid_ok else 'FAIL'}; "
          f"KL below both: {'PASS' if kl_ok else 'FAIL'}")
    print(f"  qGAN in-sample fidelity: {m['qgan_fidelity_in']:.4f}")
    corr = m["corr_max_abs_error"]
    print(f"\ngenerated one-day residual correlation, max abs error: {corr:.4f}   target <= 0.05  "
          f"{'PASS' if corr <= 0.05 else 'FAIL'}")
    data_acf, path_acf = m["abs_acf_data"], m["abs_acf_paths"]
    ratio = path_acf / data_acf
    ok = path_acf > 0 and abs(ratio - 1) <= 0.5
    print(f"mean ACF(|r|) lags 1-10: paths {path_acf:.4f} vs data {data_acf:.4f} (ratio {ratio:.2f})   "
          f"target positive and within 50%  {'PASS' if ok else 'FAIL'}")
    backtest = manifest.get("var_backtest", [])
    if backtest:
        print("\n1-day 99% VaR backtest on the test period (Kupiec):")
        for row in backtest:
            print(f"  {row['model']:<10} exceedances {row['exceedances']:>3} (expected {row['expected']:.1f})  "
                  f"p-value {row['p_value']:.3f}")
    print(f"\noutputs under {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
