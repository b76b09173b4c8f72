"""Emulator networks (flax NNX): a windowed MLP over daily drivers and an equilibrium emulator.

`WindowedEmulator` maps, for every day t of a run, the drivers of the day, their trailing means
over several windows (7 to 365 days, the record wrapped around as in a spin-up cycle), the
season, the time since the start, the static parameters, the initial pools and their distance
from the spun-up state C* (zero when the run starts from equilibrium) to the day's fluxes and
pools::

    x_t = [d_t, mean_{w}(d)_{t}, sin/cos(doy), exp(−t/τ), θ, lat, log C₀, log(C₀/C*)]
    y_t = MLP(standardise(x_t)) → fluxes_t,  pools_t = (C₀ + c) · exp(log-ratio_t) − c

All days are independent given their windows, so a run is one batched matrix product per layer
(no recurrence), jitted and vmapped over cells. `EquilibriumEmulator` maps the long-term
climate of a cell and its parameters to the log of its spun-up pools, so the emulator needs no
spin-up. `DriverMLP` is the pure-ML baseline (drivers and their windows only). Inputs and
outputs are standardised with `Stat` variables set from data (`set_stats`), not trained.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> em = WindowedEmulator(n_static=3, n_pools=9, n_fluxes=4, rngs=nnx.Rngs(0))
    >>> batch = {"drivers": jnp.ones((2, 400, 5)), "doy": jnp.ones((2, 400)),
    ...          "static": jnp.ones((2, 3)), "pools0": jnp.ones((2, 9))}
    >>> out = em(batch)
    >>> out["NEE"].shape, out["POOLS"].shape
    ((2, 400), (2, 400, 9))
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from hybridflux.hybrid.params import Stat
from hybridflux.modulators.mlp import MLP

__all__ = [
    "WINDOWS",
    "POOL_OFFSET",
    "pool_ratio",
    "window_features",
    "climate_summary",
    "WindowedEmulator",
    "EquilibriumEmulator",
    "DriverMLP",
    "Anchored",
    "set_stats",
    "mean_std",
]

#: Trailing-mean windows of the drivers in days.
WINDOWS = (7, 30, 91, 365)
#: gC m-2 added to pools in the log ratios, so that a pool that empties (labile carbon in a
#: starving winter) keeps finite targets.
POOL_OFFSET = 1.0
#: Time constants (days) of the "time since start" features exp(−t/τ).
_DECAY = (30.0, 365.0, 3650.0)
_YEAR = 365


def window_features(drivers: jax.Array, doy: jax.Array, windows: Sequence[int] = WINDOWS):
    """Daily features of one or many runs: drivers, trailing means, season, time since start.

    Trailing means use the record wrapped around (the run's last year precedes its first day,
    as in the spin-up that produced its initial state): ``mean_w(d)_t = (S_{t} − S_{t−w}) / w``
    with S the cumulative sum of the wrapped record.

    Args:
        drivers: (..., T, D) daily drivers (any units; T ≥ 1).
        doy: (..., T) day of year.
        windows: trailing windows in days (≤ 365).

    Returns:
        (..., T, D + D·len(windows) + 2 + 3) features.

    Example:
        >>> window_features(jnp.ones((10, 2)), jnp.arange(10.0)).shape
        (10, 15)
    """
    t = drivers.shape[-2]
    reps = -(-_YEAR // t)
    wrapped = jnp.concatenate([jnp.concatenate([drivers] * reps, -2)[..., -_YEAR:, :], drivers], -2)
    zero = jnp.zeros_like(wrapped[..., :1, :])
    cum = jnp.concatenate([zero, jnp.cumsum(wrapped, axis=-2)], axis=-2)
    end = cum[..., _YEAR + 1 :, :]
    means = [(end - cum[..., _YEAR + 1 - w : _YEAR + 1 - w + t, :]) / w for w in windows]
    angle = 2.0 * jnp.pi * doy / _YEAR
    days = jnp.broadcast_to(jnp.arange(t, dtype=drivers.dtype), doy.shape)
    decay = [jnp.exp(-days / tau) for tau in _DECAY]
    extra = jnp.stack([jnp.sin(angle), jnp.cos(angle), *decay], -1)
    return jnp.concatenate([drivers, *means, extra], axis=-1)


def climate_summary(drivers: jax.Array, lat: jax.Array) -> jax.Array:
    """Long-term climate of a run: means and spreads of the drivers, and latitude.

    Args:
        drivers: (..., T, 5) drivers (ta °C, sw_in W m-2, vpd hPa, w 1, ta_range °C).
        lat: (...) degrees north.

    Returns:
        (..., 11): the mean and standard deviation over time of every driver, and lat / 90.

    Example:
        >>> climate_summary(jnp.ones((3, 400, 5)), jnp.zeros(3)).shape
        (3, 11)
    """
    parts = [drivers.mean(-2), drivers.std(-2), jnp.asarray(lat)[..., None] / 90.0]
    return jnp.concatenate(parts, axis=-1)


def pool_ratio(pools: jax.Array, pools0: jax.Array) -> jax.Array:
    """Log pool ratio ``log((C_t + c) / (C₀ + c))``, c = `POOL_OFFSET` (empty pools stay finite).

    Args:
        pools: (..., T, P) gC m-2.
        pools0: (..., P) gC m-2 at the start.

    Returns:
        (..., T, P), dimensionless.

    Example:
        >>> round(float(pool_ratio(jnp.array([[3.0]]), jnp.array([1.0]))[0, 0]), 4)
        0.6931
    """
    start = jnp.maximum(pools0, 0.0)[..., None, :] + POOL_OFFSET
    return jnp.log((jnp.maximum(pools, 0.0) + POOL_OFFSET) / start)


def _stats(n: int) -> tuple[Stat, Stat]:
    return Stat(jnp.zeros(n)), Stat(jnp.ones(n))


def _standardise(x, mean: Stat, std: Stat):
    return (x - mean[...]) / std[...]


def mean_std(values: jax.Array, floor: float = 1e-6) -> tuple[jax.Array, jax.Array]:
    """Mean and std over all leading axes, ignoring non-finite values (std ≥ ``floor``).

    A column without finite values gets mean 0 and std 1.

    Example:
        >>> m, s = mean_std(jnp.array([[1.0, jnp.nan], [3.0, jnp.nan]]))
        >>> m.tolist(), s.tolist()
        ([2.0, 0.0], [1.0, 1.0])
    """
    flat = jnp.reshape(values, (-1, values.shape[-1]))
    ok = jnp.isfinite(flat)
    count = jnp.maximum(ok.sum(0), 1)
    mean = jnp.where(ok, flat, 0.0).sum(0) / count
    var = jnp.where(ok, (flat - mean) ** 2, 0.0).sum(0) / count
    return mean, jnp.where(ok.any(0), jnp.maximum(jnp.sqrt(var), floor), 1.0)


def set_stats(module: nnx.Module, name: str, values: jax.Array, floor: float = 1e-6) -> None:
    """Set the ``<name>_mean`` / ``<name>_std`` `Stat` pair of ``module`` from data.

    Args:
        module: a network of this module.
        name: ``"x"`` (inputs) or ``"y"`` (outputs).
        values: (..., n) samples (`mean_std` over all leading axes).
        floor: smallest std (a near-constant input must not be scaled up without bound).

    Example:
        >>> from flax import nnx
        >>> em = EquilibriumEmulator(2, 3, rngs=nnx.Rngs(0))
        >>> set_stats(em, "y", jnp.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
        >>> em.y_mean[...].tolist()
        [2.0, 2.0, 2.0]
    """
    mean, std = mean_std(values, floor)
    getattr(module, f"{name}_mean")[...] = mean
    getattr(module, f"{name}_std")[...] = std


class WindowedEmulator(nnx.Module):
    """Windowed MLP emulator of a process model's daily fluxes and pools (module docstring).

    Args:
        n_static: number of static inputs (parameters, latitude).
        n_pools: number of pool kinds.
        n_fluxes: number of daily fluxes; the last must be NEE for `outputs` naming.
        n_drivers: daily drivers per day.
        hidden: hidden layer widths.
        windows: trailing-mean windows in days.
        flux_names: output names of the fluxes.
        rngs: ``nnx.Rngs``.

    Example: see the module docstring.
    """

    def __init__(
        self,
        n_static: int,
        n_pools: int,
        n_fluxes: int,
        *,
        n_drivers: int = 5,
        hidden: Sequence[int] = (64, 64),
        windows: Sequence[int] = WINDOWS,
        flux_names: Sequence[str] = ("GPP", "RA", "RH", "NEE"),
        rngs: nnx.Rngs,
    ):
        self.windows = tuple(int(w) for w in windows)
        self.flux_names = tuple(flux_names)
        n_in = n_drivers * (1 + len(self.windows)) + 5 + n_static + 2 * n_pools
        self.net = MLP(n_in, hidden, n_fluxes + n_pools, activation=jax.nn.gelu, rngs=rngs)
        self.x_mean, self.x_std = _stats(n_in)
        self.y_mean, self.y_std = _stats(n_fluxes + n_pools)
        self.n_fluxes = n_fluxes

    def split_features(self, batch) -> tuple[jax.Array, jax.Array]:
        """Raw inputs: per day (N, T, n_daily) and per run (N, n_static + 2P).

        The per-run part ends with log(C₀ + c) and log((C₀ + c)/(C* + c)), C* =
        ``batch["pools_eq"]`` (the spun-up pools of the cell; ``pools0`` when absent, i.e.
        the run starts from equilibrium).
        """
        daily = window_features(batch["drivers"], batch["doy"], self.windows)
        log_pools = jnp.log(jnp.maximum(batch["pools0"], 0.0) + POOL_OFFSET)
        pools_eq = batch.get("pools_eq", batch["pools0"])
        diseq = log_pools - jnp.log(jnp.maximum(pools_eq, 0.0) + POOL_OFFSET)
        return daily, jnp.concatenate([batch["static"], log_pools, diseq], -1)

    def features(self, batch) -> jax.Array:
        """(N, T, n_in) raw (not standardised) inputs of every day."""
        daily, static = self.split_features(batch)
        static = jnp.broadcast_to(static[..., None, :], (*daily.shape[:-1], static.shape[-1]))
        return jnp.concatenate([daily, static], -1)

    def set_input_stats(self, batch) -> None:
        """Input standardisation from the runs of ``batch`` (daily and per-run parts apart,
        so the per-run inputs are never broadcast over days)."""
        daily, static = self.split_features(batch)
        (m_d, s_d), (m_s, s_s) = mean_std(daily), mean_std(static)
        self.x_mean[...] = jnp.concatenate([m_d, m_s])
        self.x_std[...] = jnp.concatenate([s_d, s_s])

    def __call__(self, batch) -> dict[str, jax.Array]:
        """Outputs ``GPP, RA, RH, NEE`` (N, T), ``RECO`` = RA + RH, ``POOLS`` (N, T, P).

        The first layer is applied to the daily and the per-run inputs separately (the
        per-run part once per run, then broadcast over days): the same product, fewer FLOPs.
        """
        daily, static = self.split_features(batch)
        n = daily.shape[-1]
        mean, std = self.x_mean[...], self.x_std[...]
        first, layers = self.net.layers[0], self.net.layers
        kernel = first.kernel[...]
        once = ((static - mean[n:]) / std[n:]) @ kernel[n:] + first.bias[...]
        h = ((daily - mean[:n]) / std[:n]) @ kernel[:n] + once[..., None, :]
        for layer in layers[1:]:
            h = layer(self.net.activation(h))
        y = h * self.y_std[...] + self.y_mean[...]
        out = {name: y[..., k] for k, name in enumerate(self.flux_names)}
        start = batch["pools0"][..., None, :] + POOL_OFFSET
        out["POOLS"] = start * jnp.exp(y[..., self.n_fluxes :]) - POOL_OFFSET
        out["Z"] = h
        if "RA" in out and "RH" in out:
            out["RECO"] = out["RA"] + out["RH"]
        return out

    def targets(self, fluxes: jax.Array, pools: jax.Array, pools0: jax.Array) -> jax.Array:
        """(N, T, F + P) raw targets: fluxes and `pool_ratio` log((C_t + c)/(C₀ + c))."""
        return jnp.concatenate([fluxes, pool_ratio(pools, pools0)], -1)


class EquilibriumEmulator(nnx.Module):
    """Spun-up pools from long-term climate and parameters: ``log(C* + c) = mean_k MLP_k(x)``.

    An ensemble of ``members`` MLPs (trained side by side, each on its own loss) whose mean is
    the prediction: few training cells (each a full spin-up) make single networks noisy.

    Args:
        n_in: inputs (`hybridflux.emulator.train.equilibrium_inputs`).
        n_pools: pool kinds.
        hidden: hidden widths.
        members: ensemble size.
        rngs: ``nnx.Rngs``.

    Example:
        >>> eq = EquilibriumEmulator(3, 9, hidden=(4,), members=2, rngs=nnx.Rngs(0))
        >>> eq({"x_eq": jnp.zeros((5, 3))})["Z_MEMBERS"].shape
        (2, 5, 9)
    """

    def __init__(
        self,
        n_in: int,
        n_pools: int,
        *,
        hidden: Sequence[int] = (64, 64),
        members: int = 1,
        rngs: nnx.Rngs,
    ):
        self.nets = nnx.List(
            [MLP(n_in, hidden, n_pools, activation=jax.nn.gelu, rngs=rngs) for _ in range(members)]
        )
        self.x_mean, self.x_std = _stats(n_in)
        self.y_mean, self.y_std = _stats(n_pools)

    def __call__(self, batch) -> dict[str, jax.Array]:
        """``LOG_POOLS`` log(C* + c), ``POOLS0`` C* in gC m-2, ``Z`` and ``Z_MEMBERS``."""
        x = _standardise(batch["x_eq"], self.x_mean, self.x_std)
        members = jnp.stack([net(x) for net in self.nets])
        z = members.mean(0)
        log_pools = z * self.y_std[...] + self.y_mean[...]
        pools = jnp.maximum(jnp.exp(log_pools) - POOL_OFFSET, 0.0)
        return {"LOG_POOLS": log_pools, "POOLS0": pools, "Z": z, "Z_MEMBERS": members}


class DriverMLP(nnx.Module):
    """Pure-ML baseline: the day's drivers and trailing means → GPP, RECO, NEE.

    Args:
        n_drivers: drivers per day.
        hidden: hidden widths.
        rngs: ``nnx.Rngs``.

    Example:
        >>> net = DriverMLP(hidden=(4,), rngs=nnx.Rngs(0))
        >>> net({"drivers": jnp.ones((1, 10, 5)), "doy": jnp.ones((1, 10))})["NEE"].shape
        (1, 10)
    """

    names = ("GPP", "RECO", "NEE")

    def __init__(self, n_drivers: int = 5, *, hidden: Sequence[int] = (64, 64), rngs: nnx.Rngs):
        n_in = n_drivers * (1 + len(WINDOWS)) + 5
        self.net = MLP(n_in, hidden, 3, activation=jax.nn.gelu, rngs=rngs)
        self.x_mean, self.x_std = _stats(n_in)
        self.y_mean, self.y_std = _stats(3)

    def features(self, batch) -> jax.Array:
        """(N, T, n_in) raw inputs."""
        return window_features(batch["drivers"], batch["doy"])

    def __call__(self, batch) -> dict[str, jax.Array]:
        """``GPP, RECO, NEE`` (N, T)."""
        z = self.net(_standardise(self.features(batch), self.x_mean, self.x_std))
        y = z * self.y_std[...] + self.y_mean[...]
        return {name: y[..., k] for k, name in enumerate(self.names)}


class Anchor(nnx.Variable):
    """A frozen copy of a pretrained weight (not trained: not an ``nnx.Param``).

    Example:
        >>> float(Anchor(jnp.ones(()))[...])
        1.0
    """


class Anchored(nnx.Module):
    """A network plus frozen copies of its current weights; outputs gain ``DRIFT``.

    ``DRIFT = Σ_i (w_i − w_i,pre)² / n`` (the L2-SP penalty, Li, Grandvalet & Davoine 2018,
    ICML), so fine-tuning with ``λ·DRIFT`` keeps the pretrained response curves close.

    Args:
        net: the pretrained network (its weights become the anchor).

    Example:
        >>> from flax import nnx
        >>> a = Anchored(EquilibriumEmulator(2, 3, rngs=nnx.Rngs(0)))
        >>> float(a({"x_eq": jnp.ones((1, 2))})["DRIFT"])
        0.0
    """

    def __init__(self, net: nnx.Module):
        self.net = net
        params = jax.tree.leaves(nnx.state(net, nnx.Param))
        self.anchor = nnx.List([Anchor(jnp.array(p)) for p in params])
        self.size = int(sum(p.size for p in params))

    def __call__(self, batch) -> dict[str, jax.Array]:
        """The network's outputs and ``DRIFT`` (a scalar)."""
        out = dict(self.net(batch))
        params = jax.tree.leaves(nnx.state(self.net, nnx.Param))
        anchors = [a[...] for a in self.anchor]
        drift = sum(jnp.sum((p - a) ** 2) for p, a in zip(params, anchors, strict=True))
        out["DRIFT"] = drift / self.size
        return out
