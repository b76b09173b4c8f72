"""Pure-JAX process library: radiation, GPP, respiration, soil pools, the ecosystem model.

No flax/optax/xarray here (DESIGN.md, docs/design/0001); functions are scalar-first and
jit/vmap/grad-safe. Submodules: :mod:`~hybridflux.process.radiation`,
:mod:`~hybridflux.process.gpp`, :mod:`~hybridflux.process.respiration`,
:mod:`~hybridflux.process.soil_pools`, :mod:`~hybridflux.process.soil_steady_state`,
:mod:`~hybridflux.process.ecosystem`, :mod:`~hybridflux.process.balance`.

    >>> from hybridflux.process import q10_respiration
    >>> round(float(q10_respiration(25.0, 2.0, 1.5)), 3)
    3.0
"""

from hybridflux.process import balance as balance
from hybridflux.process import ecosystem as ecosystem
from hybridflux.process import gpp as gpp
from hybridflux.process import radiation as radiation
from hybridflux.process import respiration as respiration
from hybridflux.process import soil_pools as soil_pools
from hybridflux.process import soil_steady_state as soil_steady_state
from hybridflux.process.balance import flux_balance_residual as flux_balance_residual
from hybridflux.process.balance import pool_mass_balance_residual as pool_mass_balance_residual
from hybridflux.process.ecosystem import CarbonState as CarbonState
from hybridflux.process.ecosystem import EcosystemParams as EcosystemParams
from hybridflux.process.ecosystem import Fluxes as Fluxes
from hybridflux.process.ecosystem import Forcings as Forcings
from hybridflux.process.ecosystem import simulate as simulate
from hybridflux.process.ecosystem import simulate_cells as simulate_cells
from hybridflux.process.gpp import LUEParams as LUEParams
from hybridflux.process.gpp import fapar_from_lai as fapar_from_lai
from hybridflux.process.gpp import gpp_lue as gpp_lue
from hybridflux.process.gpp import lue_gpp as lue_gpp
from hybridflux.process.radiation import daily_potential_radiation as daily_potential_radiation
from hybridflux.process.radiation import par_from_shortwave as par_from_shortwave
from hybridflux.process.radiation import potential_radiation as potential_radiation
from hybridflux.process.respiration import lloyd_taylor as lloyd_taylor
from hybridflux.process.respiration import q10_respiration as q10_respiration
from hybridflux.process.soil_pools import SoilPoolParams as SoilPoolParams
from hybridflux.process.soil_steady_state import steady_state as steady_state

__all__ = [
    "CarbonState",
    "EcosystemParams",
    "Fluxes",
    "Forcings",
    "LUEParams",
    "SoilPoolParams",
    "balance",
    "daily_potential_radiation",
    "ecosystem",
    "fapar_from_lai",
    "flux_balance_residual",
    "gpp",
    "gpp_lue",
    "lloyd_taylor",
    "lue_gpp",
    "par_from_shortwave",
    "pool_mass_balance_residual",
    "potential_radiation",
    "q10_respiration",
    "radiation",
    "respiration",
    "simulate",
    "simulate_cells",
    "soil_pools",
    "soil_steady_state",
    "steady_state",
]
