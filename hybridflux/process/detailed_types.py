"""Typed pytrees of the detailed (hourly, layered, microbial) model, :mod:`.detailed`.

- `DetailedForcings`: daily drivers (disaggregated to hours inside the model);
- `DetailedState`: four vegetation pools, five soil pools per layer and soil temperature;
- `DetailedParams`: every parameter (built from `hybridflux.constants.DETAILED` by
  `DetailedParams.default`), the soil layer geometry and the root profile included;
- `DetailedDaily`: daily sums of the fluxes and the pools at the end of each day.

All are `typing.NamedTuple` (JAX pytrees). Any leaf may carry a leading cell axis; the layered
leaves (`DetailedState` soil pools, `DetailedParams.thickness`, ...) have the layer axis last.

Example:
    >>> p = DetailedParams.default()
    >>> print(p.thickness.shape, round(float(p.thickness.sum()), 2), round(float(p.f_met), 3))
    (10,) 1.09 0.525
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hybridflux.constants import CANOPY, DETAILED, DetailedModelConstants
from hybridflux.process.gpp import LUEParams

__all__ = [
    "POOL_KINDS",
    "DetailedDaily",
    "DetailedForcings",
    "DetailedParams",
    "DetailedState",
    "layer_thickness",
    "litter_metabolic_fraction",
    "root_profile",
]

#: Names of the nine pool kinds of `DetailedState.pools` (soil kinds summed over layers).
POOL_KINDS = (
    "labile",
    "foliage",
    "wood",
    "root",
    "litter_met",
    "litter_str",
    "microbes",
    "pom",
    "maom",
)


class DetailedForcings(NamedTuple):
    """Daily drivers, disaggregated to an hourly diurnal cycle by the model.

    Attributes:
        ta: °C. Daily mean air temperature [TA_F].
        sw_in: W m-2. Daily mean incoming shortwave radiation [SW_IN_F].
        vpd: hPa. Daily mean vapour pressure deficit [VPD_F].
        w: 1. Relative soil water, 0 (wilting point) to 1 (field capacity).
        doy: day of year, 1..366 (sets the diurnal shape of the radiation).
        lat: degrees north (sets the diurnal shape of the radiation).
        ta_range: °C. Diurnal range of air temperature (TMAX − TMIN), default 10.

    Example:
        >>> DetailedForcings(10.0, 200.0, 5.0, 1.0, 180.0, 45.0).ta_range
        10.0
    """

    ta: ArrayLike
    sw_in: ArrayLike
    vpd: ArrayLike
    w: ArrayLike
    doy: ArrayLike
    lat: ArrayLike
    ta_range: ArrayLike = DETAILED.ta_range


class DetailedState(NamedTuple):
    """State of one cell: vegetation pools, soil pools per layer (layer axis last), soil T.

    Attributes:
        labile: gC m-2. Non-structural carbon (GPP enters here).
        foliage: gC m-2. Leaf carbon; LAI = SLA · foliage.
        wood: gC m-2. Stem, branch and coarse-root carbon.
        root: gC m-2. Fine-root carbon.
        litter_met: (L,) gC m-2. Metabolic litter per layer.
        litter_str: (L,) gC m-2. Structural litter per layer.
        microbes: (L,) gC m-2. Microbial biomass per layer.
        pom: (L,) gC m-2. Particulate (microbially available) organic matter per layer.
        maom: (L,) gC m-2. Mineral-associated organic matter per layer.
        soil_temp: (L+1,) °C. Soil temperature per layer and of the thermal-only layer below
            the carbon column (not carbon).

    Example:
        >>> DetailedState.initial(DetailedParams.default()).soil_temp.shape
        (11,)
    """

    labile: ArrayLike
    foliage: ArrayLike
    wood: ArrayLike
    root: ArrayLike
    litter_met: ArrayLike
    litter_str: ArrayLike
    microbes: ArrayLike
    pom: ArrayLike
    maom: ArrayLike
    soil_temp: ArrayLike

    def pools(self) -> jax.Array:
        """The nine pool kinds of `POOL_KINDS` (soil summed over layers), gC m-2, axis last.

        Example:
            >>> s = DetailedState.initial(DetailedParams.default())
            >>> s.pools().shape
            (9,)
        """
        veg = [jnp.asarray(x) for x in self[:4]]
        soil = [jnp.sum(jnp.asarray(x), axis=-1) for x in self[4:9]]
        return jnp.stack(veg + soil, axis=-1)

    def carbon(self) -> jax.Array:
        """Total carbon of the cell, gC m-2.

        Example:
            >>> s = DetailedState.initial(DetailedParams.default())
            >>> round(float(s.carbon()))
            7500
        """
        return jnp.sum(self.pools(), axis=-1)

    @classmethod
    def initial(cls, params: DetailedParams, soil_temp: ArrayLike = 10.0) -> DetailedState:
        """A cold-start state for a spin-up: small vegetation, soil carbon ∝ root profile.

        Args:
            params: `DetailedParams` (layer geometry and root profile, unbatched).
            soil_temp: °C. Initial soil temperature of every layer (L + 1 values).

        Returns:
            labile 50, foliage 100, wood 1000, root 100 gC m-2; per layer litter 50 (met) and
            150 (str), microbes 50, POM 2000 and MAOM 4000 gC m-2 times the root fraction.

        Example:
            >>> s = DetailedState.initial(DetailedParams.default())
            >>> round(float(s.maom.sum()))
            4000
        """
        r = jnp.asarray(params.root_fraction)
        temp = jnp.broadcast_to(jnp.asarray(soil_temp, r.dtype), (*r.shape[:-1], r.shape[-1] + 1))
        return cls(
            50.0, 100.0, 1000.0, 100.0, 50.0 * r, 150.0 * r, 50.0 * r, 2e3 * r, 4e3 * r, temp
        )


class DetailedParams(NamedTuple):
    """Parameters of the detailed model (rates at 20 °C, W = 1, z = 0; see `DETAILED`).

    Attributes:
        lue: `LUEParams` of the hourly light-use-efficiency GPP.
        k_extinction: 1. Beer's-law extinction coefficient.
        sla: m2 gC-1. Specific leaf area per carbon.
        k_labile: d-1. Labile → growth flux rate.
        r_maint: gC gC-1 d-1. Maintenance respiration at t_ref.
        q10_maint: 1. Q10 of maintenance respiration.
        labile_half: gC m-2. Half-saturation of maintenance respiration in available labile C.
        live_wood_fraction: 1. Respiring fraction of wood.
        growth_resp_fraction: 1. Growth respiration per carbon allocated.
        f_foliage, f_root: 1. Allocation of growth to foliage and fine roots (rest to wood).
        k_foliage, k_root, k_wood: d-1. Litterfall and wood turnover rates.
        f_met: 1. Metabolic fraction of leaf and root litter.
        v_met, v_str, v_pom: d-1. Max. uptake per gC microbes of each substrate.
        km_met, km_str, km_pom: gC m-3. Half-saturation concentrations.
        ea_vmax, ea_km: J mol-1. Arrhenius activation energies of Vmax and Km.
        cue_met, cue_str, cue_pom: 1. Carbon-use efficiencies at t_ref.
        cue_slope: °C-1. CUE decline with temperature.
        k_mic: d-1. Microbial turnover at the density mic_ref.
        mic_ref: gC m-3. Reference microbial density.
        f_maom: 1. Necromass fraction sorbed to empty minerals.
        q_max: gC m-3. Langmuir sorption capacity.
        k_des: d-1. MAOM desorption rate.
        w_half: 1. Half-saturation of the moisture scalar.
        bioturbation: m2 d-1. Diffusivity of litter, POM and MAOM.
        thermal_diffusivity: m2 s-1. Soil thermal diffusivity.
        depth_efold: m. e-folding depth of the decomposition depth scalar.
        t_ref: °C. Reference temperature.
        thickness: (L,) m. Layer thicknesses, top first.
        root_fraction: (L,) 1. Fraction of root litter entering each layer (sums to 1).

    Example:
        >>> DetailedParams.default().k_mic
        0.015
    """

    lue: LUEParams
    k_extinction: ArrayLike
    sla: ArrayLike
    k_labile: ArrayLike
    r_maint: ArrayLike
    q10_maint: ArrayLike
    labile_half: ArrayLike
    live_wood_fraction: ArrayLike
    growth_resp_fraction: ArrayLike
    f_foliage: ArrayLike
    f_root: ArrayLike
    k_foliage: ArrayLike
    k_root: ArrayLike
    k_wood: ArrayLike
    f_met: ArrayLike
    v_met: ArrayLike
    v_str: ArrayLike
    v_pom: ArrayLike
    km_met: ArrayLike
    km_str: ArrayLike
    km_pom: ArrayLike
    ea_vmax: ArrayLike
    ea_km: ArrayLike
    cue_met: ArrayLike
    cue_str: ArrayLike
    cue_pom: ArrayLike
    cue_slope: ArrayLike
    k_mic: ArrayLike
    mic_ref: ArrayLike
    f_maom: ArrayLike
    q_max: ArrayLike
    k_des: ArrayLike
    w_half: ArrayLike
    bioturbation: ArrayLike
    thermal_diffusivity: ArrayLike
    depth_efold: ArrayLike
    t_ref: ArrayLike
    thickness: ArrayLike
    root_fraction: ArrayLike

    @classmethod
    def default(
        cls, constants: DetailedModelConstants = DETAILED, lue: LUEParams | None = None
    ) -> DetailedParams:
        """Literature defaults (`DETAILED`), MOD17 ENF light use (`LUEParams.default`).

        Args:
            constants: the constants dataclass to read.
            lue: GPP parameters, default `LUEParams.default()`.

        Returns:
            Scalar parameters as Python floats, geometry as (L,) numpy float64 arrays.

        Example:
            >>> p = DetailedParams.default()
            >>> print(p.v_met, round(float(p.root_fraction.sum()), 6))
            0.3 1.0
        """
        c = constants
        thickness = layer_thickness(c.n_layers, c.top_thickness, c.thickness_growth)
        scalars = {
            name: getattr(c, name)
            for name in cls._fields
            if name not in ("lue", "k_extinction", "f_met", "thickness", "root_fraction")
        }
        return cls(
            lue=LUEParams.default() if lue is None else lue,
            k_extinction=CANOPY.k_extinction,
            f_met=min(max(c.fmet_intercept - c.fmet_slope * c.lignin_n, 0.05), 0.95),
            thickness=thickness,
            root_fraction=_root_profile_numpy(c.root_beta, thickness),
            **scalars,
        )


class DetailedDaily(NamedTuple):
    """Daily output: carbon fluxes summed over the day and pools at the end of the day.

    Attributes:
        gpp: gC m-2 d-1. Gross primary production.
        ra: gC m-2 d-1. Autotrophic respiration (maintenance + growth).
        rh: gC m-2 d-1. Heterotrophic (microbial) respiration.
        nee: gC m-2 d-1. Ra + Rh − GPP (positive = source, FLUXNET convention).
        litterfall: gC m-2 d-1. Foliage, fine-root and wood litter entering the soil.
        pools: (9,) gC m-2. The `POOL_KINDS` at the end of the day.

    Example: see `hybridflux.process.detailed.simulate`.
    """

    gpp: jax.Array
    ra: jax.Array
    rh: jax.Array
    nee: jax.Array
    litterfall: jax.Array
    pools: jax.Array


def layer_thickness(n_layers: int, top: float, growth: float) -> np.ndarray:
    """Geometric soil layering ``Δz_i = Δz_0 · g^i``, i = 0..n−1.

    Args:
        n_layers: number of layers.
        top: Δz_0 in m.
        growth: g, ratio of successive thicknesses (1).

    Returns:
        (n_layers,) thicknesses in m (float64).

    Reference:
        Oleson et al. (2013), CLM4.5 Technical Note, §6.1 (exponentially deepening layers).

    Example:
        >>> [round(float(x), 4) for x in layer_thickness(3, 0.02, 1.5)]
        [0.02, 0.03, 0.045]
    """
    if n_layers < 1 or top <= 0 or growth <= 0:
        raise ValueError(
            f"layer_thickness: need n >= 1, top > 0, growth > 0, got {n_layers}, {top}, {growth}."
        )
    return top * growth ** np.arange(n_layers, dtype=np.float64)


def root_profile(beta: ArrayLike, thickness: ArrayLike) -> jax.Array:
    """Fraction of roots in each layer from Jackson's ``Y(d) = 1 − β^d`` (d in cm), normalised.

    ``r_i = (β^{d_i,top} − β^{d_i,bottom}) / (1 − β^{d_total})`` so that Σ r_i = 1 over the
    modelled column.

    Args:
        beta: β, dimensionless, 0 < β < 1 (larger = deeper roots).
        thickness: (L,) layer thicknesses in m.

    Returns:
        (L,) root fractions, dimensionless.

    Reference:
        Jackson et al. (1996), Oecologia 108, 389–411.

    Example:
        >>> [round(float(x), 3) for x in root_profile(0.9, jnp.array([0.1, 0.1]))]
        [0.741, 0.259]
    """
    bottom = jnp.cumsum(jnp.asarray(thickness), axis=-1) * 100.0
    top = bottom - jnp.asarray(thickness) * 100.0
    beta = jnp.asarray(beta)[..., None]
    share = beta**top - beta**bottom
    return share / jnp.sum(share, axis=-1, keepdims=True)


def _root_profile_numpy(beta: float, thickness: np.ndarray) -> np.ndarray:
    """`root_profile` in numpy (usable inside a jit trace, for the defaults)."""
    bottom = np.cumsum(thickness) * 100.0
    share = beta ** (bottom - thickness * 100.0) - beta**bottom
    return share / share.sum()


def litter_metabolic_fraction(
    lignin_n: ArrayLike, constants: DetailedModelConstants = DETAILED
) -> jax.Array:
    """Metabolic fraction of litter ``fMET = clip(a − b · lignin:N, 0.05, 0.95)``.

    Args:
        lignin_n: lignin:N ratio of the litter, dimensionless.
        constants: a = fmet_intercept, b = fmet_slope.

    Returns:
        fMET, dimensionless.

    Reference:
        Parton et al. (1987), Soil Sci. Soc. Am. J. 51, 1173–1179; Wieder et al. (2014), MIMICS.

    Example:
        >>> round(float(litter_metabolic_fraction(25.0)), 3)
        0.525
    """
    value = constants.fmet_intercept - constants.fmet_slope * jnp.asarray(lignin_n)
    return jnp.clip(value, 0.05, 0.95)
