"""The process model as an object the emulator harness drives: a protocol and the worked case.

The harness (:mod:`.generate`, :mod:`.speedup`) never names a model: it receives an object
with the methods of :class:`ProcessModel` — sample parameters from priors, spin up, simulate,
read and scale pools (and, optionally, ``equilibrium_features``: cheap summaries that help the
equilibrium emulator). :class:`DetailedProcessModel` adapts the hourly microbial model of
:mod:`hybridflux.process.detailed`; a user points the same harness at their own model by
writing such an adapter (any class with these attributes and methods).

Drivers cross the boundary as arrays: ``values`` (n_cells, T, 5) in the order of
:data:`hybridflux.emulator.drivers.DRIVER_NAMES` (°C, W m-2, hPa, 1, °C), ``doy`` (T,) and
``lat`` (n_cells,). Parameters are ``theta`` (n_cells, n_params) in prior order.

Example:
    >>> import numpy as np
    >>> model = DetailedProcessModel({"eps_max": (0.8, 1.2), "silt_clay": (0.2, 0.6)})
    >>> theta = model.sample_parameters(np.random.default_rng(0), 3)
    >>> theta.shape, model.param_names
    ((3, 2), ('eps_max', 'silt_clay'))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from hybridflux.constants import DETAILED
from hybridflux.process.detailed import (
    POOL_KINDS,
    DetailedForcings,
    DetailedParams,
    DetailedState,
    simulate_cells,
)
from hybridflux.process.detailed_soil import arrhenius, moisture_scalar
from hybridflux.process.detailed_spinup import spin_up_cells
from hybridflux.process.detailed_types import litter_metabolic_fraction, root_profile
from hybridflux.process.gpp import gpp_lue
from hybridflux.process.radiation import par_from_shortwave, w_m2_to_mj_per_day

__all__ = [
    "ProcessModel",
    "DetailedProcessModel",
    "equilibrium_features",
    "FLUX_NAMES",
    "MAOM_CAPACITY_PER_FINE",
]

#: Daily flux outputs of the worked case (gC m-2 d-1, NEE positive = source).
FLUX_NAMES = ("GPP", "RA", "RH", "NEE")
#: gC m-3 of sorption capacity per unit silt+clay fraction: 86 gC kg-1 (Georgiou et al. 2022,
#: Nat. Commun. 13, 3797) times a bulk density of 1300 kg m-3.
MAOM_CAPACITY_PER_FINE = 86.0 * 1300.0
_DERIVED = ("lignin_n", "root_beta", "silt_clay")


@runtime_checkable
class ProcessModel(Protocol):
    """What the emulator harness needs from a process model.

    The emulator's mass-balance terms assume the fluxes are the daily sums ``GPP, RA, RH, NEE``
    (gC m-2 d-1, NEE = RA + RH − GPP) and that the pools hold all the model's carbon (their
    daily change is GPP − RA − RH); `run_workflow` checks the flux names.

    Attributes:
        flux_names: names of the daily flux outputs: ``("GPP", "RA", "RH", "NEE")``.
        pool_names: names of the pool kinds reported daily.
        param_names: names of the sampled parameters (columns of ``theta``).

    Example: see the module docstring (`DetailedProcessModel` satisfies it); a two-pool
    bucket model in ``tests/emulator/test_custom_model.py`` runs the whole workflow.
    """

    flux_names: tuple[str, ...]
    pool_names: tuple[str, ...]
    param_names: tuple[str, ...]

    def sample_parameters(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, n_params) parameter values drawn from the priors."""

    def prior_mean(self) -> np.ndarray:
        """(n_params,) the prior means (used for real sites with unknown parameters)."""

    def spin_up(self, theta, values, doy, lat) -> tuple[Any, np.ndarray, np.ndarray]:
        """(state, years (n,), converged (n,)) after cycling the drivers to equilibrium."""

    def simulate(self, theta, state, values, doy, lat) -> tuple[Any, jax.Array, jax.Array]:
        """(end state, fluxes (n, T, n_fluxes), pools (n, T, n_pools)) over the drivers."""

    def pools(self, state) -> jax.Array:
        """(n, n_pools) the pool kinds of a state."""

    def scale_pools(self, state, factors) -> Any:
        """The state with each pool kind multiplied by ``factors`` (n, n_pools)."""


def equilibrium_features(model, theta, values, lat) -> jax.Array:
    """Extra inputs of the equilibrium emulator: ``model.equilibrium_features`` if it has one.

    A process model may offer cheap, traceable summaries of what sets its equilibrium (e.g.
    potential productivity); a model without returns an empty (n, 0) array.

    Example:
        >>> import numpy as np
        >>> equilibrium_features(object(), np.zeros((2, 1)), np.zeros((2, 3, 5)), np.zeros(2)).shape
        (2, 0)
    """
    fn = getattr(model, "equilibrium_features", None)
    if fn is None:
        return jnp.zeros((jnp.shape(theta)[0], 0), jnp.float32)
    return fn(theta, values, lat)


class DetailedProcessModel:
    """Adapter of :mod:`hybridflux.process.detailed` to :class:`ProcessModel`.

    Args:
        priors: parameter → (low, high) of a uniform prior. Names: any scalar field of
            `DetailedParams` (``v_pom``, ``k_des``, ``r_maint``, ...), a field of `LUEParams`
            (``eps_max``, ...), or ``lignin_n`` (→ fMET), ``root_beta`` (→ root profile),
            ``silt_clay`` (→ q_max = 86 gC kg-1 · 1300 kg m-3 · fraction).
        spinup_tol: 1 per century, spin-up tolerance.
        max_years: most spin-up years.
        window_years: least years between spin-up convergence checks.

    Raises:
        ValueError: an unknown parameter name or a prior with low > high.

    Example:
        >>> model = DetailedProcessModel({"silt_clay": (0.4, 0.4)})
        >>> round(float(model.params(np.array([[0.4]])).q_max[0]))
        44720
    """

    flux_names = FLUX_NAMES
    pool_names = POOL_KINDS

    def __init__(
        self,
        priors: Mapping[str, tuple[float, float]],
        *,
        spinup_tol: float = DETAILED.spinup_tol,
        max_years: int = 3000,
        window_years: float = 10.0,
    ):
        defaults = DetailedParams.default()
        scalar = {f for f in defaults._fields if np.ndim(getattr(defaults, f)) == 0}
        allowed = (scalar - {"lue"}) | set(defaults.lue._fields) | set(_DERIVED)
        for name, (lo, hi) in priors.items():
            if name not in allowed:
                raise ValueError(f"prior {name!r}: unknown parameter; known: {sorted(allowed)}")
            if not lo <= hi:
                raise ValueError(f"prior {name!r}: low {lo} > high {hi}")
        self.priors = {k: (float(v[0]), float(v[1])) for k, v in priors.items()}
        self.param_names = tuple(self.priors)
        self.spinup_tol, self.max_years = float(spinup_tol), int(max_years)
        self.window_years = float(window_years)

    def sample_parameters(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, n_params) uniform draws from the priors."""
        lo = np.array([v[0] for v in self.priors.values()])
        hi = np.array([v[1] for v in self.priors.values()])
        return (lo + (hi - lo) * rng.random((n, lo.size))).astype(np.float32)

    def prior_mean(self) -> np.ndarray:
        """(n_params,) midpoints of the uniform priors."""
        return np.array([(a + b) / 2 for a, b in self.priors.values()], np.float32)

    def params(self, theta: jax.Array) -> DetailedParams:
        """`DetailedParams` with the sampled columns of ``theta`` (n, n_params) per cell."""
        p = DetailedParams.default()
        lue, updates = p.lue._asdict(), {}
        for j, name in enumerate(self.param_names):
            col = jnp.asarray(theta[:, j], jnp.float32)
            if name == "lignin_n":
                updates["f_met"] = litter_metabolic_fraction(col)
            elif name == "root_beta":
                updates["root_fraction"] = root_profile(col, jnp.asarray(p.thickness, col.dtype))
            elif name == "silt_clay":
                updates["q_max"] = MAOM_CAPACITY_PER_FINE * col
            elif name in lue:
                lue[name] = col
            else:
                updates[name] = col
        return p._replace(lue=type(p.lue)(**lue), **updates)

    @staticmethod
    def forcings(values, doy, lat) -> DetailedForcings:
        """`DetailedForcings` (n, T) from the driver arrays."""
        v = jnp.asarray(values, jnp.float32)
        return DetailedForcings(
            v[..., 0],
            v[..., 1],
            v[..., 2],
            v[..., 3],
            jnp.asarray(doy, jnp.float32)[None, :],
            jnp.asarray(lat, jnp.float32)[:, None],
            v[..., 4],
        )

    def initial_state(self, theta) -> DetailedState:
        """The cold-start `DetailedState.initial` of each cell (its own root profile)."""
        p = self.params(theta)
        root = jnp.broadcast_to(jnp.asarray(p.root_fraction, jnp.float32), (theta.shape[0], 10))
        s = DetailedState.initial(p._replace(root_fraction=root))
        return jax.tree.map(
            lambda x: (
                jnp.broadcast_to(x, (theta.shape[0], *jnp.shape(x)[1:]))
                if jnp.ndim(x)
                else jnp.full(theta.shape[0], x, jnp.float32)
            ),
            s,
        )

    def spin_up(self, theta, values, doy, lat):
        """Spin up every cell from a cold start, cycling its driver years (jit(vmap))."""
        state, status = spin_up_cells(
            self.params(theta),
            self.initial_state(theta),
            self.forcings(values, doy, lat),
            self.spinup_tol,
            max_years=self.max_years,
            window_years=self.window_years,
        )
        return state, status.years, status.converged

    def simulate(self, theta, state, values, doy, lat):
        """Run the cells over the drivers (jit(vmap(scan))): fluxes (n, T, 4), pools (n, T, 9)."""
        end, daily = simulate_cells(self.params(theta), state, self.forcings(values, doy, lat))
        fluxes = jnp.stack([daily.gpp, daily.ra, daily.rh, daily.nee], axis=-1)
        return end, fluxes, daily.pools

    def equilibrium_features(self, theta, values, lat) -> jax.Array:
        """(n, 3) log means of potential GPP, soil rate scalar and maintenance factor.

        Potential GPP is `gpp_lue` at fAPAR = 1 with the cell's ε_max (gC m-2 d-1); the soil
        scalar is Arrhenius(T_air, E_a,V) · f_W(W); the maintenance factor Q10^((T − 20)/10).
        Cheap daily summaries (jnp, traceable) of what sets the equilibrium.
        """
        v = jnp.asarray(values, jnp.float32)
        p = self.params(jnp.asarray(theta, jnp.float32))
        eps = jnp.broadcast_to(jnp.asarray(p.lue.eps_max, jnp.float32), v.shape[:1])[:, None]
        par = w_m2_to_mj_per_day(par_from_shortwave(v[..., 1]))
        lue = p.lue._replace(eps_max=eps)
        gpp = gpp_lue(lue, par, 1.0, v[..., 0], v[..., 2], v[..., 3])
        soil = arrhenius(v[..., 0], p.ea_vmax, p.t_ref) * moisture_scalar(v[..., 3], p.w_half)
        maint = p.q10_maint ** ((v[..., 0] - p.t_ref) / 10.0)
        parts = [gpp.mean(-1), soil.mean(-1), jnp.broadcast_to(maint.mean(-1), v.shape[:1])]
        return jnp.log(jnp.maximum(jnp.stack(parts, -1), 1e-6))

    def pools(self, state: DetailedState) -> jax.Array:
        """(n, 9) the `POOL_KINDS` of a state."""
        return state.pools()

    def scale_pools(self, state: DetailedState, factors) -> DetailedState:
        """Each pool kind (all layers of a soil kind) times its factor; soil T unchanged."""
        f = jnp.asarray(factors, jnp.float32)
        scaled = [
            x * f[:, k] if jnp.ndim(x) == 1 else x * f[:, k, None] for k, x in enumerate(state[:9])
        ]
        return DetailedState(*scaled, state.soil_temp)
