"""Feature-major evaluation of a loss: narrow ``(N, F)`` activations stored as ``(F, N)``.

The networks of a hybrid model are narrow (2 covariates, 16 hidden units) and trained on
batches of ~1000 rows. Written as ``h = x @ W + b`` with ``x`` of shape ``(N, K)``, every
activation is stored row-major ``(N, F)``, and the weight gradient of a layer is
``∂L/∂W = xᵀ · δ``, a product contracting over the N rows of two row-major arrays, which the
CPU compiler (XLA:CPU) runs slowly for such narrow shapes. :func:`feature_major` evaluates
the same function with those activations stored transposed, ``(F, N)``:

    h_{m, n} = Σ_k W_{k, m} · x_{k, n},     ∂L/∂W_{k, m} = Σ_n x_{k, n} · δ_{m, n},

so that every product contracts over contiguous memory and every elementwise operation
(bias, ``tanh``, …) runs along the rows. One Adam step of the issue-4 2-16-16-1 model at
batch 1024 takes ~40 % less time on a 2-core CPU (66 → 40 µs; ``benchmarks/README.md``).
(Writing the layers without products, as :mod:`hybridflux.upscale.columnar` does for
forward passes, made the training step ~10× *slower*: XLA:CPU's fused reductions of the
weight gradients over the rows are far slower than its products.)

What is evaluated is the function's own jaxpr (:func:`jax.make_jaxpr`), equation by equation:
``dot_general`` of an activation ``(..., K)`` with a weight matrix ``(K, M)``, ``K, M <=``
:data:`MAX_WIDTH`, becomes the transposed product; ``stack`` onto a new last axis, elementwise
primitives, sums, maxima and minima, ``squeeze`` and ``slice`` act on the transposed storage;
any other primitive (a custom derivative rule such as ``softplus``'s included, so that its
rule is kept) receives the array transposed back (exact: a transpose does no arithmetic).
Derivatives are then taken of the evaluated function (``jax.grad``). Results equal the
function's up to the rounding of float32 sums taken in another order (a few ulp).

It is used only where it pays: :func:`feature_major` returns ``None`` when the function has
no narrow product, a wider one (measured: transposed storage is ~20 % *slower* from width 64
on), or a transposed activation of more than one feature would have to be transposed back
(e.g. for ``jax.nn.relu``, a custom-derivative function).

Example:
    >>> import jax, jax.numpy as jnp, numpy as np
    >>> w = jnp.asarray(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    >>> def loss(w, x, y):
    ...     h = jnp.tanh(jnp.stack([x, y], axis=-1) @ w)
    ...     return jnp.sum(h**2)
    >>> x = y = jnp.linspace(0.0, 1.0, 5)
    >>> fast = feature_major(loss, w, x, y)
    >>> bool(np.allclose(jax.grad(fast)(w, x, y), jax.grad(loss)(w, x, y), rtol=1e-6))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend.core import ClosedJaxpr

from hybridflux._jaxpr import CALLS, ELEMENTWISE, bind, evaluate

__all__ = ["MAX_WIDTH", "feature_major"]

#: Widest layer (inputs K and outputs M of a product) evaluated feature-major. Measured on a
#: 2-core CPU (jax 0.10.2, value_and_grad + SGD of a 2-H-H-1 tanh network, batch 1024, in a
#: lax.scan): row-major / feature-major time 1.24 (H = 8), 1.37 (16), 1.12 (32), 0.76 (64),
#: 0.82 (128), 0.89 (256).
MAX_WIDTH = 32

_REDUCE = frozenset({"reduce_sum", "reduce_max", "reduce_min"})


class _FM:
    """An array of logical shape ``lead + (F,)`` stored as ``(F,) + lead``."""

    def __init__(self, array: jax.Array):
        self.array = array


def _stored(axis: int, rank: int) -> int:
    """Where logical axis ``axis`` of a rank-``rank`` array lies in feature-major storage."""
    return 0 if axis == rank - 1 else axis + 1


def _to_fm(x: Any) -> jax.Array:
    return jnp.moveaxis(x, -1, 0)


class _Evaluator:
    """Evaluates a jaxpr with feature-major activations; counts what it did."""

    def __init__(self, max_width: int) -> None:
        self.max_width = max_width
        self.narrow = 0  # products made feature-major
        self.wide = 0  # products of an activation too wide to be
        self.transposed_back = 0  # feature-major arrays of F > 1 transposed back

    def plain(self, x: Any) -> Any:
        """``x`` in its logical (row-major) layout."""
        if not isinstance(x, _FM):
            return x
        self.transposed_back += x.array.ndim > 1 and x.array.shape[0] > 1
        return jnp.moveaxis(x.array, 0, -1)

    def dot(self, eqn, lhs: Any, rhs: Any) -> list[Any] | None:
        """``lhs (..., K) @ rhs (K, M)`` as ``rhsᵀ · lhs`` on ``(K, ...)`` storage."""
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        rank = len(eqn.invars[0].aval.shape)
        if isinstance(rhs, _FM) or lb or rb or jnp.ndim(rhs) != 2 or rank < 2:
            return None
        if tuple(lc) != (rank - 1,) or tuple(rc) != (0,):
            return None
        if max(jnp.shape(rhs)) > self.max_width:
            self.wide += 1
            return None
        self.narrow += 1
        stored = lhs.array if isinstance(lhs, _FM) else _to_fm(lhs)
        params = dict(eqn.params)
        params["dimension_numbers"] = (((0,), (0,)), ((), ()))
        return [_FM(eqn.primitive.bind(rhs, stored, **params))]

    def elementwise(self, eqn, args: Sequence[Any]) -> list[Any] | None:
        rank = len(eqn.outvars[0].aval.shape)
        if rank < 2 or len(eqn.outvars) != 1:
            return None
        parts = []
        for a in args:
            if isinstance(a, _FM):
                parts.append(a.array)
            elif jnp.ndim(a) == 0:
                parts.append(a)
            elif jnp.ndim(a) == rank:
                parts.append(_to_fm(a))
            else:
                return None
        return [_FM(eqn.primitive.bind(*parts, **eqn.params))]

    def structural(self, eqn, args: Sequence[Any]) -> list[Any] | None:
        """stack onto a new last axis; reductions, ``squeeze`` and ``slice`` of any axes."""
        name, params, x = eqn.primitive.name, eqn.params, args[0]
        rank_out = len(eqn.outvars[0].aval.shape)
        if name == "stack" and params["axis"] == rank_out - 1 and rank_out >= 2:
            if not any(isinstance(a, _FM) for a in args):
                return [_FM(jnp.stack(args, axis=0))]
        if not isinstance(x, _FM) or len(args) != 1:
            return None
        rank = x.array.ndim
        if name in _REDUCE or name == "squeeze":
            key = "axes" if name in _REDUCE else "dimensions"
            axes = tuple(sorted(_stored(a, rank) for a in params[key]))
            out = eqn.primitive.bind(x.array, **{**params, key: axes})
            return [out if 0 in axes or out.ndim < 2 else _FM(out)]
        if name == "slice":
            move = lambda t: None if t is None else (t[-1], *t[:-1])  # noqa: E731
            keys = ("start_indices", "limit_indices", "strides")
            return [_FM(eqn.primitive.bind(x.array, **{k: move(params[k]) for k in keys}))]
        return None

    def apply(self, eqn, args: Sequence[Any]) -> list[Any]:
        name = eqn.primitive.name
        out = None
        if name == "dot_general":
            out = self.dot(eqn, *args)
        elif name != "stack" and not any(isinstance(a, _FM) for a in args):
            return bind(eqn, args)
        elif name in ELEMENTWISE:
            out = self.elementwise(eqn, args)
        elif name in CALLS and isinstance(eqn.params.get(CALLS[name]), ClosedJaxpr):
            out = self.evaluate(eqn.params[CALLS[name]], args)
        else:
            out = self.structural(eqn, args)
        return bind(eqn, [self.plain(a) for a in args]) if out is None else out

    def evaluate(self, closed: ClosedJaxpr, args: Sequence[Any]) -> list[Any]:
        return evaluate(closed, args, self.apply)


def _spec(x: Any) -> jax.ShapeDtypeStruct:
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # arrays, tracers, ShapeDtypeStruct
        return jax.ShapeDtypeStruct(x.shape, x.dtype)
    return jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))


def feature_major(
    fn: Callable[..., Any], *example: Any, max_width: int = MAX_WIDTH
) -> Callable[..., Any] | None:
    """``fn`` evaluated with narrow activations feature-major (module docstring), or None.

    Args:
        fn: a pure function of pytrees of arrays (e.g. a loss of parameters and a batch).
        example: arguments (arrays, tracers or :class:`jax.ShapeDtypeStruct`) of the shapes
            and dtypes it will be called with.
        max_width: widest layer (``K`` and ``M`` of a ``(..., K) @ (K, M)`` product) to
            evaluate feature-major.

    Returns:
        A function with the signature and results of ``fn`` (for these shapes only; results
        equal up to the order of float32 sums), to differentiate and jit. ``None`` where that
        would not pay: no product of width <= ``max_width``, a wider one, or a transposed
        array of more than one feature needed back in row-major layout.
    """
    specs = jax.tree.map(_spec, example)
    closed, shapes = jax.make_jaxpr(fn, return_shape=True)(*specs)
    out_tree = jax.tree.structure(shapes)

    def run(evaluator: _Evaluator, *args: Any) -> Any:
        out = evaluator.evaluate(closed, jax.tree.leaves(args))
        return jax.tree.unflatten(out_tree, [evaluator.plain(v) for v in out])

    probe = _Evaluator(max_width)
    jax.eval_shape(lambda *args: run(probe, *args), *specs)
    if not probe.narrow or probe.wide or probe.transposed_back:
        return None
    return lambda *args: run(_Evaluator(max_width), *args)
