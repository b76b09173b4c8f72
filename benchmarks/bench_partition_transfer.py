"""``nee_partition_daily`` trained on one site's NEE, its GPP judged on five unseen grasslands.

Issue 4 judges the partition config on a grassland. ``../shared/data`` has no daily grassland
record with NEE, but the PLUMBER files of five grasslands (CH-Cha, CH-Fru, DE-Gri, US-Var,
US-Wkg; 2019–2020/21) carry the daily FLUXNET night-time GPP partition (``GPP_NT_VUT_REF``) with
the standard met. This script answers the one grassland question the data allow: does a model
trained on the daily NEE of another site (each analogue of ``bench_nee_partition.py``) predict
a grassland's GPP? It trains the config on each source site exactly as
``hybridflux train CONFIG --set "data.paths=[SITE]" --set "model.optional_covariates={}"``
(the PLUMBER files have no soil water/temperature) and scores ``hybridflux evaluate RUN --data
GRASSLAND`` (library form :func:`hybridflux.runs.apply.evaluate_from_run`) on every day of each
grassland file: r² = 1 − Σ(ŷ − y)²/Σ(y − ȳ)², rmse and bias (ŷ − y) in gC m-2 d-1. The PLUMBER
files have no NEE or NEE QC flag, so there is no NEE/RECO score and no good-quality-day filter.

Run:  .venv/bin/python benchmarks/bench_partition_transfer.py [--sources US-ARM ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
from pathlib import Path

from bench_nee_partition import SHARED, SITES, daily_file

from hybridflux.config import load_config
from hybridflux.runs.apply import evaluate_from_run
from hybridflux.runs.train import train_from_config

PLUMBER = SHARED / "plumber_daily_26sites"
#: The PLUMBER sites whose IGBP class is GRA (``fdk_site_info.csv``).
GRASSLANDS = ("CH-Cha", "CH-Fru", "DE-Gri", "US-Var", "US-Wkg")


def transfer_rows(source: str, config: str, out: Path) -> list[str]:
    """Train on ``source``; one row of GPP scores per grassland."""
    path, extra = SITES[source]
    path, _ = daily_file(source, path, out)
    cfg = load_config(config, [f"data.paths=[{path}]", *extra, "model.optional_covariates={}"])
    run = out / source
    shutil.rmtree(run, ignore_errors=True)
    train_from_config(cfg, run)
    rows = []
    for site in GRASSLANDS:
        files = sorted(str(p) for p in PLUMBER.glob(f"FLX_{site}_PLUMBER_FULLSET_DD_*.csv"))
        s = evaluate_from_run(run, files)["splits"]["all"]["GPP"]
        rows.append(
            f"{source:7s} {site:7s} {s['r2']:7.3f} {s['rmse']:6.3f} {s['bias']:7.3f} {s['n']:5d}"
        )
    return rows


def main() -> None:
    """Parse the arguments, train on each source site, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", nargs="+", default=["US-ARM", "US-Syv", "FR-Pue", "US-Tw3"],
                        choices=list(SITES))  # fmt: skip
    parser.add_argument("--config", default="configs/nee_partition_daily.yaml")
    parser.add_argument("--out", default=None, help="run directories (default: a temp dir)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_transfer_"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; load {os.getloadavg()}")
    print(f"config: {args.config}; GPP vs GPP_NT_VUT_REF on every day of the grassland file")
    print(f"{'trained':7s} {'on':7s} {'r2':>7s} {'rmse':>6s} {'bias':>7s} {'n':>5s}")
    for source in args.sources:
        for row in transfer_rows(source, args.config, out):
            print(row, flush=True)
    print(f"load after: {os.getloadavg()}; runs in {out}")


if __name__ == "__main__":
    main()
