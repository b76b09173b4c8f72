"""Apply a trained model to grid chunks: numpy columns in, numpy columns out, one compiled shape.

:class:`ChunkPredictor` jits the model's forward pass once for a fixed batch of ``batch_size``
rows. A chunk of any size is cut into such batches; the last is **padded** (with its last
valid row) instead of compiled anew, so a whole upscaling run — every chunk, the short edge
chunks, every worker thread — uses one executable (the function asserts it is traced at most
once: ``equinox.debug.assert_max_traces``). Rows with a non-finite input (ocean, gaps) are
left out before batching and come back as NaN. Ensembles predict the member mean, as
:func:`hybridflux.runs.pipeline.predict_columns`. The model is evaluated column by column
(:mod:`~hybridflux.upscale.columnar`): its narrow layers become one fused loop over the rows.

Example:
    >>> import numpy as np
    >>> from hybridflux.hybrid.models import direct_fluxes
    >>> predictor = ChunkPredictor([direct_fluxes(rngs=0)], ["GPP"], batch_size=4)
    >>> cols = {k: np.array([1.0, np.nan, 3.0, 4.0, 5.0, 6.0], np.float32)
    ...         for k in ("TA_F", "VPD_F", "SW_IN_F")}
    >>> out = predictor(cols)["GPP"]
    >>> out.dtype, bool(np.isnan(out[1])), int(np.isfinite(out).sum()), predictor.traces
    (dtype('float32'), True, 5, 1)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from hybridflux.upscale.columnar import columnar as columnar_fn

__all__ = ["ChunkPredictor", "DEFAULT_BATCH", "load_trained_models"]

#: Rows per compiled batch: large enough that dispatch costs nothing, small enough that a
#: hidden layer's activations (rows × width × 4 B) stay in the cache hierarchy.
DEFAULT_BATCH = 1 << 16


def load_trained_models(run_dir: str | os.PathLike) -> list[Any]:
    """The trained model(s) of a run, built abstractly and filled from ``model.npz``.

    Same result as :meth:`hybridflux.runs.RunDir.load_models`, but the models are built with
    ``nnx.eval_shape`` (no random initialisation: that compiles every initialiser and costs
    seconds in a fresh worker process) before the saved variables are put in.

    Raises:
        FileNotFoundError: no config or no trained model.
        RunDirError: saved variables that do not fit the config's model.

    Example:
        >>> import tempfile
        >>> from hybridflux.demo import demo_config
        >>> from hybridflux.runs.train import train_from_config
        >>> run = train_from_config(demo_config(["train.epochs=1", "output.figures=false"]),
        ...                         tempfile.mkdtemp()).run_dir
        >>> [type(m).__name__ for m in load_trained_models(run)]
        ['HybridModel']
    """
    from hybridflux.runs.rundir import RunDir, RunDirError

    run = RunDir(run_dir)
    cfg = run.read_config()
    if not run.model_path.is_file():
        raise FileNotFoundError(f"{run.path} has no trained model ({run.model_path})")
    with np.load(run.model_path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    models = []
    for i in range(int(arrays["members"])):
        graphdef, state = nnx.split(nnx.eval_shape(lambda i=i: cfg.model.build(cfg.train.seed + i)))
        flat = nnx.to_flat_state(state)
        for path, var in flat:
            key = f"member{i}/" + "/".join(str(p) for p in path)
            if key not in arrays or arrays[key].shape != var.get_value().shape:
                raise RunDirError(f"{run.model_path}: {key} does not fit the config's model")
            var.set_value(jax.device_put(arrays[key]))  # no per-shape compile (jnp.asarray)
        models.append(nnx.merge(graphdef, nnx.from_flat_state(flat)))
    return models


class ChunkPredictor:
    """The jitted forward pass of a trained model on fixed-size batches of float32 rows.

    Args:
        models: one or more trained :class:`~hybridflux.hybrid.model.HybridModel` of one
            structure (an ensemble predicts the member mean).
        outputs: model outputs to compute (e.g. ``["GPP"]``); the others are dead code that
            XLA removes (a GPP-only run does not evaluate the respiration network).
        batch_size: rows per compiled batch.
        columnar: evaluate the model column by column where it qualifies
            (:func:`~hybridflux.upscale.columnar.columnar`: narrow layers unrolled, the whole
            model one fused loop over the rows, ~4x faster on a CPU); ``False``, or a model
            too wide for it, is evaluated as written. Both agree to float32 rounding.

    Attributes:
        inputs: the columns a call needs (``models[0].inputs``).
        outputs: the returned outputs.
        columnar: whether the model is evaluated column by column.

    Raises:
        ValueError: an output the model does not produce.
    """

    def __init__(
        self,
        models: Sequence[Any],
        outputs: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH,
        columnar: bool = True,
    ):
        unknown = [o for o in outputs if o not in models[0].outputs]
        if unknown or not outputs:
            raise ValueError(f"outputs {list(outputs)}: the model produces {models[0].outputs}")
        self.inputs: tuple[str, ...] = tuple(models[0].inputs)
        self.outputs: tuple[str, ...] = tuple(outputs)
        self.batch_size = int(batch_size)
        spec = {k: jax.ShapeDtypeStruct((self.batch_size,), jnp.float32) for k in self.inputs}
        fast = columnar_fn(_member_mean(models, self.outputs), spec) if columnar else None
        self.columnar = fast is not None
        body = fast if fast is not None else _stacked_mean(models, self.outputs)

        @eqx.debug.assert_max_traces(max_traces=1)
        def forward(batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
            return body(batch)

        self._traced = forward
        self._forward = jax.jit(forward)
        zeros = np.zeros(self.batch_size, np.float32)  # compile now, before threads share it
        jax.block_until_ready(self._forward({k: zeros for k in self.inputs}))

    @property
    def traces(self) -> int:
        """How often the forward pass has been traced (1 for the predictor's whole life)."""
        return eqx.debug.get_num_traces(self._traced)

    def _batches(self, columns: Mapping[str, np.ndarray], m: int) -> dict[str, np.ndarray]:
        """Predict ``m`` finite float32 rows: whole batches are views of the columns, the last
        one is padded with its last row (no NaN, no new shape); all are dispatched before any
        is collected."""
        size, pieces = self.batch_size, []
        for start in range(0, m, size):
            batch = {k: v[start : start + size] for k, v in columns.items()}
            if m - start < size:
                for name, values in batch.items():
                    buffer = np.empty(size, np.float32)
                    buffer[: values.size] = values
                    buffer[values.size :] = values[-1]
                    batch[name] = buffer
            pieces.append((start, self._forward(batch)))
        out = {k: np.empty(m, np.float32) for k in self.outputs}
        for start, piece in pieces:
            stop = min(start + size, m)
            for name in self.outputs:
                out[name][start:stop] = np.asarray(piece[name])[: stop - start]
        return out

    def __call__(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Predict every row; rows with a non-finite input give NaN.

        Args:
            columns: input name → ``(N,)`` array (any float dtype; cast to float32), in the
                units of the training data.

        Returns:
            Output name → ``(N,)`` float32.
        """
        missing = [k for k in self.inputs if k not in columns]
        if missing:
            raise KeyError(f"columns {missing} are missing (the model reads {list(self.inputs)})")
        values = {k: np.asarray(columns[k], dtype=np.float32) for k in self.inputs}
        n = int(values[self.inputs[0]].shape[0])
        finite = np.ones(n, bool)
        for column in values.values():
            finite &= np.isfinite(column)
        if finite.all():
            return self._batches(values, n)
        rows = np.flatnonzero(finite)
        result = {k: np.full(n, np.nan, np.float32) for k in self.outputs}
        if rows.size:
            predicted = self._batches({k: v[rows] for k, v in values.items()}, rows.size)
            for name in self.outputs:
                result[name][rows] = predicted[name]
        return result


def _member_mean(models: Sequence[Any], names: tuple[str, ...]):
    """``batch ↦`` the members' mean of each wanted output, member by member (their weights
    are constants of the function: what :func:`columnar_fn` unrolls)."""

    def forward(batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        results = [model(batch) for model in models]
        return {k: jnp.mean(jnp.stack([r[k] for r in results]), axis=0) for k in names}

    return forward


def _stacked_mean(models: Sequence[Any], names: tuple[str, ...]):
    """``batch ↦`` the members' mean of each wanted output, the members' states stacked and
    mapped over with ``vmap`` (the model evaluated as written)."""
    graphdef, _ = nnx.split(models[0])
    states = jax.tree.map(lambda *xs: jnp.stack(xs), *[nnx.state(m) for m in models])

    def forward(batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        def member(state):
            result = nnx.merge(graphdef, state)(batch)
            return {k: result[k] for k in names}

        return jax.tree.map(lambda x: jnp.mean(x, axis=0), jax.vmap(member)(states))

    return forward
