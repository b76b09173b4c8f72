"""A model's trainable state as one flat vector (design 0003, "Training").

:func:`split_flat` splits an ``nnx.Module`` by a trainable filter (``TRAIN_JOINT``,
``TRAIN_NETWORKS``, ``TRAIN_PHYSICS`` from :mod:`hybridflux.hybrid.params`) and ravels the
trainable part into **one** 1-D array with :func:`jax.flatten_util.ravel_pytree`. The optimizer
then works on a single array: one array to ``vmap`` over ensemble members, to check for
non-finite values and to checkpoint (per-epoch speed on a CPU is on par with optax on the tree
when both are scan-fused; see ``benchmarks/README.md``). :class:`FlatModel` keeps what is needed
to go back: the graph definition, the unravel function and the fixed (non-trainable) rest of the
state. Splitting never mutates the model; merging builds a new one.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> from hybridflux.hybrid.params import TRAIN_PHYSICS, PhysicsParam
    >>> class Scale(nnx.Module):
    ...     def __init__(self):
    ...         self.s = PhysicsParam(jnp.array(2.0))
    ...         self.lin = nnx.Linear(1, 1, rngs=nnx.Rngs(0))
    ...     def __call__(self, batch):
    ...         return {"y": self.s[...] * self.lin(batch["x"][:, None])[:, 0]}
    >>> flat_model, flat = split_flat(Scale(), TRAIN_PHYSICS)
    >>> flat, flat_model.size
    (Array([2.], dtype=float32), 1)
    >>> merge_flat(flat_model, flat * 2).s[...]
    Array(4., dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jax.flatten_util import ravel_pytree

from hybridflux.hybrid.params import TRAIN_JOINT

__all__ = ["FlatModel", "split_flat", "merge_flat"]

Batch = Mapping[str, jax.Array]


@dataclass(frozen=True, eq=False)
class FlatModel:
    """Everything of a split model except its trainable flat vector.

    Attributes:
        graphdef: the model's ``nnx.GraphDef`` (static structure).
        unravel: maps a flat vector of length ``size`` back to the trainable ``nnx.State``.
        rest: the non-trainable state (fixed weights, ``Stat`` variables, RNG state), held
            constant during training.
        size: number of trainable scalars (length of the flat vector).

    Example:
        >>> from flax import nnx
        >>> flat_model, flat = split_flat(nnx.Linear(2, 3, rngs=nnx.Rngs(0)))
        >>> flat_model.size, flat.shape
        (9, (9,))
        >>> flat_model.merge(flat).kernel.shape
        (2, 3)
    """

    graphdef: nnx.GraphDef
    unravel: Callable[[jax.Array], nnx.State]
    rest: nnx.State
    size: int

    def merge(self, flat: jax.Array, rest: nnx.State | None = None) -> Any:
        """A new module with trainable values from ``flat`` (and ``rest``, default: own).

        Args:
            flat: the trainable vector, shape ``(size,)``.
            rest: the non-trainable state to use; ``None`` uses :attr:`rest`.

        Returns:
            A fresh ``nnx.Module``; the module that was split is left untouched.

        Example:
            >>> from flax import nnx
            >>> flat_model, flat = split_flat(nnx.Linear(1, 1, rngs=nnx.Rngs(0)))
            >>> float(flat_model.merge(flat * 0).kernel[0, 0])
            0.0
        """
        return nnx.merge(self.graphdef, self.unravel(flat), self.rest if rest is None else rest)

    def apply(
        self, flat: jax.Array, batch: Batch, rest: nnx.State | None = None
    ) -> dict[str, jax.Array]:
        """Run the model with trainable values ``flat`` on ``batch`` (pure; jit/grad-safe).

        Args:
            flat: the trainable vector, shape ``(size,)``.
            batch: columns of shape ``(N,)``.
            rest: the non-trainable state; ``None`` uses :attr:`rest`.

        Returns:
            The model's output dict.

        Example:
            >>> import jax.numpy as jnp
            >>> from flax import nnx
            >>> class Id(nnx.Module):
            ...     def __init__(self):
            ...         self.w = nnx.Param(jnp.ones(()))
            ...     def __call__(self, batch):
            ...         return {"y": self.w[...] * batch["x"]}
            >>> flat_model, flat = split_flat(Id())
            >>> flat_model.apply(flat + 1, {"x": jnp.arange(3.0)})["y"]
            Array([0., 2., 4.], dtype=float32)
        """
        return self.merge(flat, rest)(batch)


def split_flat(model: Any, trainable: Any = TRAIN_JOINT) -> tuple[FlatModel, jax.Array]:
    """Split ``model`` by the ``trainable`` filter and ravel the trainable state to 1-D.

    Args:
        model: an ``nnx.Module``; not modified.
        trainable: an nnx filter selecting the trained variables, e.g. ``TRAIN_JOINT``
            (default), ``TRAIN_NETWORKS`` or ``TRAIN_PHYSICS``.

    Returns:
        ``(flat_model, flat)``: the static/fixed parts and the trainable flat vector.

    Raises:
        ValueError: the filter selects no variable, or a selected variable is not floating
            point (integers cannot be trained).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> flat_model, flat = split_flat(nnx.Linear(2, 1, rngs=nnx.Rngs(0)), nnx.Param)
        >>> flat.shape, flat.dtype
        ((3,), dtype('float32'))
    """
    graphdef, params, rest = nnx.split(model, trainable, ...)
    leaves = jax.tree.leaves(params)
    if not leaves:
        raise ValueError(
            f"the trainable filter {trainable!r} selects no variable of "
            f"{type(model).__name__}; use TRAIN_NETWORKS, TRAIN_PHYSICS or TRAIN_JOINT "
            "(hybridflux.hybrid.params) matching the model's variables"
        )
    for path, leaf in nnx.to_flat_state(params):
        if not jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating):
            name = ".".join(map(str, path))
            raise ValueError(
                f"trainable variable {name!r} of {type(model).__name__} has dtype "
                f"{jnp.asarray(leaf).dtype}; only floating-point variables can be trained — "
                "exclude it with the trainable filter"
            )
    flat, unravel = ravel_pytree(params)
    # A strong dtype: a weakly typed flat vector (from a weak scalar such as ``jnp.array(2.0)``)
    # would come back strongly typed from the optimizer and make the epoch retrace once.
    flat = jnp.array(flat, dtype=flat.dtype)
    return FlatModel(graphdef, unravel, rest, int(flat.size)), flat


def merge_flat(flat_model: FlatModel, flat: jax.Array, rest: nnx.State | None = None) -> Any:
    """A new ``nnx.Module`` from a :class:`FlatModel` and a flat vector.

    Args:
        flat_model: from :func:`split_flat`.
        flat: trainable values, shape ``(flat_model.size,)``.
        rest: non-trainable state; ``None`` uses ``flat_model.rest``.

    Returns:
        The merged module.

    Raises:
        ValueError: ``flat`` does not have shape ``(flat_model.size,)``.

    Example:
        >>> from flax import nnx
        >>> flat_model, flat = split_flat(nnx.Linear(1, 2, rngs=nnx.Rngs(0)))
        >>> merge_flat(flat_model, flat).bias.shape
        (2,)
    """
    if tuple(flat.shape) != (flat_model.size,):
        raise ValueError(
            f"flat vector has shape {tuple(flat.shape)}, the model needs ({flat_model.size},); "
            "was it made from a different model or trainable filter?"
        )
    return flat_model.merge(flat, rest)
