"""Carbon-balance and tolerance constraint terms for the training objective.

Each term penalises a residual ``r`` that should vanish, with a tolerance:
``penalty = Σ w_i · relu(|r_i| − tol)^p / Σ w_i`` — ``p = 1`` is the mass-balance loss of
KGML-ag (Liu et al. 2024, Nat. Commun. 15, 357), ``p = 2, tol = 0`` the
λ·(NEE − (RECO − GPP))² term of TAM-RL (Renganathan et al. 2026). They are combined with the
data losses by :class:`hybridflux.losses.Objective`.

Example:
    >>> import jax.numpy as jnp
    >>> out = {"NEE": jnp.array([-1.0]), "RECO": jnp.array([2.0]), "GPP": jnp.array([2.5])}
    >>> round(float(FluxBalance(1.0)(out, {})), 3)  # (−1 − (2 − 2.5))² = 0.25
    0.25
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.losses import require_output as _get
from hybridflux.losses import weighted_mean
from hybridflux.process.balance import flux_balance_residual, pool_mass_balance_residual

__all__ = ["tolerance_hinge", "ToleranceHinge", "FluxBalance", "PoolMassBalance"]

ResidualFn = Callable[[Mapping[str, jax.Array], Mapping[str, ArrayLike]], jax.Array]


def tolerance_hinge(residual: ArrayLike, tol: ArrayLike = 0.0, power: int = 1) -> jax.Array:
    """Elementwise ``relu(|r| − tol)^p``: no penalty within the tolerance.

    Args:
        residual: r, units of the balance (e.g. gC m-2 d-1).
        tol: tolerance ≥ 0, same units (scalar or per row).
        power: p, 1 (KGML-ag) or 2 (squared penalty).

    Returns:
        Penalty per element, units of r to the power p.

    Reference:
        Liu et al. (2024), Nat. Commun. 15, 357, mass-balance loss.

    Example:
        >>> import jax.numpy as jnp
        >>> [round(float(v), 3) for v in tolerance_hinge(jnp.array([0.05, -0.3]), tol=0.1)]
        [0.0, 0.2]
    """
    return jax.nn.relu(jnp.abs(jnp.asarray(residual)) - tol) ** int(power)


class _Constraint:
    """Shared penalty of the constraint terms: ``Σ w_i relu(|r_i| − tol_i)^p / Σ w_i``."""

    weight: float
    power: int
    name: str

    def residual(self, outputs, batch) -> jax.Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def tolerance(self, outputs, batch) -> ArrayLike:
        """The tolerance (absolute, in the units of the residual)."""
        return self.tol

    def __call__(
        self,
        outputs: Mapping[str, jax.Array],
        batch: Mapping[str, ArrayLike],
        weight: ArrayLike | None = None,
    ) -> jax.Array:
        """The penalty (before multiplying by ``self.weight``), a scalar.

        Args:
            outputs: model outputs, name → ``(N,)`` (pools ``(N, n)``).
            batch: the batch of ``(N,)`` columns.
            weight: optional ``(N,)`` row weights (0 for padding rows).

        Returns:
            The weighted mean of ``relu(|r| − tol)^p`` over the rows.
        """
        r = self.residual(outputs, batch)
        w = jnp.ones_like(r) if weight is None else jnp.asarray(weight, dtype=r.dtype)
        return weighted_mean(tolerance_hinge(r, self.tolerance(outputs, batch), self.power), w)


@dataclasses.dataclass(frozen=True)
class ToleranceHinge(_Constraint):
    """A general constraint ``λ · mean_w relu(|r| − tol)^p`` on a residual of the outputs.

    Args:
        residual: ``residual(outputs, batch) -> (N,)``, zero when the constraint holds.
        weight: λ, the weight of the term in the objective.
        tol: absolute tolerance (units of r), or ``tol(outputs, batch) -> (N,)`` for a
            relative one.
        power: p, 1 (KGML-ag, default) or 2.
        name: key of the term in the objective's aux dict.

    Reference:
        Liu et al. (2024), Nat. Commun. 15, 357: ``mean(relu(|GPP + Ra + Rh + NEE| −
        0.01·|Ra + Rh|))`` in that paper's sign convention (NEE < 0 a source of CO2 uptake).

    Example:
        >>> import jax.numpy as jnp
        >>> kgml = ToleranceHinge(
        ...     lambda o, b: o["GPP"] + o["RA"] + o["RH"] + o["NEE"],
        ...     tol=lambda o, b: 0.01 * jnp.abs(o["RA"] + o["RH"]), name="kgml")
        >>> out = {k: jnp.array([v]) for k, v in
        ...        {"GPP": 5.0, "RA": -2.0, "RH": -1.0, "NEE": -2.0}.items()}
        >>> float(kgml(out, {}))
        0.0
    """

    residual_fn: ResidualFn
    weight: float = 1.0
    tol: float | ResidualFn = 0.0
    power: int = 1
    name: str = "hinge"

    def residual(self, outputs, batch) -> jax.Array:
        """``residual_fn(outputs, batch)``."""
        return jnp.asarray(self.residual_fn(outputs, batch))

    def tolerance(self, outputs, batch) -> ArrayLike:
        """The tolerance, evaluated when it is a function."""
        return self.tol(outputs, batch) if callable(self.tol) else self.tol


@dataclasses.dataclass(frozen=True)
class FluxBalance(_Constraint):
    """Flux-balance constraint ``λ · mean_w relu(|NEE − (RECO − GPP)| − tol)^p``.

    Outputs in physical units (gC m-2 d-1), FLUXNET sign convention; zero for a model that
    builds ``NEE = RECO − GPP`` in (e.g. :func:`hybridflux.hybrid.models.lue_q10_nee`), useful
    for models that predict the three fluxes separately.

    Args:
        weight: λ.
        tol: absolute tolerance in gC m-2 d-1.
        power: p, 2 (default, the TAM-RL squared term) or 1.
        nee: output name of NEE.
        reco: output name of RECO.
        gpp: output name of GPP.
        name: key in the aux dict.

    Reference:
        Renganathan et al. (2026), TAM-RL; Reichstein et al. (2022).

    Example:
        >>> import jax.numpy as jnp
        >>> out = {"NEE": jnp.array([0.0]), "RECO": jnp.array([2.0]), "GPP": jnp.array([3.0])}
        >>> float(FluxBalance()(out, {}))
        1.0
    """

    weight: float = 1.0
    tol: float = 0.0
    power: int = 2
    nee: str = "NEE"
    reco: str = "RECO"
    gpp: str = "GPP"
    name: str = "flux_balance"

    def residual(self, outputs, batch) -> jax.Array:
        """``NEE − (RECO − GPP)`` per row, gC m-2 d-1."""
        get = [_get(outputs, k, "FluxBalance") for k in (self.nee, self.reco, self.gpp)]
        return flux_balance_residual(*get)


@dataclasses.dataclass(frozen=True)
class PoolMassBalance(_Constraint):
    """Pool mass-balance constraint ``λ · mean_w relu(|ΔΣC − (I − O)·dt| − tol)^p``.

    Expected model outputs (names configurable): ``"C_POOLS_START"`` and ``"C_POOLS_END"``,
    pools ``(N, n_pools)`` in gC m-2 at the start and end of the step; ``"C_INPUT"`` and
    ``"C_OUTPUT"``, ``(N,)`` mean carbon input (e.g. litter fall, NPP) and output (e.g. Rh)
    rates in gC m-2 d-1 over the step.

    Args:
        weight: λ.
        tol: absolute tolerance in gC m-2.
        power: p, 1 (default, KGML-ag) or 2.
        c_before: output name of the pools at the start.
        c_after: output name of the pools at the end.
        inputs: output name of the input rate.
        outputs: output name of the output rate.
        dt: step length in d.
        name: key in the aux dict.

    Reference:
        Liu et al. (2024), Nat. Commun. 15, 357; Xia et al. (2012) matrix pool models.

    Example:
        >>> import jax.numpy as jnp
        >>> out = {"C_POOLS_START": jnp.array([[10.0, 5.0]]),
        ...        "C_POOLS_END": jnp.array([[10.5, 5.0]]),
        ...        "C_INPUT": jnp.array([2.0]), "C_OUTPUT": jnp.array([1.5])}
        >>> float(PoolMassBalance()(out, {}))
        0.0
    """

    weight: float = 1.0
    tol: float = 0.0
    power: int = 1
    c_before: str = "C_POOLS_START"
    c_after: str = "C_POOLS_END"
    inputs: str = "C_INPUT"
    outputs: str = "C_OUTPUT"
    dt: float = 1.0
    name: str = "pool_mass_balance"

    def residual(self, outputs, batch) -> jax.Array:
        """``ΣC_after − ΣC_before − (I − O)·dt`` per row, gC m-2."""
        keys = (self.c_before, self.c_after, self.inputs, self.outputs)
        get = [_get(outputs, k, "PoolMassBalance") for k in keys]
        return pool_mass_balance_residual(*get, dt=self.dt)
