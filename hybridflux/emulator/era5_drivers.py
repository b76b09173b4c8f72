"""ERA5 grid cells as driver years of synthetic cells (the gridded Bavarian sample).

Daily mean air temperature, its diurnal range and shortwave come from ERA5 hourly ``t2m`` and
``ssrd``; VPD from the FAO-56 dew point at the daily minimum temperature (eq. 48); relative
soil water is borrowed from a humid site year (recombination: ERA5 single levels here carry no
precipitation). Same `DriverYears` as :func:`hybridflux.emulator.drivers.site_driver_years`.

Example:
    >>> from hybridflux.emulator.drivers import DriverYears
    >>> DriverYears.__name__
    'DriverYears'
"""

from __future__ import annotations

import glob

import numpy as np
import xarray as xr

from hybridflux.constants import PHYSICAL
from hybridflux.emulator.drivers import DriverYears, _es, _whole_years, _years

__all__ = ["era5_driver_years"]


def era5_driver_years(
    pattern: str,
    donors: DriverYears,
    rng: np.random.Generator,
    place0: int = 0,
    utc_offset: float = 1.0,
) -> DriverYears:
    """Daily drivers of every ERA5 grid cell: T, range and SW from ``t2m``/``ssrd``.

    VPD from the FAO-56 dew point at the daily minimum temperature (eq. 48); relative soil
    water from a randomly chosen humid ``donors`` year (recombination; annual mean W ≥ 0.6
    when there are such years: the Bavarian sample is humid, 800–1500 mm yr-1, and a
    Mediterranean summer drought on an alpine winter kills the model's vegetation). ``ssrd``
    is accumulated over the hour ending at its time stamp (ERA5 convention).

    Args:
        pattern: glob of ERA5 hourly netCDF files (``t2m`` in K, ``ssrd`` in J m-2).
        donors: site years that lend their soil water.
        rng: numpy random generator.
        place0: number of the first grid cell.
        utc_offset: hours east of UTC of the days formed.

    Returns:
        `DriverYears`, one per grid cell and whole year.

    Raises:
        FileNotFoundError: no file matches. ValueError: no donor years.

    Example: ``era5_driver_years(".../era5/*.nc", site_years, np.random.default_rng(0))``
    (tested on a constructed file in ``tests/emulator/test_drivers.py``).
    """
    files = sorted(glob.glob(pattern))
    if not files:
        raise FileNotFoundError(f"emulator data.gridded: no ERA5 file matches {pattern!r}")
    if donors.values.shape[0] == 0:
        raise ValueError("ERA5 drivers borrow soil water from site years; no site years given")
    ds = xr.concat([xr.open_dataset(f)[["t2m", "ssrd"]].load() for f in files], "time")
    ds = ds.sortby("time")
    shift = np.timedelta64(int(utc_offset * 60), "m")
    t2m = ds["t2m"].assign_coords(time=ds["time"] + shift) - PHYSICAL.zero_celsius
    ssrd = ds["ssrd"].assign_coords(time=ds["time"] - np.timedelta64(1, "h") + shift)
    day = lambda v, how: getattr(v.resample(time="1D"), how)()  # noqa: E731
    ta, tmin, tmax = day(t2m, "mean"), day(t2m, "min"), day(t2m, "max")
    sw = day(ssrd, "sum") / PHYSICAL.seconds_per_day
    ta, tmin, tmax, sw = xr.align(ta, tmin, tmax, sw, join="inner")
    vpd = 0.5 * (_es(tmax) + _es(tmin)) - _es(tmin)
    time = ta["time"].values
    years = _whole_years(time, 360, np.ones(time.size, bool))
    humid = donors.values[..., 3].mean(1) >= 0.6
    water = donors.values[humid if humid.any() else slice(None), :, 3]
    blocks, lat, place, label = [], [], [], []
    for j, (la, lo) in enumerate((a, b) for a in ta["lat"].values for b in ta["lon"].values):
        cols = [v.sel(lat=la, lon=lo).values for v in (ta, sw, vpd, tmax - tmin)]
        for idx in years:
            donor = water[rng.integers(water.shape[0])]
            t, s, d, r = (np.nan_to_num(c[idx], nan=float(np.nanmean(c))) for c in cols)
            blocks.append(np.stack([t, s, d, donor, r], -1))
            lat.append(float(la))
            place.append(place0 + j)
            label.append(f"ERA5 {la:.2f}N {lo:.2f}E {str(time[idx[0]])[:4]}")
    return _years(blocks, lat, place, label)
