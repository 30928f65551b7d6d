"""An 8-configuration sweep on a 2-worker local Dask cluster vs the same sweep one configuration at a time.

Both runs use the same flow (``flows/sweep_pipeline.py``), the same grid and the same base
configuration; "one at a time" is a local cluster of one worker, "parallel" one of two
workers (one thread each, one torch thread per worker). Wall times include starting the
cluster. Target: parallel at least 1.7x faster.

    python benchmarks/bench_sweep.py [--epochs 150] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150, help="training epochs per configuration")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate 1-worker and 2-worker runs this many times; the best time of each counts "
                             "(on a shared machine other processes' load comes and goes)")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-sweep-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")

    import dask
    import distributed
    import prefect
    import prefect_dask
    import torch
    from prefect.testing.utilities import prefect_test_harness

    from flows.sweep_pipeline import sweep_pipeline
    from quantum_scenarios.config import PipelineConfig, SweepConfig

    workdir = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    base = PipelineConfig.model_validate({
        "source": {"assets": ["SP500", "NASDAQ"]}, "scenarios": {"mode": "iid"},
        "training": {"epochs": args.epochs}, "output": {"workdir": str(workdir)},
    })
    grid = {"circuit.reps": [2, 4], "circuit.seed": [1, 2, 3, 4]}
    sections = {k: v for k, v in dict(base).items() if k in sweep_pipeline.fn.__code__.co_varnames}
    print(f"python {platform.python_version()}, prefect {prefect.__version__}, prefect-dask {prefect_dask.__version__}, "
          f"dask {dask.__version__}, distributed {distributed.__version__}, torch {torch.__version__}; "
          f"cores {os.cpu_count()}")
    print(f"grid {grid} (8 configurations), {args.epochs} epochs each, 2 assets x 3 qubits, iid mode")
    times: dict[int, float] = {}
    with prefect_test_harness(server_startup_timeout=180):
        for repeat in range(args.repeats):
            for workers in (1, 2):
                load = os.getloadavg()
                started = time.perf_counter()
                result = sweep_pipeline(
                    sweep=SweepConfig(grid=grid, workers=workers),
                    **(sections | {"output": base.output.model_copy(update={"run_id": f"bench-{workers}w-{repeat}"})}),
                )
                seconds = time.perf_counter() - started
                times[workers] = min(times.get(workers, seconds), seconds)
                print(f"{workers} worker(s): {seconds:7.1f} s  ({result['failed']} failed; load before "
                      f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; best {result['best']})", flush=True)
    ratio = times[1] / times[2]
    print(f"\nbest of {args.repeats}: one at a time {times[1]:.1f} s | 2-worker Dask {times[2]:.1f} s | "
          f"speed-up {ratio:.2f}x (target >= 1.7x: {'met' if ratio >= 1.7 else 'missed'}); load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
