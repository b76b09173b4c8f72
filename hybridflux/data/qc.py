"""Quality-control filtering of the canonical flux dataset with the FLUXNET QC companions.

Readers keep the FLUXNET quality flags as variables ``<NAME>_QC`` (units ``"1"``) and never
filter (docs/design/0002-canonical-flux-dataset.md); :func:`apply_qc` does. The meaning of a
flag depends on the time step (Pastorello et al. 2020, FLUXNET2015 variable list):

- HH/HR: an integer flag per record, ``0`` measured, ``1`` good-quality gap-fill, ``2`` medium,
  ``3`` poor. A value is kept where ``flag <= threshold`` (default 1).
- DD/WW/MM/YY: the fraction (0–1) of the aggregated HH records that were measured or
  good-quality gap-filled. A value is kept where ``fraction >= threshold`` (default 0.5).

Most variables have their flag under ``<NAME>_QC``. Where FLUXNET2015 names the flag otherwise,
:data:`QC_FALLBACKS` lists the documented pairs (tried only when ``<NAME>_QC`` is absent):
the energy-balance-corrected ``LE_CORR``/``H_CORR`` take the flag of the MDS gap-filled flux
they are derived from, and the partitioned GPP/RECO take the flag of the NEE they partition
(``GPP_NT_VUT_REF`` → ``NEE_VUT_REF_QC``), because ONEFlux computes them from that NEE.

Example:
    >>> import pandas as pd
    >>> from hybridflux.data.schema import site_dataset
    >>> frame = pd.DataFrame({"NEE_VUT_REF": [1.0, 2.0, 3.0], "NEE_VUT_REF_QC": [0.0, 1.0, 3.0]},
    ...                      index=pd.date_range("2014-06-01", periods=3, freq="30min"))
    >>> ds = site_dataset(frame, "DE-Tha", time_step="HH",
    ...                   units={"NEE_VUT_REF": "umol m-2 s-1", "NEE_VUT_REF_QC": "1"},
    ...                   source_format="example", source_file="x.csv")
    >>> apply_qc(ds)["NEE_VUT_REF"].values.tolist()
    [[1.0, 2.0, nan]]
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

__all__ = ["QC_FALLBACKS", "DEFAULT_THRESHOLDS", "qc_variable", "apply_qc"]

#: Documented FLUXNET2015 pairs whose flag is not ``<NAME>_QC``: regex on the variable name →
#: template of the flag name (``re.sub`` replacement, tried in order).
QC_FALLBACKS: tuple[tuple[str, str], ...] = (
    # LE_CORR / H_CORR (and their _25/_75 percentiles) inherit the MDS flag.
    (r"^(LE|H)_CORR(_\d+)?$", r"\1_F_MDS_QC"),
    # GPP/RECO partitions inherit the flag of the NEE they partition (same USTAR treatment).
    (r"^(?:GPP|RECO)_(?:NT|DT)_((?:VUT|CUT)_\w+)$", r"NEE_\1_QC"),
    # Readers rename the FluxDataKit met X_F_MDS -> X_F; an un-renamed flag still applies.
    (r"^(\w+)_F$", r"\1_F_MDS_QC"),
)

#: Default threshold per time step: maximum flag (HH/HR) or minimum good fraction (DD and up).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "HH": 1,
    "HR": 1,
    "DD": 0.5,
    "WW": 0.5,
    "MM": 0.5,
    "YY": 0.5,
}

_FLAG_STEPS = ("HH", "HR")


def qc_variable(ds: xr.Dataset, name: str) -> str | None:
    """The name of the QC flag that applies to variable ``name`` in ``ds``, or ``None``.

    ``<name>_QC`` if present, else the first documented pair of :data:`QC_FALLBACKS` whose
    flag is present. QC variables themselves have no flag.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"LE_CORR": [50.0], "LE_F_MDS_QC": [0.0]},
        ...                      index=pd.DatetimeIndex(["2014-06-01"]))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="HH",
        ...                   units={"LE_CORR": "W m-2", "LE_F_MDS_QC": "1"},
        ...                   source_format="example", source_file="x.csv")
        >>> qc_variable(ds, "LE_CORR")
        'LE_F_MDS_QC'
    """
    if name.endswith("_QC"):
        return None
    if f"{name}_QC" in ds.data_vars:
        return f"{name}_QC"
    for pattern, template in QC_FALLBACKS:
        if re.match(pattern, name):
            candidate = re.sub(pattern, template, name)
            if candidate in ds.data_vars:
                return candidate
    return None


def _check_threshold(step: str, threshold: float) -> None:
    if step in _FLAG_STEPS:
        if threshold not in (0, 1, 2, 3):
            raise ValueError(
                f"at time step {step} the QC threshold is the highest accepted flag, one of "
                f"0, 1, 2, 3 (0 measured, 1 good gap-fill, 2 medium, 3 poor); got {threshold!r}"
            )
    elif not 0.0 <= threshold <= 1.0:
        raise ValueError(
            f"at time step {step} the QC threshold is the minimum fraction of good records, "
            f"between 0 and 1; got {threshold!r}"
        )


def apply_qc(ds: xr.Dataset, *, threshold: float | None = None) -> xr.Dataset:
    """Set values whose QC flag fails to NaN (a new Dataset; the input is not modified).

    For every variable X with a flag Q (:func:`qc_variable`):
    HH/HR ``X ← NaN where Q > threshold``; DD/WW/MM/YY ``X ← NaN where Q < threshold``.
    A missing flag (NaN, e.g. a site without that QC column in a combined dataset) means
    "unknown" and keeps the value. The flags themselves are kept unchanged.

    Args:
        ds: canonical Dataset with ``attrs["time_step"]``.
        threshold: highest accepted flag (HH/HR, 0–3, default 1) or lowest accepted fraction
            of good records (DD and coarser, 0–1, default 0.5).

    Returns:
        A copy with failing values NaN; each filtered variable gets ``attrs["qc"]`` (e.g.
        ``"NEE_VUT_REF_QC <= 1"``) and the Dataset ``attrs["qc_applied"]`` lists all rules.

    Raises:
        ValueError: unknown time step or a threshold outside the range of the step's flags.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"GPP_NT_VUT_REF": [4.0, 5.0], "NEE_VUT_REF_QC": [0.9, 0.2]},
        ...                      index=pd.date_range("2007-01-01", periods=2, freq="D"))
        >>> ds = site_dataset(frame, "FR-Pue", time_step="DD",
        ...                   units={"GPP_NT_VUT_REF": "gC m-2 d-1", "NEE_VUT_REF_QC": "1"},
        ...                   source_format="example", source_file="x.csv")
        >>> out = apply_qc(ds, threshold=0.8)
        >>> out["GPP_NT_VUT_REF"].values.tolist(), out.attrs["qc_applied"]
        ([[4.0, nan]], 'GPP_NT_VUT_REF: NEE_VUT_REF_QC >= 0.8')
    """
    step = ds.attrs.get("time_step")
    if step not in DEFAULT_THRESHOLDS:
        raise ValueError(f"attrs['time_step']={step!r} is not one of {list(DEFAULT_THRESHOLDS)}")
    threshold = DEFAULT_THRESHOLDS[step] if threshold is None else threshold
    _check_threshold(step, threshold)
    out = ds.copy(deep=True)
    rules = []
    for name in ds.data_vars:
        flag_name = qc_variable(ds, str(name))
        if flag_name is None:
            continue
        flag = ds[flag_name].values
        with np.errstate(invalid="ignore"):
            fails = flag > threshold if step in _FLAG_STEPS else flag < threshold
        op = "<=" if step in _FLAG_STEPS else ">="
        rule = f"{flag_name} {op} {threshold:g}"
        out[name] = out[name].where(~fails)
        out[name].attrs = {**ds[name].attrs, "qc": rule}
        rules.append(f"{name}: {rule}")
    previous = ds.attrs.get("qc_applied")
    out.attrs["qc_applied"] = "; ".join(([previous] if previous else []) + rules)
    return out
