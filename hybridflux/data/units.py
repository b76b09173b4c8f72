"""Unit vocabulary and conversions of the canonical flux dataset (see docs/design/0002).

Every data variable of a canonical Dataset carries ``attrs["units"]`` from :data:`UNITS`.
Conversions are exact affine maps between units of the same quantity:

- carbon flux: ``1 umol CO2 m-2 s-1 = 1e-6 · 12.011 · 86400 gC m-2 d-1 = 1.0377504 gC m-2 d-1``
  (Pastorello et al. 2020, FLUXNET2015 unit conventions);
- pressure/VPD: ``1 kPa = 10 hPa``, ``1 Pa = 0.01 hPa``;
- temperature: ``T[degC] = T[K] − 273.15``;
- flux per year: ``gC m-2 y-1 = 365.25 · gC m-2 d-1`` (mean year length).

Example:
    >>> from hybridflux.data.units import convert
    >>> round(float(convert(1.0, "umol m-2 s-1", "gC m-2 d-1")), 7)
    1.0377504
"""

from __future__ import annotations

import numpy as np

from hybridflux.constants import PHYSICAL

__all__ = ["UNITS", "convert", "fluxnet_units", "is_carbon_flux"]

#: The unit vocabulary of the canonical dataset.
UNITS: frozenset[str] = frozenset(
    {
        "degC",
        "K",
        "hPa",
        "kPa",
        "Pa",
        "W m-2",
        "MJ m-2 d-1",
        "umol m-2 s-1",
        "gC m-2 d-1",
        "gC m-2 y-1",
        "umol mol-1",
        "mm",
        "mm d-1",
        "mm y-1",
        "m s-1",
        "m2 m-2",
        "%",
        "1",
        # non-carbon variables of AmeriFlux BASE / FLUXNET-CH4 files
        "mmol mol-1",
        "nmol mol-1",
        "nmol m-2 s-1",
        "degree",
        "m",
        "kg m-1 s-2",
    }
)

_DAYS_PER_YEAR = 365.25

# (from, to) -> (scale, offset): to = scale * from + offset
_AFFINE: dict[tuple[str, str], tuple[float, float]] = {
    ("umol m-2 s-1", "gC m-2 d-1"): (PHYSICAL.umol_co2_per_s_to_gc_per_day, 0.0),
    ("gC m-2 d-1", "gC m-2 y-1"): (_DAYS_PER_YEAR, 0.0),
    ("umol m-2 s-1", "gC m-2 y-1"): (PHYSICAL.umol_co2_per_s_to_gc_per_day * _DAYS_PER_YEAR, 0.0),
    ("kPa", "hPa"): (10.0, 0.0),
    ("Pa", "hPa"): (0.01, 0.0),
    ("Pa", "kPa"): (0.001, 0.0),
    ("K", "degC"): (1.0, -PHYSICAL.zero_celsius),
    ("W m-2", "MJ m-2 d-1"): (0.0864, 0.0),
    ("mm d-1", "mm y-1"): (_DAYS_PER_YEAR, 0.0),
}

#: Variables that are CO2 fluxes (so that "umol m-2 s-1" means umol CO2, not photons).
_CARBON_PREFIXES = ("NEE", "GPP", "RECO", "FC", "NEP", "SC")
#: Methane fluxes share the ``FC``/``SC`` prefixes but are not CO2 fluxes.
_METHANE_PREFIXES = ("FCH4", "SCH4")


def is_carbon_flux(name: str) -> bool:
    """Whether a FLUXNET variable name is a CO2/carbon flux (NEE, GPP, RECO, FC, ...).

    Example:
        >>> is_carbon_flux("GPP_NT_VUT_REF"), is_carbon_flux("PPFD_IN"), is_carbon_flux("FCH4")
        (True, False, False)
    """
    upper = name.upper()
    return (
        upper.startswith(_CARBON_PREFIXES)
        and not upper.startswith(_METHANE_PREFIXES)
        and not upper.endswith("_QC")
    )


def convert(values, from_units: str, to_units: str):
    """Convert values between two units of the vocabulary.

    Args:
        values: array-like of values in ``from_units``.
        from_units: unit string from :data:`UNITS`.
        to_units: unit string from :data:`UNITS`.

    Returns:
        ``values`` in ``to_units`` (same type family: numpy in, numpy out).

    Raises:
        ValueError: if either unit is unknown or no conversion between them exists.

    Example:
        >>> float(convert(1.5, "kPa", "hPa"))
        15.0
    """
    for u in (from_units, to_units):
        if u not in UNITS:
            raise ValueError(f"unknown unit {u!r}; known units: {sorted(UNITS)}")
    if from_units == to_units:
        return values
    if (from_units, to_units) in _AFFINE:
        scale, offset = _AFFINE[(from_units, to_units)]
        return np.asarray(values) * scale + offset
    if (to_units, from_units) in _AFFINE:
        scale, offset = _AFFINE[(to_units, from_units)]
        return (np.asarray(values) - offset) / scale
    raise ValueError(f"no conversion from {from_units!r} to {to_units!r}")


# FLUXNET2015 units by variable stem and time step (Pastorello et al. 2020, Table 2 of the
# FLUXNET2015 variable list). Keys are matched against the variable name's first token(s).
_FLUX_BY_STEP = {
    "HH": "umol m-2 s-1",
    "HR": "umol m-2 s-1",
    "DD": "gC m-2 d-1",
    "WW": "gC m-2 d-1",
    "MM": "gC m-2 d-1",
    "YY": "gC m-2 y-1",
}
_PRECIP_BY_STEP = {
    "HH": "mm",
    "HR": "mm",
    "DD": "mm d-1",
    "WW": "mm d-1",
    "MM": "mm d-1",
    "YY": "mm y-1",
}
_STATIC = {
    "TA": "degC",
    "TS": "degC",
    "TMIN": "degC",
    "TMAX": "degC",
    "VPD": "hPa",
    "PA": "kPa",
    "SW": "W m-2",
    "LW": "W m-2",
    "NETRAD": "W m-2",
    "LE": "W m-2",
    "H": "W m-2",
    "G": "W m-2",
    "PPFD": "umol m-2 s-1",
    "WS": "m s-1",
    "USTAR": "m s-1",
    "CO2": "umol mol-1",
    "SWC": "%",
    "RH": "%",
    "LAI": "m2 m-2",
    "FPAR": "1",
    "EVI": "1",
    "NDVI": "1",
}


def fluxnet_units(name: str, time_step: str) -> str | None:
    """FLUXNET2015 unit of a variable at a time step, or ``None`` if the name is not known.

    Args:
        name: FLUXNET variable name, e.g. ``"NEE_VUT_REF"``, ``"TA_F"``, ``"SW_IN_F"``.
        time_step: one of ``"HH"``, ``"HR"``, ``"DD"``, ``"WW"``, ``"MM"``, ``"YY"``.

    Example:
        >>> fluxnet_units("NEE_VUT_REF", "DD"), fluxnet_units("VPD_F", "HH")
        ('gC m-2 d-1', 'hPa')
    """
    if time_step not in _FLUX_BY_STEP:
        raise ValueError(f"unknown time step {time_step!r}; expected one of {list(_FLUX_BY_STEP)}")
    upper = name.upper()
    if upper.endswith("_QC"):
        return "1"
    if is_carbon_flux(upper):
        return _FLUX_BY_STEP[time_step]
    stem = upper.split("_")[0]
    if stem == "P":
        return _PRECIP_BY_STEP[time_step]
    return _STATIC.get(stem)
