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


@dataclass(frozen=True)
class DetailedModelConstants:
    """Hourly, vertically resolved ecosystem model with microbial soil carbon (detailed model).

    Defaults of :mod:`hybridflux.process.detailed`: a DALEC-like canopy with a labile pool and
    maintenance/growth respiration over a 10-layer MIMICS/Millennial-like soil (litter, microbes,
    particulate and mineral-associated organic matter per layer; Michaelis–Menten uptake;
    Arrhenius temperature, moisture and depth scalars; bioturbation). Rates are per day at the
    reference temperature, converted to the hourly step by the model.

    Attributes:
        n_layers: 1. Soil layers, 10 (CLM4.5 uses 10 biogeochemically active layers, Koven et
            al. 2013, Biogeosciences 10, 7109–7131).
        top_thickness: m. Thickness of the top layer, 0.02.
        thickness_growth: 1. Ratio of successive layer thicknesses, 1.35 (10 layers → 1.09 m;
            geometric layering as in CLM, Oleson et al. 2013, NCAR/TN-503+STR, §6.1).
        steps_per_day: 1. Model steps per day, 24 (hourly).
        k_labile: d-1. Labile → growth flux rate, 0.1 (labile residence ~10 d; DALEC labile
            pool, Bloom & Williams 2015, Biogeosciences 12, 1299–1315).
        r_maint: gC gC-1 d-1. Maintenance respiration of living tissue at 20 °C, 0.002
            (Ryan 1991, Ecol. Appl. 1, 157–167: 0.0011–0.0027 for foliage at C:N ≈ 40–50).
        q10_maint: 1. Q10 of maintenance respiration, 2.0 (Ryan 1991).
        labile_half: gC m-2. Half-saturation of maintenance respiration in the available labile
            carbon (substrate limitation: respiration slows as reserves empty, so a drought
            does not starve the plant to death), 5.0 (Thornley & Cannell 2000, Ann. Bot. 85,
            55–67, substrate-dependent respiration; value assumed).
        live_wood_fraction: 1. Respiring (sapwood) fraction of wood carbon, 0.02 (assumed; CLM
            keeps live stem ≈ 1–5 % of stem carbon).
        growth_resp_fraction: 1. Growth respiration per unit carbon allocated, 0.25 (Ryan 1991).
        f_foliage: 1. Fraction of growth allocated to foliage, 0.3 (DALEC, Williams et al. 2005).
        f_root: 1. Fraction of growth allocated to fine roots, 0.3 (DALEC: 0.43 of the rest).
        k_foliage: d-1. Foliage turnover, 1.37e-3 (2-year leaf lifespan of evergreen foliage,
            within the 1–6 yr of conifers, Reich, Walters & Ellsworth 1997, PNAS 94,
            13730–13734; DALEC's ponderosa pine fit 2.66e-3, Williams et al. 2005).
        k_root: d-1. Fine-root turnover, 2.48e-3 (DALEC, Williams et al. 2005).
        k_wood: d-1. Wood turnover, 5.5e-5 (≈ 50 yr; Carvalhais et al. 2014, Nature 514,
            213–217, forest vegetation turnover times of decades).
        sla: m2 gC-1. Specific leaf area per carbon, 1/111 (DALEC LMA, Williams et al. 2005).
        lignin_n: 1. Lignin:N ratio of litter, 25 (Parton et al. 1987; MIMICS fMET input).
        fmet_intercept: 1. fMET = a − b·lignin:N, a = 0.85 (Parton et al. 1987, Soil Sci. Soc.
            Am. J. 51, 1173–1179; Wieder et al. 2014, MIMICS).
        fmet_slope: 1. b = 0.013 (Parton et al. 1987).
        root_beta: 1. Jackson root profile Y = 1 − β^d (d in cm), 0.966 (temperate deciduous
            forest, Jackson et al. 1996, Oecologia 108, 389–411).
        v_met: d-1. Max. microbial uptake of metabolic litter per gC microbes at 20 °C, 0.3.
        v_str: d-1. Same for structural litter, 0.1.
        v_pom: d-1. Same for particulate organic matter, 0.1 (Vmax ordering LITm > LITs ≈
            SOMa of MIMICS, Wieder et al. 2014, Biogeosciences 11, 3899–3917, Table A1).
        km_met: gC m-3. Half-saturation concentration of metabolic litter at 20 °C, 5000.
        km_str: gC m-3. Same for structural litter, 5000.
        km_pom: gC m-3. Same for POM, 50000 (Km of SOM ≫ litter, Wieder et al. 2014).
        ea_vmax: J mol-1. Arrhenius activation energy of Vmax, 47000 (Allison et al. 2010,
            Nat. Geosci. 3, 336–340).
        ea_km: J mol-1. Arrhenius activation energy of Km, 30000 (Allison et al. 2010).
        t_ref: °C. Reference temperature of Vmax, Km, CUE and maintenance, 20.
        gas_constant: J mol-1 K-1. Molar gas constant R, 8.314462618 (CODATA 2018).
        cue_met: 1. Carbon-use efficiency on metabolic litter at t_ref, 0.55 (MIMICS).
        cue_str: 1. On structural litter, 0.3 (MIMICS 0.25–0.35).
        cue_pom: 1. On POM, 0.45 (Allison et al. 2010: 0.63 − 0.016·(T − 20) for all).
        cue_slope: °C-1. CUE decline with temperature, 0.012 (Allison et al. 2010: 0.016).
        k_mic: d-1. Microbial turnover at the reference density, 0.015 (MIMICS τ_r = 5.2e-4
            h-1 ≈ 0.0125 d-1, Wieder et al. 2015, Glob. Biogeochem. Cycles 29, 1782–1800).
        mic_ref: gC m-3. Reference microbial density of the density-dependent (β = 2) turnover
            ``k_mic·(c_B/mic_ref)·B``, 500 (Georgiou et al. 2017, Nat. Commun. 8, 1223).
        f_maom: 1. Fraction of microbial necromass sorbed to minerals when MAOM is empty, 0.6
            (Millennial v2, Abramoff et al. 2022, Soil Biol. Biochem. 164, 108466).
        q_max: gC m-3. Mineral sorption capacity (Langmuir maximum), 45000 (86 gC per kg of
            silt+clay, Georgiou et al. 2022, Nat. Commun. 13, 3797, at 40 % silt+clay and bulk
            density 1300 kg m-3).
        k_des: d-1. MAOM desorption to POM at 20 °C, 1e-4 (≈ 27 yr; Millennial v2 order).
        depth_efold: m. e-folding depth of the decomposition depth scalar exp(−z/z_τ), 1.0
            (Koven et al. 2013, Biogeosciences 10, 7109–7131, use 0.5; a deeper z_τ shortens
            the spin-up of the deepest layers).
        w_half: 1. Relative water at which the moisture scalar (1 + w)·W/(w + W) is 1/2 of
            its value at W = 1 when w ≪ 1, 0.2 (saturating moisture response, Moyano et al.
            2013, Biogeosciences 10, 3961–3981).
        bioturbation: m2 d-1. Diffusion of litter, POM and MAOM between layers, 2.74e-7
            (1 cm2 yr-1, Koven et al. 2013).
        thermal_diffusivity: m2 s-1. Soil thermal diffusivity, 5e-7 (Campbell & Norman 1998,
            An Introduction to Environmental Biophysics, ch. 8, moist mineral soil).
        deep_thermal_thickness: m. Thermal-only layer below the carbon layers (heat reservoir
            damping the annual wave; annual damping depth ≈ 2.2 m at κ = 5e-7), 3.0.
        ta_range: °C. Default diurnal air-temperature range (max − min), 10.
        t_max_hour: h. Local solar time of the daily temperature maximum, 15.
        spinup_tol: 1 per century. Largest relative change of a pool kind per century at which
            the spin-up counts as converged, 0.01 (1 % per 100 yr).
        pool_floor: gC m-2. Pools smaller than this are compared against it in the spin-up
            criterion, 1.0.
    """

    n_layers: int = 10
    top_thickness: float = 0.02
    thickness_growth: float = 1.35
    steps_per_day: int = 24
    k_labile: float = 0.1
    r_maint: float = 0.002
    q10_maint: float = 2.0
    labile_half: float = 5.0
    live_wood_fraction: float = 0.02
    growth_resp_fraction: float = 0.25
    f_foliage: float = 0.3
    f_root: float = 0.3
    k_foliage: float = 1.37e-3
    k_root: float = 2.48e-3
    k_wood: float = 5.5e-5
    sla: float = field(default=1.0 / 111.0)
    lignin_n: float = 25.0
    fmet_intercept: float = 0.85
    fmet_slope: float = 0.013
    root_beta: float = 0.966
    v_met: float = 0.3
    v_str: float = 0.1
    v_pom: float = 0.1
    km_met: float = 5000.0
    km_str: float = 5000.0
    km_pom: float = 50000.0
    ea_vmax: float = 47000.0
    ea_km: float = 30000.0
    t_ref: float = 20.0
    gas_constant: float = 8.314462618
    cue_met: float = 0.55
    cue_str: float = 0.3
    cue_pom: float = 0.45
    cue_slope: float = 0.012
    k_mic: float = 0.015
    mic_ref: float = 500.0
    f_maom: float = 0.6
    q_max: float = 45000.0
    k_des: float = 1e-4
    depth_efold: float = 1.0
    w_half: float = 0.2
    bioturbation: float = 1e-4 / 365.0
    thermal_diffusivity: float = 5e-7
    deep_thermal_thickness: float = 3.0
    ta_range: float = 10.0
    t_max_hour: float = 15.0
    spinup_tol: float = 0.01
    pool_floor: float = 1.0


DETAILED = DetailedModelConstants()
__all__ += ["DETAILED", "DetailedModelConstants"]
