"""Synthetic targets on real drivers: the hybrid-Q10 experiment's respiration generator.

The generator of Cohrs et al. (2024, Mach. Learn.: Sci. Technol., "Causal hybrid modeling with
double machine learning"), used for the Q10 experiment of Reichstein et al. (2022):

    Rb   = 0.75 · (x − min(x) + 0.1·π),   x = 0.01·SW_POT_sm − 0.005·SW_POT_sm_diff
    RECO = Rb · Q10 ** ((TA − 15) / 10)

with ``SW_POT_sm`` the 10-day moving mean of potential shortwave radiation (W m-2) and
``SW_POT_sm_diff`` its per-step difference (features from :mod:`hybridflux.data.features`;
here a centred mean and a backward difference, so at a daily step the difference term is
small and Rb follows the seasonal course of potential radiation). ``min(x)`` is taken per site,
so Rb > 0. Multiplicative Gaussian noise ``RECO·(1 + σ·ε)`` is optional. The true Rb and Q10
are stored so that a hybrid model can be checked against them.

Example:
    >>> import pandas as pd
    >>> from hybridflux.data.schema import SiteMeta, site_dataset
    >>> frame = pd.DataFrame({"TA_F": [25.0] * 30},
    ...                      index=pd.date_range("2014-06-01", periods=30, freq="D"))
    >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"TA_F": "degC"},
    ...                   source_format="example", source_file="x.csv",
    ...                   meta=SiteMeta(lat=50.96, lon=13.57, utc_offset=1.0))
    >>> out = q10_respiration_dataset(ds, q10=1.5)
    >>> ratio = out["RECO_syn"] / out["RB_syn"]      # Q10 ** ((25 - 15) / 10)
    >>> round(float(ratio.isel(site=0, time=15)), 6)
    1.5
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hybridflux.data.features import add_features

__all__ = ["q10_respiration_dataset"]

_RB_SCALE = 0.75
_SW_WEIGHT = 0.01
_DIFF_WEIGHT = 0.005
_RB_OFFSET = 0.1 * np.pi
_T_REF = 15.0


def q10_respiration_dataset(
    ds: xr.Dataset,
    *,
    q10: float = 1.5,
    noise: float = 0.0,
    seed: int = 0,
    temperature: str = "TA_F",
) -> xr.Dataset:
    """Add the synthetic respiration of the hybrid-Q10 experiment to a canonical Dataset.

    Args:
        ds: canonical Dataset with air temperature (°C) and site lat/lon (for potential
            radiation); any time step (the 10-day window is converted to steps).
        q10: true temperature sensitivity (1), 1.5 in Reichstein et al. (2022).
        noise: σ of the multiplicative Gaussian noise (1), 0 for none, 0.1 for 10 %.
        seed: seed of the noise.
        temperature: name of the temperature variable (°C).

    Returns:
        A copy with ``SW_POT_sm`` and ``SW_POT_sm_diff`` (W m-2, features), ``RB_syn``
        (true base respiration) and ``RECO_syn`` (target) in gC m-2 d-1; the true Q10 in
        ``ds["RECO_syn"].attrs["q10_true"]``. RECO_syn is NaN where a driver is NaN.

    Raises:
        KeyError: the temperature variable is missing.
        ValueError: ``q10 <= 0`` or ``noise < 0``.
    """
    if temperature not in ds:
        raise KeyError(f"the synthetic Q10 target needs {temperature!r} (°C) in the dataset")
    if q10 <= 0 or noise < 0:
        raise ValueError(f"need q10 > 0 and noise >= 0, got q10={q10}, noise={noise}")
    out = add_features(ds, ["SW_POT_sm", "SW_POT_sm_diff"])
    x = _SW_WEIGHT * out["SW_POT_sm"] - _DIFF_WEIGHT * out["SW_POT_sm_diff"]
    rb = _RB_SCALE * (x - x.min(dim="time", skipna=True) + _RB_OFFSET)
    reco = rb * q10 ** ((out[temperature] - _T_REF) / 10.0)
    if noise > 0:
        eps = np.random.default_rng(seed).standard_normal(reco.shape)
        reco = reco * (1.0 + noise * eps)
    out["RB_syn"] = rb.assign_attrs(units="gC m-2 d-1", long_name="true base respiration")
    out["RECO_syn"] = reco.assign_attrs(
        units="gC m-2 d-1",
        long_name="synthetic ecosystem respiration (Cohrs et al. 2024 generator)",
        q10_true=float(q10),
        noise=float(noise),
    )
    return out
