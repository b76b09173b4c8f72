"""Posterior inference: NUTS with several chains, or stochastic variational inference (SVI).

- :func:`run_nuts` — the No-U-Turn sampler (Hoffman & Gelman 2014, J. Mach. Learn. Res. 15,
  1593–1623) with ``chains`` chains: ``"vectorized"`` (all chains in one ``vmap`` on one
  device) unless ``jax.local_device_count() >= chains``, then ``"parallel"`` (one chain per
  device, ``pmap``). Divergent transitions are recorded.
- :func:`run_svi` — SVI with an ``AutoNormal`` (mean-field) or ``AutoMultivariateNormal``
  (full-rank) guide, Adam, for data too large for NUTS; pass ``subsample_size`` to the model
  for minibatches. The guide's draws form one "chain".

Both are seeded (``seed``) and return a :class:`Posterior`: every scalar parameter as a
``(chain, draw)`` array — the ArviZ layout.

Example:
    >>> import jax.numpy as jnp
    >>> from hybridflux.calibrate.models import CalibrationData, Q10Respiration, flux_model
    >>> ta = jnp.linspace(0.0, 25.0, 40)
    >>> data = CalibrationData({"TA_F": ta}, {"RECO": 2.0 * 1.5 ** ((ta - 15.0) / 10.0)})
    >>> post = run_nuts(flux_model, Q10Respiration(), data, chains=2, samples=50, warmup=50)
    >>> post.samples["Q10"].shape, post.info["chain_method"]
    ((2, 50), 'vectorized')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO, init_to_median
from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal
from numpyro.optim import Adam

__all__ = ["Posterior", "GUIDES", "chain_method_for", "run_nuts", "run_svi"]

#: SVI guide families by name (the config layer's registry).
GUIDES: dict[str, type] = {
    "normal": AutoNormal,
    "multivariate_normal": AutoMultivariateNormal,
}


@dataclass(frozen=True)
class Posterior:
    """Posterior draws in the ArviZ layout.

    Attributes:
        samples: parameter → ``(chain, draw)`` array (``(chain, draw, *shape)`` for vectors).
        diverging: ``(chain, draw)`` booleans, True for a divergent NUTS transition.
        method: ``"nuts"`` or ``"svi"``.
        wall_s: seconds spent in inference (compilation included).
        info: settings and extras (``chains``, ``warmup``, ``chain_method``, ``svi_loss`` …).

    Example:
        >>> post = Posterior({"Q10": np.ones((2, 3))}, np.zeros((2, 3), bool), "nuts", 0.1)
        >>> post.chains, post.draws, post.flat()["Q10"].shape
        (2, 3, (6,))
    """

    samples: dict[str, np.ndarray]
    diverging: np.ndarray
    method: str
    wall_s: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def chains(self) -> int:
        """Number of chains."""
        return int(self.diverging.shape[0])

    @property
    def draws(self) -> int:
        """Draws per chain."""
        return int(self.diverging.shape[1])

    @property
    def divergences(self) -> int:
        """Number of divergent transitions after warm-up."""
        return int(self.diverging.sum())

    def flat(self) -> dict[str, np.ndarray]:
        """Draws of all chains together, parameter → ``(chain·draw, *shape)``."""
        return {k: v.reshape((-1, *v.shape[2:])) for k, v in self.samples.items()}


def chain_method_for(chains: int) -> str:
    """``"parallel"`` when there is a device per chain, else ``"vectorized"``.

    Example:
        >>> chain_method_for(1)
        'vectorized'
    """
    if chains > 1 and jax.local_device_count() >= chains:
        return "parallel"
    return "vectorized"


def _numpy(tree: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in jax.device_get(tree).items()}


def run_nuts(
    model: Callable,
    *args: Any,
    chains: int = 4,
    samples: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    chain_method: str | None = None,
    **kwargs: Any,
) -> Posterior:
    """Sample the posterior of a numpyro model with NUTS.

    Args:
        model: numpyro model, called as ``model(*args, **kwargs)``.
        *args: its positional arguments (e.g. process spec, data, likelihood).
        chains: number of chains (≥ 2 for R-hat).
        samples: draws per chain after warm-up.
        warmup: warm-up (adaptation) steps per chain, discarded.
        seed: seed of the chains' random keys.
        target_accept: target acceptance probability of the step-size adaptation.
        max_tree_depth: maximum tree depth (at most 2**depth leapfrog steps per draw).
        chain_method: ``"vectorized"``, ``"parallel"`` or ``"sequential"``; ``None`` picks
            with :func:`chain_method_for`.
        **kwargs: keyword arguments of the model.

    Returns:
        The :class:`Posterior` of the model's latent sample sites.
    """
    method = chain_method or chain_method_for(chains)
    kernel = NUTS(model, target_accept_prob=target_accept, max_tree_depth=max_tree_depth)
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=samples,
        num_chains=chains,
        chain_method=method,
        progress_bar=False,
    )
    start = time.perf_counter()
    mcmc.run(jax.random.key(seed), *args, extra_fields=("diverging",), **kwargs)
    draws = _numpy(mcmc.get_samples(group_by_chain=True))
    diverging = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["diverging"], bool)
    wall = time.perf_counter() - start
    info = {
        "chains": chains,
        "warmup": warmup,
        "chain_method": method,
        "seed": seed,
        "target_accept": target_accept,
    }
    return Posterior(draws, diverging, "nuts", wall, info)


def run_svi(
    model: Callable,
    *args: Any,
    guide: type = AutoNormal,
    steps: int = 5000,
    learning_rate: float = 0.01,
    samples: int = 1000,
    seed: int = 0,
    **kwargs: Any,
) -> Posterior:
    """Fit a variational posterior with SVI (ELBO, Adam) and draw from it.

    Args:
        model: numpyro model, called as ``model(*args, **kwargs)``.
        *args: its positional arguments.
        guide: an autoguide class, :class:`~numpyro.infer.autoguide.AutoNormal` or
            :class:`~numpyro.infer.autoguide.AutoMultivariateNormal` (see :data:`GUIDES`),
            initialised at the prior medians.
        steps: optimisation steps.
        learning_rate: Adam step size.
        samples: draws from the fitted guide (one "chain").
        seed: seed of the optimisation and the draws.
        **kwargs: keyword arguments of the model (e.g. ``subsample_size=1024``).

    Returns:
        The :class:`Posterior` (one chain, no divergences); ``info["svi_loss"]`` holds the
        ELBO loss per step.

    Reference:
        Hoffman et al. (2013), J. Mach. Learn. Res. 14, 1303–1347 (stochastic VI);
        Kucukelbir et al. (2017), J. Mach. Learn. Res. 18, 1–45 (ADVI, the autoguides).

    Example:
        >>> import jax.numpy as jnp
        >>> from hybridflux.calibrate.models import CalibrationData, Q10Respiration, flux_model
        >>> ta = jnp.linspace(0.0, 25.0, 40)
        >>> data = CalibrationData({"TA_F": ta}, {"RECO": 2.0 * 1.5 ** ((ta - 15.0) / 10.0)})
        >>> post = run_svi(flux_model, Q10Respiration(), data, steps=300, samples=20)
        >>> post.samples["Rb"].shape
        (1, 20)
    """
    auto = guide(model, init_loc_fn=init_to_median)
    svi = SVI(model, auto, Adam(learning_rate), Trace_ELBO())
    start = time.perf_counter()
    key_fit, key_draw = jax.random.split(jax.random.key(seed))
    result = svi.run(key_fit, steps, *args, progress_bar=False, **kwargs)
    draws = auto.sample_posterior(key_draw, result.params, *args, sample_shape=(samples,), **kwargs)
    latent = {k: v[None] for k, v in _numpy(draws).items() if not k.endswith("_obs")}
    wall = time.perf_counter() - start
    info = {
        "guide": guide.__name__,
        "steps": steps,
        "learning_rate": learning_rate,
        "seed": seed,
        "svi_loss": np.asarray(result.losses),
    }
    return Posterior(latent, np.zeros((1, samples), bool), "svi", wall, info)
