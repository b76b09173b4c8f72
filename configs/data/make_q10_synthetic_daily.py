"""Make ``configs/data/q10_synthetic_daily.csv``: synthetic Q10 respiration on real temperature.

    RECO_syn = Rb · Q10 ** ((TA_F − 15) / 10) · (1 + 0.1 · ε),   ε ~ N(0, 1),
    Rb = 2.0 gC m-2 d-1,  Q10 = 1.5,  seed 20060101

TA_F (°C) is the real daily air temperature of FR-Pue (Puéchabon, France), 2006-01-01 to
2007-12-31 (730 days, no gaps), from the bundled FluxDataKit v2-3 FULLSET DD sample
(``hybridflux.data.sample_path("fr-pue-daily")``, column ``TA_F_MDS`` renamed ``TA_F``).

Source and licence of the temperature: FluxDataKit v2-3 (Stocker et al., Zenodo), built from
FLUXNET2015 (Pastorello et al. 2020, Sci. Data 7, 225, doi:10.1038/s41597-020-0534-3),
licensed CC-BY-4.0 — cite FLUXNET2015 and the FR-Pue site when you use this file. See
hybridflux/sample_data/ATTRIBUTION.md and configs/data/README.md.

The respiration is written with plain numpy (not the package's process functions), so that the
calibration is checked against an independent implementation. Run from the repository root:

    .venv/bin/python configs/data/make_q10_synthetic_daily.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from hybridflux.data import read, sample_path

RB_TRUE = 2.0  # gC m-2 d-1, base respiration at 15 °C
Q10_TRUE = 1.5  # 1
T_REF = 15.0  # °C
NOISE = 0.10  # relative standard deviation of the multiplicative Gaussian noise
SEED = 20060101
PERIOD = ("2006-01-01", "2007-12-31")
OUT = Path(__file__).resolve().parent / "q10_synthetic_daily.csv"


def make_table() -> str:
    """The CSV text: ``TIMESTAMP`` (YYYYMMDD), ``TA_F`` (°C), ``RECO_syn`` (gC m-2 d-1)."""
    ds = read(sample_path("fr-pue-daily"))
    ta = ds["TA_F"].isel(site=0).sel(time=slice(*PERIOD))
    values = ta.to_numpy()
    if not np.isfinite(values).all():
        raise ValueError("TA_F has gaps in the period; choose another period")
    eps = np.random.default_rng(SEED).standard_normal(values.size)
    reco = RB_TRUE * Q10_TRUE ** ((values - T_REF) / 10.0) * (1.0 + NOISE * eps)
    stamps = np.datetime_as_string(ta["time"].to_numpy(), unit="D")
    lines = ["TIMESTAMP,TA_F,RECO_syn"]
    for stamp, t, r in zip(stamps, values, reco, strict=True):
        lines.append(f"{stamp.replace('-', '')},{t:.6g},{r:.6f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Write the table atomically (temporary file, then ``os.replace``)."""
    fd, tmp = tempfile.mkstemp(dir=OUT.parent, prefix=f".{OUT.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(make_table())
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
