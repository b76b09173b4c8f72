"""Literature constants, one frozen dataclass per process, each field with units and a citation.

The process functions take their parameters as arguments; these dataclasses hold the default
(literature) values, so every number used by the physics has exactly one place and one source.

Example:
    >>> from hybridflux.constants import PHYSICAL
    >>> round(PHYSICAL.umol_co2_per_s_to_gc_per_day, 4)
    1.0378
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "PHYSICAL",
    "RADIATION",
    "LUE",
    "CANOPY",
    "Q10_RESPIRATION",
    "LLOYD_TAYLOR",
    "AUTOTROPHIC",
    "SOIL_POOLS",
    "ECOSYSTEM",
    "VAPOUR",
    "PhysicalConstants",
    "RadiationConstants",
    "LUEConstants",
    "CanopyConstants",
    "Q10Constants",
    "LloydTaylorConstants",
    "AutotrophicConstants",
    "SoilPoolConstants",
    "EcosystemConstants",
    "VapourConstants",
]


@dataclass(frozen=True)
class PhysicalConstants:
    """Physical constants and unit factors.

    Attributes:
        molar_mass_carbon: g mol-1. IUPAC standard atomic weight of carbon (12.011).
        seconds_per_day: s d-1.
        zero_celsius: K. 0 °C in kelvin.
        umol_co2_per_s_to_gc_per_day: (gC m-2 d-1) / (umol CO2 m-2 s-1) =
            ``1e-6 mol/umol * 12.011 g/mol * 86400 s/d`` = 1.0377504. Used by FLUXNET2015
            (Pastorello et al. 2020) to convert HH carbon fluxes to DD/MM units.
    """

    molar_mass_carbon: float = 12.011
    seconds_per_day: float = 86400.0
    zero_celsius: float = 273.15
    umol_co2_per_s_to_gc_per_day: float = 1e-6 * 12.011 * 86400.0


@dataclass(frozen=True)
class RadiationConstants:
    """Solar geometry and radiation partitioning.

    Attributes:
        solar_constant: W m-2. Total solar irradiance, 1360.8 ± 0.5 (Kopp & Lean 2011,
            Geophys. Res. Lett. 38, L01706).
        par_fraction: 1. Fraction of global shortwave that is photosynthetically active
            (400–700 nm) in energy units, ≈ 0.5 (Monteith & Unsworth 2013, Principles of
            Environmental Physics, ch. 11; MOD17 user's guide uses 0.45).
        ppfd_per_par_watt: umol J-1. Photon content of PAR, 4.57 (McCree 1972, Agric. Meteorol.
            9, 191–216) for sunlight.
        w_m2_to_mj_m2_d: (MJ m-2 d-1) / (W m-2) = 86400 / 1e6.
    """

    solar_constant: float = 1360.8
    par_fraction: float = 0.5
    ppfd_per_par_watt: float = 4.57
    w_m2_to_mj_m2_d: float = 0.0864


@dataclass(frozen=True)
class LUEConstants:
    """Light-use-efficiency GPP (MOD17-style ramp scalars).

    Defaults are the MOD17 Biome Property Look-Up Table values for evergreen needleleaf forest
    (Running & Zhao 2015, MOD17 User's Guide, Table 2), except that the temperature ramp uses
    daily mean air temperature rather than daily minimum.

    Attributes:
        eps_max: gC MJ-1 (of absorbed PAR). Maximum light-use efficiency, 0.962.
        t_min: °C. Temperature at which the temperature scalar reaches 0, -8.0.
        t_opt: °C. Temperature at which the temperature scalar reaches 1, 8.31.
        vpd_low: hPa. VPD below which the VPD scalar is 1, 6.5 (650 Pa).
        vpd_high: hPa. VPD at which the VPD scalar reaches 0, 46.0 (4600 Pa).
        w_low: 1. Relative soil water at which the water scalar reaches 0 (wilting),
            0.0 (CASA-style linear water stress, Potter et al. 1993).
        w_high: 1. Relative soil water above which the water scalar is 1, 0.5.
    """

    eps_max: float = 0.962
    t_min: float = -8.0
    t_opt: float = 8.31
    vpd_low: float = 6.5
    vpd_high: float = 46.0
    w_low: float = 0.0
    w_high: float = 0.5


@dataclass(frozen=True)
class CanopyConstants:
    """fAPAR from leaf area and vegetation indices.

    Attributes:
        k_extinction: 1. Beer's-law extinction coefficient of a canopy with spherical leaf angle
            distribution and diffuse light, 0.5 (Monsi & Saeki 1953; Campbell & Norman 1998, §15).
        ndvi_slope: 1. fAPAR = slope * NDVI + intercept, 1.1638 (Myneni & Williams 1994,
            Remote Sens. Environ. 49, 200–211).
        ndvi_intercept: 1. -0.1426 (Myneni & Williams 1994).
        evi_slope: 1. fAPAR_chl = slope * EVI + intercept (same form as NDVI), 1.0 (Xiao et
            al. 2004, VPM, Remote Sens. Environ. 91, 256–270 use fAPAR_chl = EVI).
        evi_intercept: 1. 0.0 (Xiao et al. 2004).
    """

    k_extinction: float = 0.5
    ndvi_slope: float = 1.1638
    ndvi_intercept: float = -0.1426
    evi_slope: float = 1.0
    evi_intercept: float = 0.0


@dataclass(frozen=True)
class Q10Constants:
    """Q10 respiration ``R = R_b * Q10 ** ((T - T_ref) / 10)``.

    Attributes:
        q10: 1. Global ecosystem Q10 = 1.4 ± 0.1 (Mahecha et al. 2010, Science 329, 838–840);
            the hybrid-modelling experiment uses 1.5 (Reichstein et al. 2022).
        t_ref: °C. Reference temperature, 15 (Reichstein et al. 2022; Cohrs et al. 2024).
        r_base: gC m-2 d-1. Base respiration at t_ref, 2.0 (order of magnitude of temperate
            forest daily RECO, Baldocchi 2008, Aust. J. Bot. 56, 1–26).
    """

    q10: float = 1.4
    t_ref: float = 15.0
    r_base: float = 2.0


@dataclass(frozen=True)
class LloydTaylorConstants:
    """Lloyd–Taylor respiration ``R = R_ref * exp(E0 * (1/(T_ref - T0) - 1/(T - T0)))``.

    All values from Lloyd & Taylor (1994), Funct. Ecol. 8, 315–323, eq. 11.

    Attributes:
        e0: K. Activation-energy-like parameter, 308.56.
        t_ref: K. Reference temperature, 283.15 (10 °C).
        t0: K. Temperature at which respiration goes to zero, 227.13.
        r_ref: gC m-2 d-1. Respiration at t_ref, 1.0 (placeholder scale; fitted per site).
    """

    e0: float = 308.56
    t_ref: float = 283.15
    t0: float = 227.13
    r_ref: float = 1.0


@dataclass(frozen=True)
class AutotrophicConstants:
    """Autotrophic / heterotrophic respiration split.

    Attributes:
        ra_fraction_of_gpp: 1. Ra / GPP = 0.53 ± 0.04, i.e. NPP/GPP = 0.47 (Waring et al. 1998,
            Tree Physiol. 18, 129–134); DALEC uses 0.473 (Williams et al. 2005).
    """

    ra_fraction_of_gpp: float = 0.53


@dataclass(frozen=True)
class SoilPoolConstants:
    """Three-pool (fast, slow, passive) linear soil carbon model, CENTURY-like.

    Turnover times and transfer fractions after Parton et al. (1987), Soil Sci. Soc. Am. J. 51,
    1173–1179 (surface/active 1.5 yr, slow 25 yr, passive 1000 yr) in the matrix form of
    Xia et al. (2012), Geosci. Model Dev. 5, 1259–1271; Q10 = 2 environmental scalar.

    Attributes:
        turnover_years: yr. Mean residence time of each pool at reference conditions.
        transfer: 1. Row-major 3×3 matrix A; A[i][j] for i≠j is the fraction of carbon leaving
            pool j that enters pool i; diagonal −1. The rest is respired (heterotrophic
            respiration).
        input_partition: 1. Fraction b of litter input entering each pool (sums to 1).
        q10: 1. Temperature sensitivity of decomposition, 2.0.
        t_ref: °C. Reference temperature of the turnover rates, 15.
    """

    turnover_years: tuple[float, ...] = (1.5, 25.0, 1000.0)
    transfer: tuple[tuple[float, ...], ...] = (
        (-1.0, 0.0, 0.0),
        (0.42, -1.0, 0.0),
        (0.004, 0.03, -1.0),
    )
    input_partition: tuple[float, ...] = (1.0, 0.0, 0.0)
    q10: float = 2.0
    t_ref: float = 15.0


@dataclass(frozen=True)
class EcosystemConstants:
    """Daily DALEC-like ecosystem carbon model.

    Parameter values from the DALEC evergreen model as calibrated for a ponderosa pine site
    (Williams et al. 2005, Glob. Change Biol. 11, 89–105, Table 2). Checked against two
    secondary transcriptions, which agree with these values to two significant figures:
    f_auto, f_foliage, f_root, k_foliage = 0.47, 0.31, 0.43, 2.7e-3 (bgc_md2 model database)
    and 0.47, 0.315, 0.4344, 2.665e-3 (a Python re-implementation of DALEC); the other rates,
    theta and LMA = 111 gC m-2 agree exactly.
    Rates in d-1. Foliage, root and wood turnover are temperature independent; litter and SOM
    rates are multiplied by DALEC's temperature rate ``0.5 * exp(theta * T)`` (T daily mean air
    temperature, °C), i.e. they are the rates at 0 °C times 2 (at 0 °C the factor is 0.5, at
    10 °C it is 1.0).

    Attributes:
        f_auto: 1. Fraction of GPP respired autotrophically, 0.473.
        f_foliage: 1. Fraction of NPP allocated to foliage, 0.314.
        f_root: 1. Fraction of the remaining NPP allocated to roots (rest to wood), 0.43.
        k_foliage: d-1. Foliage turnover, 2.66e-3.
        k_wood: d-1. Wood turnover, 2.06e-6.
        k_root: d-1. Fine-root turnover, 2.48e-3.
        k_litter_decomp: d-1. Litter → SOM transfer (DALEC p1), 4.41e-6.
        k_litter_resp: d-1. Litter mineralisation (respired), 2.28e-2.
        k_som: d-1. SOM mineralisation, 2.65e-6.
        theta: °C-1. Temperature sensitivity, 0.0693 (Q10 = exp(10 θ) = 2.0).
        sla: m2 gC-1. Specific leaf area per carbon, 1 / 111 (LMA 111 gC m-2).
        temperature_rate_factor: 1. Prefactor of DALEC's temperature rate
            ``0.5 * exp(theta * T)``, 0.5 (Williams et al. 2005, appendix; DALEC code of the
            REFLEX intercomparison, Fox et al. 2009, Agric. For. Meteorol. 149, 1597–1615).
        decomp_water_sensitivity: 1. s in the decomposition water scalar ``1 - s * (1 - W)``
            (W relative soil water, 0–1); 0.0 = DALEC (no water limitation); s = 0.5 gives the
            CASA form ``0.5 + 0.5 * W`` (Potter et al. 1993, Glob. Biogeochem. Cycles 7, 811–841).
    """

    f_auto: float = 0.473
    f_foliage: float = 0.314
    f_root: float = 0.43
    k_foliage: float = 2.66e-3
    k_wood: float = 2.06e-6
    k_root: float = 2.48e-3
    k_litter_decomp: float = 4.41e-6
    k_litter_resp: float = 2.28e-2
    k_som: float = 2.65e-6
    theta: float = 0.0693
    sla: float = field(default=1.0 / 111.0)
    temperature_rate_factor: float = 0.5
    decomp_water_sensitivity: float = 0.0


PHYSICAL = PhysicalConstants()
RADIATION = RadiationConstants()
LUE = LUEConstants()
CANOPY = CanopyConstants()
Q10_RESPIRATION = Q10Constants()
LLOYD_TAYLOR = LloydTaylorConstants()
AUTOTROPHIC = AutotrophicConstants()
SOIL_POOLS = SoilPoolConstants()
ECOSYSTEM = EcosystemConstants()


@dataclass(frozen=True)
class VapourConstants:
    """Saturation vapour pressure over water, ``e°(T) = a · exp(b·T / (T + c))`` (T in °C).

    Tetens (1930), Z. Geophys. 6, 297–309, in the form of Allen et al. (1998), FAO Irrigation and
    Drainage Paper 56, eq. 11 (there in kPa with a = 0.6108).

    Attributes:
        tetens_a: hPa. Saturation vapour pressure at 0 °C, 6.1078.
        tetens_b: 1. Exponent factor, 17.27.
        tetens_c: °C. Temperature offset, 237.3.
    """

    tetens_a: float = 6.1078
    tetens_b: float = 17.27
    tetens_c: float = 237.3


VAPOUR = VapourConstants()
