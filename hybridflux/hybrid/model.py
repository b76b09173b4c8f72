"""The hybrid model: a pure process function whose parameters come from sources.

``HybridModel(process, parameters, outputs)`` evaluates every parameter source on the batch,
passes the per-sample values and the batch (the drivers) to
``process(params, drivers) -> dict[str, Array]`` and returns the requested outputs:

    outputs = process({name: source(batch) for name, source in parameters}, batch)

It is an ``nnx.Module``: networks' weights are ``nnx.Param``, global physics parameters are
``PhysicsParam``, normalisation statistics are ``Stat``, so ``nnx.split(model, PhysicsParam,
nnx.Param, ...)`` separates the trainable groups (docs/design/0003; Reichstein et al. 2022).

Example:
    >>> import jax.numpy as jnp
    >>> from hybridflux.hybrid.sources import Fixed, Global
    >>> def linear(params, drivers):
    ...     return {"Y": params["a"] * drivers["X"] + params["b"]}
    >>> model = HybridModel(linear, {"a": Global(2.0, 0.0, 10.0), "b": Fixed(1.0)}, ["Y"],
    ...                     drivers=["X"])
    >>> [round(float(v), 4) for v in model({"X": jnp.array([0.0, 1.0])})["Y"]]
    [1.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
from flax import nnx
from jax.typing import ArrayLike

__all__ = ["HybridModel", "ProcessFn"]

#: ``process(params, drivers) -> outputs``; all mappings of name → ``(N,)`` arrays.
ProcessFn = Callable[[Mapping[str, jax.Array], Mapping[str, ArrayLike]], dict[str, jax.Array]]


class HybridModel(nnx.Module):
    """A process function with per-parameter sources, mapping a batch to named outputs.

    Args:
        process: pure function ``process(params, drivers) -> dict`` elementwise over samples;
            ``params`` holds one ``(N,)`` array per key of ``parameters`` and ``drivers`` is the
            batch.
        parameters: process-parameter name → source (``Fixed``, ``Global``, ``Modulated`` or
            any ``nnx.Module`` with ``__call__(batch) -> (N,)`` and an ``inputs`` property).
        outputs: names of the process outputs the model returns (e.g. ``("NEE", "GPP")``).
        drivers: batch columns the process function reads (reported by :attr:`inputs`).

    Example:
        >>> import jax.numpy as jnp
        >>> from hybridflux.hybrid.sources import Fixed
        >>> m = HybridModel(lambda p, d: {"Y": p["c"]}, {"c": Fixed(2.0)}, ["Y"])
        >>> m.parameters({"X": jnp.zeros(3)})["c"].tolist()
        [2.0, 2.0, 2.0]
    """

    def __init__(
        self,
        process: ProcessFn,
        parameters: Mapping[str, nnx.Module],
        outputs: Sequence[str],
        *,
        drivers: Sequence[str] = (),
    ):
        if isinstance(outputs, str) or not outputs:
            raise TypeError(f"outputs must be a non-empty list of names, got {outputs!r}.")
        if isinstance(drivers, str):
            raise TypeError(f"drivers must be a list of names, got the string {drivers!r}.")
        self.process = process
        self.sources = nnx.Dict(dict(parameters))
        self.outputs = tuple(outputs)
        self.drivers = tuple(drivers)

    @property
    def inputs(self) -> tuple[str, ...]:
        """All batch columns the model reads: process drivers, then source covariates (unique)."""
        names = list(self.drivers)
        for source in self.sources.values():
            names.extend(getattr(source, "inputs", ()))
        return tuple(dict.fromkeys(names))

    def parameters(self, batch: Mapping[str, ArrayLike]) -> dict[str, jax.Array]:
        """Per-sample parameter values, name → ``(N,)`` array, in the process's units.

        Args:
            batch: ``dict`` of ``(N,)`` columns with every name in :attr:`inputs`.

        Returns:
            One ``(N,)`` array per parameter.
        """
        return {name: source(batch) for name, source in self.sources.items()}

    def set_normalization(self, batch: Mapping[str, ArrayLike]) -> None:
        """Set the input statistics of every source that has them (outside ``jit``).

        Args:
            batch: training data, ``dict`` of ``(N,)`` columns.
        """
        for source in self.sources.values():
            setter = getattr(source, "set_normalization", None)
            if setter is not None:
                setter(batch)

    def __call__(self, batch: Mapping[str, ArrayLike]) -> dict[str, jax.Array]:
        """Evaluate the model: ``{name: process(parameters(batch), batch)[name]}`` for outputs.

        Args:
            batch: ``dict`` of ``(N,)`` columns with every name in :attr:`inputs`.

        Returns:
            ``dict`` of the requested outputs, each ``(N,)``.

        Raises:
            KeyError: if a driver is missing from the batch or the process does not return a
                requested output.
        """
        missing = [k for k in self.drivers if k not in batch]
        if missing:
            raise KeyError(f"Drivers {missing} are not in the batch (columns: {sorted(batch)}).")
        result = self.process(self.parameters(batch), batch)
        absent = [k for k in self.outputs if k not in result]
        if absent:
            raise KeyError(f"The process returned {sorted(result)}, not the outputs {absent}.")
        return {k: result[k] for k in self.outputs}
