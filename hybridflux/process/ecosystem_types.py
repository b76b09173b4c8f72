"""Typed pytrees of the daily ecosystem carbon model (:mod:`hybridflux.process.ecosystem`).

`Forcings` (daily drivers), `CarbonState` (five carbon pools), `EcosystemParams` (parameters,
built from `hybridflux.constants.ECOSYSTEM`, `CANOPY` and `LUE` by `EcosystemParams.default`)
and `Fluxes` (daily carbon fluxes and diagnostics). All are `typing.NamedTuple`, hence native
JAX pytrees: every leaf may be a scalar (one cell, one day), an array over time ``(T,)`` or over
cells and time ``(n_cells, T)``.

Example:
    >>> p = EcosystemParams.default()
    >>> print(round(p.f_foliage, 2), round(1.0 / p.sla))
    0.31 111
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import CANOPY, ECOSYSTEM
from hybridflux.process.gpp import LUEParams

__all__ = ["CarbonState", "EcosystemParams", "Fluxes", "Forcings", "as_forcings", "as_state"]


class Forcings(NamedTuple):
    """Daily meteorological drivers (FLUXNET names in brackets).

    Attributes:
        ta: °C. Daily mean air temperature [TA_F].
        sw_in: W m-2. Daily mean incoming shortwave radiation [SW_IN_F].
        vpd: hPa. Daily mean vapour pressure deficit [VPD_F].
        w: 1. Relative soil water, 0 (wilting point) to 1 (field capacity); default 1.0
            (no water limitation). A scalar is broadcast over time by `simulate`.
    """

    ta: ArrayLike
    sw_in: ArrayLike
    vpd: ArrayLike
    w: ArrayLike = 1.0


class CarbonState(NamedTuple):
    """The five carbon pools of the DALEC evergreen model (Williams et al. 2005).

    A state with zero foliage stays at zero GPP forever (LAI = 0): seed spin-ups with some
    foliage carbon.

    Attributes:
        foliage: gC m-2. Foliage carbon C_f; LAI = SLA · C_f.
        wood: gC m-2. Wood (stem, branches, coarse roots) carbon C_w.
        root: gC m-2. Fine-root carbon C_r.
        litter: gC m-2. Fine litter carbon C_lit (fed by foliage and fine roots).
        som: gC m-2. Soil organic matter and coarse woody debris C_som (fed by litter and wood).
    """

    foliage: ArrayLike
    wood: ArrayLike
    root: ArrayLike
    litter: ArrayLike
    som: ArrayLike

    def total(self) -> jax.Array:
        """Total ecosystem carbon Σ pools in gC m-2.

        Example:
            >>> print(float(CarbonState(1.0, 2.0, 3.0, 4.0, 5.0).total()))
            15.0
        """
        return (
            jnp.asarray(self.foliage)
            + jnp.asarray(self.wood)
            + jnp.asarray(self.root)
            + jnp.asarray(self.litter)
            + jnp.asarray(self.som)
        )


class EcosystemParams(NamedTuple):
    """Parameters of the daily ecosystem model (a pytree; any leaf may be per cell).

    Attributes:
        lue: `LUEParams` of the light-use-efficiency GPP (ε_max in gC MJ-1, ramps in °C, hPa, 1).
        f_auto: 1. Ra / GPP (DALEC p2).
        f_foliage: 1. Fraction of NPP allocated to foliage (p3).
        f_root: 1. Fraction of the remaining NPP allocated to fine roots, rest to wood (p4).
        k_foliage: d-1. Foliage turnover (litterfall) rate (p5).
        k_wood: d-1. Wood turnover rate, wood → SOM (p6).
        k_root: d-1. Fine-root turnover rate (p7).
        k_litter_decomp: d-1. Litter → SOM transfer rate, times the decomposition modifier (p1).
        k_litter_resp: d-1. Litter mineralisation rate (respired), times the modifier (p8).
        k_som: d-1. SOM mineralisation rate, times the modifier (p9).
        theta: °C-1. Exponent of the temperature rate ``a · exp(θ·T)`` (p10).
        temperature_rate_factor: 1. Prefactor a of the temperature rate (0.5 in DALEC).
        decomp_water_sensitivity: 1. s in the water scalar ``1 − s·(1 − W)`` (0 in DALEC).
        sla: m2 gC-1. Specific leaf area per unit carbon (1 / LMA).
        k_extinction: 1. Beer's-law extinction coefficient, fAPAR = 1 − exp(−k·LAI).
    """

    lue: LUEParams
    f_auto: ArrayLike
    f_foliage: ArrayLike
    f_root: ArrayLike
    k_foliage: ArrayLike
    k_wood: ArrayLike
    k_root: ArrayLike
    k_litter_decomp: ArrayLike
    k_litter_resp: ArrayLike
    k_som: ArrayLike
    theta: ArrayLike
    temperature_rate_factor: ArrayLike
    decomp_water_sensitivity: ArrayLike
    sla: ArrayLike
    k_extinction: ArrayLike

    @classmethod
    def default(cls, lue: LUEParams | None = None) -> EcosystemParams:
        """DALEC evergreen defaults (`ECOSYSTEM`, Williams et al. 2005), k from `CANOPY`.

        Args:
            lue: GPP parameters; by default `LUEParams.default()` (MOD17 evergreen needleleaf,
                Running & Zhao 2015).

        Returns:
            Parameters as Python floats (weakly typed: they follow the x64 setting).

        Example:
            >>> p = EcosystemParams.default()
            >>> print(p.k_wood, p.theta, p.k_extinction)
            2.06e-06 0.0693 0.5
        """
        e = ECOSYSTEM
        return cls(
            lue=LUEParams.default() if lue is None else lue,
            f_auto=e.f_auto,
            f_foliage=e.f_foliage,
            f_root=e.f_root,
            k_foliage=e.k_foliage,
            k_wood=e.k_wood,
            k_root=e.k_root,
            k_litter_decomp=e.k_litter_decomp,
            k_litter_resp=e.k_litter_resp,
            k_som=e.k_som,
            theta=e.theta,
            temperature_rate_factor=e.temperature_rate_factor,
            decomp_water_sensitivity=e.decomp_water_sensitivity,
            sla=e.sla,
            k_extinction=CANOPY.k_extinction,
        )


class Fluxes(NamedTuple):
    """Daily carbon fluxes (gC m-2 d-1, positive numbers unless stated) and canopy diagnostics.

    Attributes:
        gpp: Gross primary production.
        ra: Autotrophic respiration, f_auto · GPP.
        npp: Net primary production, GPP − Ra.
        rh: Heterotrophic respiration, rh_litter + rh_som.
        reco: Ecosystem respiration, Ra + Rh.
        nee: Net ecosystem exchange, Ra + Rh − GPP (positive = source to the atmosphere,
            FLUXNET convention).
        litterfall: Total transfer from live to dead pools, foliage + root litter + wood
            turnover.
        alloc_foliage: NPP allocated to foliage.
        alloc_wood: NPP allocated to wood.
        alloc_root: NPP allocated to fine roots.
        litterfall_foliage: Foliage → litter.
        litterfall_root: Fine roots → litter.
        wood_turnover: Wood → SOM.
        litter_to_som: Litter → SOM (decomposition, DALEC flux D).
        rh_litter: Litter mineralisation.
        rh_som: SOM mineralisation.
        lai: m2 m-2. Leaf area index at the start of the day.
        fapar: 1. Fraction of absorbed PAR at the start of the day.
    """

    gpp: jax.Array
    ra: jax.Array
    npp: jax.Array
    rh: jax.Array
    reco: jax.Array
    nee: jax.Array
    litterfall: jax.Array
    alloc_foliage: jax.Array
    alloc_wood: jax.Array
    alloc_root: jax.Array
    litterfall_foliage: jax.Array
    litterfall_root: jax.Array
    wood_turnover: jax.Array
    litter_to_som: jax.Array
    rh_litter: jax.Array
    rh_som: jax.Array
    lai: jax.Array
    fapar: jax.Array


def as_forcings(forcings: Forcings, where: str, ndim: int) -> Forcings:
    """Broadcast the forcing fields to one shape with ``ndim`` axes (time last), or raise.

    Args:
        forcings: `Forcings` with array or scalar fields (ta °C, sw_in W m-2, vpd hPa, w 1).
        where: name of the calling function, used in the error message.
        ndim: required number of axes: 1 for (T,), 2 for (n_cells, T).

    Returns:
        `Forcings` whose fields are arrays of one common shape.

    Raises:
        ValueError: the fields do not broadcast together or have the wrong number of axes.

    Example:
        >>> f = as_forcings(Forcings(ta=jnp.zeros(3), sw_in=100.0, vpd=5.0), "demo", ndim=1)
        >>> print(f.w.shape, float(f.w[0]))
        (3,) 1.0
    """
    arrays = [jnp.asarray(x) for x in forcings]
    try:
        shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as err:
        shapes = {name: a.shape for name, a in zip(Forcings._fields, arrays, strict=True)}
        raise ValueError(f"{where}: forcing fields do not broadcast together: {shapes}.") from err
    if len(shape) != ndim:
        expected = "(T,)" if ndim == 1 else "(n_cells, T)"
        raise ValueError(
            f"{where}: forcings must have shape {expected} (time on the last axis), got {shape}."
        )
    return Forcings(*(jnp.broadcast_to(a, shape) for a in arrays))


def as_state(state: CarbonState, forcings: Forcings, shape: tuple[int, ...]) -> CarbonState:
    """Cast the pools (gC m-2) to the floating dtype of the forcing and broadcast to ``shape``.

    Args:
        state: `CarbonState` with scalar or array pools in gC m-2.
        forcings: `Forcings` whose ``ta`` dtype is used (JAX's default float if not floating).
        shape: target shape of every pool, () for one cell, (n_cells,) for many.

    Returns:
        `CarbonState` of arrays of ``shape``.

    Example:
        >>> s = as_state(CarbonState(1, 2, 3, 4, 5), Forcings(jnp.zeros(2), 0.0, 0.0), (2,))
        >>> print(s.som.shape, s.som.dtype)
        (2,) float32
    """
    ta = jnp.asarray(forcings.ta)
    dtype = ta.dtype if jnp.issubdtype(ta.dtype, jnp.floating) else float
    return CarbonState(*(jnp.broadcast_to(jnp.asarray(x, dtype), shape) for x in state))
