"""Pretraining on synthetic runs and the equilibrium emulator (fine-tuning: :mod:`.finetune`).

All training goes through :func:`hybridflux.training.fit` (scan-fused epochs, flat vector);
a row is one run (all its days), so batches are whole sequences. Objectives:

- pretraining: standardised MSE of fluxes and log pool ratios, plus the KGML-ag mass-balance
  terms of :mod:`hybridflux.constraints` with tolerances (Liu et al. 2024): the flux balance
  ``relu(|NEE − (Ra + Rh − GPP)| − 0.01·|Ra + Rh|)`` and the daily pool balance
  ``relu(|ΔΣC − (GPP − Ra − Rh)| − tol)``;
- equilibrium: standardised MSE of log(C* + c) of the spun-up pools, per ensemble member.

Example:
    >>> import jax.numpy as jnp
    >>> float(PretrainObjective(jnp.zeros(5), jnp.ones(5)).flux.weight)
    0.1
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from hybridflux.constraints import PoolMassBalance, ToleranceHinge
from hybridflux.emulator.models import (
    EquilibriumEmulator,
    WindowedEmulator,
    climate_summary,
    pool_ratio,
    set_stats,
)
from hybridflux.emulator.process_model import equilibrium_features
from hybridflux.training import fit

__all__ = [
    "RECENT",
    "sequence_columns",
    "equilibrium_pools",
    "equilibrium_inputs",
    "PretrainObjective",
    "pretrain",
    "train_equilibrium",
]


def sequence_columns(data, static_lat: bool = True) -> dict[str, jax.Array]:
    """Columns of `fit` from `SyntheticData`: drivers, doy, static (θ, lat/90), pools0,
    pools_eq (`equilibrium_pools`), targets.

    Args:
        data: `SyntheticData` (or any object with ``drivers, doy, theta, lat, pools0, fluxes,
            pools``).
        static_lat: append lat / 90 to the static inputs.

    Returns:
        dict of float32 arrays with leading axis = runs.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace as S
        >>> d = S(drivers=np.zeros((2, 5, 5)), doy=np.arange(5.0), theta=np.zeros((2, 1)),
        ...       lat=np.zeros(2), pools0=np.ones((2, 9)), fluxes=np.zeros((2, 5, 4)),
        ...       pools=np.ones((2, 5, 9)))
        >>> {k: v.shape for k, v in sequence_columns(d).items()}["static"]
        (2, 2)
    """
    n, t = data.drivers.shape[:2]
    static = (
        np.concatenate([data.theta, data.lat[:, None] / 90.0], -1) if static_lat else data.theta
    )
    return {
        "drivers": jnp.asarray(data.drivers, jnp.float32),
        "doy": jnp.asarray(np.broadcast_to(data.doy, (n, t)), jnp.float32),
        "static": jnp.asarray(static, jnp.float32),
        "pools0": jnp.asarray(data.pools0, jnp.float32),
        "pools_eq": jnp.asarray(equilibrium_pools(data), jnp.float32),
        "fluxes": jnp.asarray(data.fluxes, jnp.float32),
        "pools": jnp.asarray(data.pools, jnp.float32),
    }


def equilibrium_pools(data) -> np.ndarray:
    """(n, P) spun-up pools C* of every run's cell: the start of the cell's variant-0 run.

    Runs of other variants start from C* times pool factors; a run whose cell has no
    variant-0 run in ``data`` (or data without ``cell``/``variant``) gets its own ``pools0``.

    Example:
        >>> from types import SimpleNamespace as S
        >>> d = S(pools0=np.array([[1.0], [2.0], [3.0]]), cell=np.array([4, 4, 5]),
        ...       variant=np.array([1, 0, 1]))
        >>> equilibrium_pools(d)[:, 0].tolist()
        [2.0, 2.0, 3.0]
    """
    cell, variant = getattr(data, "cell", None), getattr(data, "variant", None)
    pools0 = np.asarray(data.pools0)
    if cell is None or variant is None:
        return pools0
    base = {c: k for k, c in enumerate(cell) if variant[k] == 0}
    return pools0[[base.get(c, k) for k, c in enumerate(cell)]]


#: Recent windows (days before the start of a run) summarised for the equilibrium emulator.
RECENT = (365, 730)


def equilibrium_inputs(theta, drivers, lat, model=None, recent=RECENT) -> jax.Array:
    """Inputs of the equilibrium emulator: θ, climate summaries and the model's features.

    The spun-up state at the start of a run is the state at the end of the spin-up's last
    cycle, so besides the long-term climate it depends on the last years of the cycle (the
    end of the record): `climate_summary` and the model's ``equilibrium_features`` are taken
    over the whole record and over each of its last ``recent`` days.

    Args:
        theta: (n, n_params) parameters.
        drivers: (n, T, 5) daily drivers.
        lat: (n,) degrees north.
        model: the process model; its optional ``equilibrium_features`` are appended.
        recent: window lengths in days (each ≤ T is used).

    Returns:
        (n, n_params + (11 + n_features) · (1 + len(recent))) float32.

    Example:
        >>> equilibrium_inputs(jnp.zeros((2, 3)), jnp.ones((2, 800, 5)), jnp.zeros(2)).shape
        (2, 36)
    """
    drivers = jnp.asarray(drivers, jnp.float32)
    lat = jnp.asarray(lat, jnp.float32)
    parts = [jnp.asarray(theta, jnp.float32)]
    for days in (drivers.shape[-2], *recent):
        window = drivers[..., -min(days, drivers.shape[-2]) :, :]
        parts += [climate_summary(window, lat), equilibrium_features(model, theta, window, lat)]
    return jnp.concatenate(parts, -1)


def _flux_balance(tol: float, weight: float) -> ToleranceHinge:
    """KGML-ag flux balance with a relative tolerance (Liu et al. 2024)."""
    return ToleranceHinge(
        lambda o, b: o["NEE"] - (o["RA"] + o["RH"] - o["GPP"]),
        weight=weight,
        tol=lambda o, b: tol * jnp.abs(o["RA"] + o["RH"]),
        power=1,
        name="flux_balance",
    )


class PretrainObjective:
    """Standardised MSE on synthetic runs plus the two mass-balance hinges.

    Example:
        >>> obj = PretrainObjective(jnp.zeros(5), jnp.ones(5))
        >>> obj.flux.name, obj.pool.tol
        ('flux_balance', 1.0)

    Args:
        y_mean, y_std: output standardisation of the emulator (fluxes, log pool ratios).
        lambda_flux: weight of the flux-balance hinge (gC m-2 d-1).
        flux_tol: relative tolerance of the flux balance (0.01 in KGML-ag).
        lambda_pool: weight of the daily pool-balance hinge (gC m-2).
        pool_tol: absolute tolerance of the pool balance in gC m-2.
    """

    def __init__(
        self, y_mean, y_std, *, lambda_flux=0.1, flux_tol=0.01, lambda_pool=1e-3, pool_tol=1.0
    ):
        self.y_mean, self.y_std = jnp.asarray(y_mean), jnp.asarray(y_std)
        self.flux = _flux_balance(flux_tol, lambda_flux)
        self.pool = PoolMassBalance(weight=lambda_pool, tol=pool_tol)

    def __call__(self, out, batch, weight):
        """``(loss, aux)`` for a batch of runs (``weight`` (N,))."""
        n_f = batch["fluxes"].shape[-1]
        ratio = pool_ratio(batch["pools"], batch["pools0"])
        target = (jnp.concatenate([batch["fluxes"], ratio], -1) - self.y_mean) / self.y_std
        per_row = jnp.mean((out["Z"] - target) ** 2, axis=(1, 2))
        data = jnp.sum(weight * per_row) / jnp.maximum(jnp.sum(weight), 1e-12)
        w_day = jnp.broadcast_to(weight[:, None], out["NEE"].shape)
        start = jnp.concatenate([batch["pools0"][:, None, :], out["POOLS"][:, :-1]], 1)
        pools = {
            "C_POOLS_START": start,
            "C_POOLS_END": out["POOLS"],
            "C_INPUT": out["GPP"],
            "C_OUTPUT": out["RA"] + out["RH"],
        }
        flux_term = self.flux(out, batch, w_day)
        pool_term = self.pool(pools, batch, w_day)
        loss = data + self.flux.weight * flux_term + self.pool.weight * pool_term
        return loss, {
            "data": data,
            "flux_balance": flux_term,
            "pool_balance": pool_term,
            "n_fluxes": jnp.asarray(n_f, jnp.float32),
        }


def _optimizer(lr: float, epochs: int, steps_per_epoch: int, weight_decay: float = 1e-4):
    schedule = optax.cosine_decay_schedule(lr, max(1, epochs * steps_per_epoch), alpha=0.05)
    return optax.chain(
        optax.clip_by_global_norm(1.0), optax.adamw(schedule, weight_decay=weight_decay)
    )


def pretrain(
    columns,
    val_columns=None,
    *,
    hidden=(64, 64),
    epochs=30,
    batch_size=8,
    lr=3e-3,
    seed=0,
    lambda_flux=0.1,
    lambda_pool=1e-3,
    pool_tol=1.0,
    patience=0,
    progress=None,
    checkpointer=None,
    resume=False,
    flux_names=("GPP", "RA", "RH", "NEE"),
):
    """Pretrain a `WindowedEmulator` on synthetic runs (`sequence_columns`).

    ``checkpointer``/``resume`` are passed to `fit` (an interrupted pretraining continues from
    its last checkpoint); ``flux_names`` name the flux columns (the process model's; the last
    is NEE).

    Returns:
        The `FitResult` (``result.model`` the trained emulator).

    Example:
        >>> import numpy as np
        >>> cols = {"drivers": jnp.ones((2, 30, 5)), "doy": jnp.ones((2, 30)),
        ...         "static": jnp.zeros((2, 1)), "pools0": jnp.ones((2, 9)),
        ...         "fluxes": jnp.ones((2, 30, 4)), "pools": jnp.ones((2, 30, 9))}
        >>> pretrain(cols, hidden=(4,), epochs=1, batch_size=2).history["train_loss"].shape
        (1,)
    """
    n_static, n_pools = columns["static"].shape[-1], columns["pools0"].shape[-1]
    n_fluxes = columns["fluxes"].shape[-1]
    model = WindowedEmulator(
        n_static, n_pools, n_fluxes, hidden=hidden, flux_names=flux_names, rngs=nnx.Rngs(seed)
    )
    model.set_input_stats(columns)
    set_stats(model, "y", model.targets(columns["fluxes"], columns["pools"], columns["pools0"]))
    objective = PretrainObjective(
        model.y_mean[...],
        model.y_std[...],
        lambda_flux=lambda_flux,
        lambda_pool=lambda_pool,
        pool_tol=pool_tol,
    )
    steps = -(-columns["static"].shape[0] // batch_size)
    return fit(
        model,
        columns,
        _optimizer(lr, epochs, steps),
        objective=objective,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        val_data=val_columns,
        patience=patience,
        progress=progress,
        eval_chunk_size=batch_size,
        checkpointer=checkpointer,
        resume=resume,
    )


def train_equilibrium(
    x_eq,
    log_pools,
    *,
    val=None,
    hidden=(64, 64),
    epochs=2000,
    lr=3e-3,
    seed=0,
    patience=200,
    weight_decay=1e-3,
    members=1,
    checkpointer=None,
    resume=False,
):
    """Train an `EquilibriumEmulator` on (inputs, log spun-up pools); full-batch Adam.

    Args:
        x_eq: (n, n_in) `equilibrium_inputs`.
        log_pools: (n, n_pools) log(C* + c) of the spun-up pools (c = `POOL_OFFSET`).
        val: optional ``(x_eq, log_pools)`` for early stopping.
        members: ensemble size (each member trained on its own MSE).
        checkpointer, resume: passed to `fit`.

    Returns:
        The `FitResult`.

    Example:
        >>> x, y = jnp.ones((4, 2)), jnp.ones((4, 3))
        >>> train_equilibrium(x, y, hidden=(4,), epochs=2, patience=0).history["train_loss"].shape
        (2,)
    """
    model = EquilibriumEmulator(
        x_eq.shape[-1], log_pools.shape[-1], hidden=hidden, members=members, rngs=nnx.Rngs(seed)
    )
    set_stats(model, "x", x_eq)
    set_stats(model, "y", log_pools)
    mean, std = model.y_mean[...], model.y_std[...]

    def objective(out, batch, weight):
        target = (batch["log_pools"] - mean) / std
        per = jnp.mean((out["Z_MEMBERS"] - target) ** 2, axis=(0, 2))
        return jnp.sum(weight * per) / jnp.maximum(jnp.sum(weight), 1e-12), {}

    data = {"x_eq": jnp.asarray(x_eq), "log_pools": jnp.asarray(log_pools)}
    val_data = (
        None if val is None else {"x_eq": jnp.asarray(val[0]), "log_pools": jnp.asarray(val[1])}
    )
    opt = _optimizer(lr, epochs, 1, weight_decay)
    return fit(
        model,
        data,
        opt,
        objective=objective,
        epochs=epochs,
        batch_size=x_eq.shape[0],
        seed=seed,
        val_data=val_data,
        patience=patience if val is not None else 0,
        checkpointer=checkpointer,
        resume=resume,
    )
