"""Write a price file of D assets from a known factor model with Student-t innovations.

The returns come from :func:`bench_rivals.synthetic_returns` (k Student-t(5) factors with
loadings drawn once per seed, Student-t(5) idiosyncratic noise), so the true correlation is
known; prices are ``100·exp(cumsum(r))``. The file is a wide CSV (``date`` plus one price column
per asset) or a long one (``date, asset, price``), as ``qscen run --source FILE`` reads.

Usage::

    python benchmarks/synthetic_factor_file.py --assets 20 --days 2500 --out /tmp/twenty.csv
    qscen run --source /tmp/twenty.csv --workdir /tmp/w --run-id twenty --no-progress

It prints the file's date range, where the default cut-off (``evaluation.split_date``
2012-12-31) falls, and the true correlation's range.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rivals import synthetic_returns  # noqa: E402  (the benchmark's generator, reused)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, required=True, help="number of assets D")
    parser.add_argument("--factors", type=int, default=3, help="factors k of the generating model")
    parser.add_argument("--days", type=int, default=2500, help="return days (business days from 2008-01-01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layout", choices=("wide", "long"), default="wide")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.assets < 2 or args.factors < 1 or args.days < 10:
        parser.error("need --assets >= 2, --factors >= 1 and --days >= 10")
    returns, true_corr = synthetic_returns(args.assets, k=args.factors, days=args.days, seed=args.seed)
    first = returns.index[0] - pd.offsets.BDay(1)
    log_levels = np.vstack([np.zeros(returns.shape[1]), returns.cumsum().to_numpy()])
    prices = pd.DataFrame(100 * np.exp(log_levels), index=[first, *returns.index], columns=returns.columns)
    prices.index.name = "date"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.layout == "wide":
        prices.to_csv(args.out, float_format="%.6f")
    else:
        prices.stack().rename("price").rename_axis(["date", "asset"]).reset_index().to_csv(
            args.out, index=False, float_format="%.6f")
    split = pd.Timestamp("2012-12-31")
    off = true_corr[~np.eye(args.assets, dtype=bool)]
    print(f"wrote {args.out}: {args.assets} assets, {len(prices)} prices {prices.index[0].date()}..{prices.index[-1].date()} "
          f"({args.layout}); default cut-off 2012-12-31 leaves {int((returns.index <= split).sum())} training and "
          f"{int((returns.index > split).sum())} test returns; true correlation off-diagonal {off.min():.3f}..{off.max():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
