"""Fine-tuning on real observations, keeping the pretrained response curves.

``finetune`` trains a network on observed fluxes (masked MSE of NEE, GPP, RECO where present)
with the KGML-ag flux-balance hinge (:mod:`hybridflux.constraints`, Liu et al. 2024) and,
against drifting away from what pretraining learned, either a frozen part (only the output
layer trained, ``last_layer_only``) or the L2-SP penalty ``λ·DRIFT`` (`Anchored`; Li,
Grandvalet & Davoine 2018, ICML), or both. Full batch: rows of weight 0 are ignored, so
training sets of any size share one data shape. ``new_like`` gives the from-scratch twin.

Example:
    >>> import jax.numpy as jnp
    >>> masked_sq(jnp.array([[1.0, 2.0]]), jnp.array([[0.0, jnp.nan]]), jnp.ones(1)).tolist()
    [1.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from hybridflux.emulator.models import Anchored, DriverMLP, WindowedEmulator
from hybridflux.emulator.train import _flux_balance, _optimizer
from hybridflux.training import fit

__all__ = ["masked_sq", "FinetuneObjective", "finetune", "new_like"]


def masked_sq(pred: jax.Array, obs: jax.Array, weight: jax.Array) -> jax.Array:
    """Per-row mean squared error over the finite observations (rows (N, T), weight (N,)).

    Returns (N,): 0 for rows without a finite observation (double ``where``, STYLE rule 7).

    Example:
        >>> masked_sq(jnp.ones((1, 2)), jnp.array([[0.0, jnp.nan]]), jnp.ones(1)).tolist()
        [1.0]
    """
    valid = jnp.isfinite(obs) & (weight[:, None] > 0)
    err = jnp.where(valid, pred - jnp.where(valid, obs, 0.0), 0.0) ** 2
    count = valid.sum(-1)
    return jnp.where(count > 0, err.sum(-1) / jnp.maximum(count, 1), 0.0)


class FinetuneObjective:
    """Masked MSE of observed fluxes + flux-balance hinge + λ·DRIFT (when the model has it).

    Example:
        >>> out = {"NEE": jnp.array([[1.0, 2.0]])}
        >>> batch = {"obs": jnp.array([[0.0, jnp.nan]])}
        >>> float(FinetuneObjective({"NEE": "obs"}, lambda_flux=0.0)(out, batch, jnp.ones(1))[0])
        1.0

    Args:
        targets: model output → batch column of observations (e.g. ``{"NEE": "NEE"}``).
        lambda_flux: weight of the flux-balance hinge (needs RA, RH outputs).
        lambda_drift: weight of the L2-SP drift term.
    """

    def __init__(self, targets: Mapping[str, str], *, lambda_flux=0.1, lambda_drift=0.0):
        self.targets = dict(targets)
        self.flux = _flux_balance(0.01, lambda_flux)
        self.lambda_drift = float(lambda_drift)

    def __call__(self, out, batch, weight):
        """``(loss, aux)``."""
        wsum = jnp.maximum(jnp.sum(weight), 1e-12)
        loss, aux = jnp.zeros(()), {}
        for name, col in self.targets.items():
            aux[name] = jnp.sum(weight * masked_sq(out[name], batch[col], weight)) / wsum
            loss = loss + aux[name]
        if "RA" in out and self.flux.weight > 0:
            w_day = jnp.broadcast_to(weight[:, None], out["NEE"].shape)
            aux["flux_balance"] = self.flux(out, batch, w_day)
            loss = loss + self.flux.weight * aux["flux_balance"]
        if "DRIFT" in out and self.lambda_drift > 0:
            aux["drift"] = out["DRIFT"]
            loss = loss + self.lambda_drift * out["DRIFT"]
        return loss, aux


def finetune(
    model,
    columns,
    targets,
    *,
    weight=None,
    epochs=300,
    lr=1e-3,
    lambda_flux=0.1,
    lambda_drift=0.0,
    seed=0,
    last_layer_only=False,
):
    """Fine-tune (or train) ``model`` on observations, full batch (one compile per shape).

    Args:
        model: a network; wrapped in `Anchored` when ``lambda_drift > 0``.
        columns: `fit` columns (drivers, doy, static, pools0 and the observation columns).
        targets: model output → observation column.
        weight: (N,) row weights (0 = not a training row; rows padded to a fixed N keep one
            compilation for every training-set size).
        last_layer_only: train only the output layer (the pretrained hidden layers, i.e. the
            learned response curves, stay frozen).

    Returns:
        The `FitResult`; ``result.model`` is the network (unwrapped).

    Example:
        >>> from hybridflux.emulator.models import DriverMLP
        >>> cols = {"drivers": jnp.ones((2, 30, 5)), "doy": jnp.ones((2, 30)),
        ...         "obs_NEE": jnp.zeros((2, 30))}
        >>> _, net = finetune(DriverMLP(hidden=(4,), rngs=nnx.Rngs(0)), cols, {"NEE": "obs_NEE"},
        ...                   epochs=2)
        >>> type(net).__name__
        'DriverMLP'
    """
    net = Anchored(model) if lambda_drift > 0 else model
    trainable = nnx.Param
    if last_layer_only:
        last = len(model.net.layers) - 1
        trainable = nnx.All(nnx.Param, _OutputLayer(last))
    objective = FinetuneObjective(
        targets,
        lambda_flux=lambda_flux if isinstance(model, WindowedEmulator) else 0.0,
        lambda_drift=lambda_drift,
    )
    n = next(iter(columns.values())).shape[0]
    result = fit(
        net,
        columns,
        _optimizer(lr, epochs, 1),
        objective=objective,
        epochs=epochs,
        batch_size=n,
        seed=seed,
        weight=weight,
        trainable=trainable,
    )
    return result, (result.model.net if lambda_drift > 0 else result.model)


class _OutputLayer:
    """nnx filter: variables of layer ``index`` of an MLP (``.../layers/index/...``)."""

    def __init__(self, index: int):
        self.index = index

    def __call__(self, path, value) -> bool:
        pairs = zip(path[:-1], path[1:], strict=True)
        return any(a == "layers" and b == self.index for a, b in pairs)


def new_like(model: nnx.Module, seed: int) -> nnx.Module:
    """A freshly initialised copy of a `WindowedEmulator` or `DriverMLP` with its `Stat`s.

    Example:
        >>> em = WindowedEmulator(2, 9, 4, hidden=(4,), rngs=nnx.Rngs(0))
        >>> type(new_like(em, seed=1)).__name__
        'WindowedEmulator'
    """
    if isinstance(model, WindowedEmulator):
        n_in, n_out = model.x_mean[...].size, model.y_mean[...].size
        n_pools = n_out - model.n_fluxes
        n_static = n_in - 5 * (1 + len(model.windows)) - 5 - 2 * n_pools
        hidden = [layer.out_features for layer in model.net.layers[:-1]]
        fresh = WindowedEmulator(
            n_static,
            n_pools,
            model.n_fluxes,
            hidden=hidden,
            windows=model.windows,
            flux_names=model.flux_names,
            rngs=nnx.Rngs(seed),
        )
    else:
        hidden = [layer.out_features for layer in model.net.layers[:-1]]
        fresh = DriverMLP(hidden=hidden, rngs=nnx.Rngs(seed))
    for name in ("x_mean", "x_std", "y_mean", "y_std"):
        getattr(fresh, name)[...] = getattr(model, name)[...]
    return fresh
