"""Columnar evaluation of a model's forward pass: narrow ``(N, F)`` arrays as F columns.

The networks of a hybrid model are narrow (3 covariates, 16 hidden units). Evaluated as
written, ``x (N, 3) @ W (3, 16)`` is a matrix product with a contraction of 3: the CPU spends
more time in the matrix kernel and in writing and re-reading the ``(N, 16)`` activations than
in arithmetic. :func:`columnar` evaluates the same function with every ``(..., F)`` array that
is built by stacking ``(...)`` columns (``jnp.stack(cols, -1)``) kept as F separate columns, so
that a layer becomes

    h_j = Σ_k x_k · W_kj    (k in order),   j = 1 … M,

elementwise over the cells, and XLA fuses the whole model (normalisation, every layer, the
activations, the bounded heads, the process equations, the ensemble mean) into one loop over
the cells: ~4× faster for the 3-16-1 network of ``configs/upscale_daily.yaml``.

What is evaluated is the function's own jaxpr (:func:`jax.make_jaxpr`), equation by
equation: elementwise primitives, ``dot_general`` with a weight matrix, ``reduce_sum``, a
slice or ``squeeze`` of the feature axis act column by column; any other primitive receives
the columns stacked back into one array (exact: stacking does no arithmetic). Results are
those of the function up to the rounding of float32 sums taken in another order (a few ulp;
never other equations).

It is used only where it pays and compiles safely: :func:`columnar` returns ``None`` when the
function would need its columns stacked back (a layer too wide to unroll, an operation
across features) or when it unrolls more than :data:`MAX_PRODUCTS` products per row — one
fused loop much larger than that makes the CPU compiler (LLVM) run out of memory.

Example:
    >>> import jax, jax.numpy as jnp, numpy as np
    >>> w = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    >>> def net(cols):
    ...     return {"y": jnp.tanh(jnp.stack([cols["a"], cols["b"]], axis=-1) @ w).sum(-1)}
    >>> cols = {"a": np.ones(4, np.float32), "b": np.zeros(4, np.float32)}
    >>> fast = columnar(net, cols)
    >>> bool(np.allclose(jax.jit(fast)(cols)["y"], net(cols)["y"]))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr

from hybridflux._jaxpr import CALLS, ELEMENTWISE, bind, evaluate

__all__ = ["columnar", "ELEMENTWISE", "MAX_PRODUCTS"]

#: Most multiply-adds per row that a columnar evaluation unrolls (all layers, all ensemble
#: members): 320 = one 3-16-16-1 network. Measured on XLA CPU (jax 0.10): 336-480 compiled in
#: < 1 s; 512 (8 members of 3-16-1), 576 (3-16-16-16-1) and 672 (3-24-24-1) made LLVM exhaust
#: 8 GB, while 640 (two 3-16-16-1 networks) compiled in 1.6 s.
MAX_PRODUCTS = 320

_SUBJAXPR = {
    **CALLS,
    "custom_jvp_call": "call_jaxpr",  # forward only: the custom derivative rule is not needed
    "custom_vjp_call": "call_jaxpr",
}


class _Columns:
    """An array of shape ``lead + (F,)`` held as F arrays broadcastable to ``lead``."""

    def __init__(self, cols: Sequence[Any], lead: tuple[int, ...]):
        self.cols = list(cols)
        self.lead = tuple(lead)


def _column(arg: Any, j: int, width: int) -> Any:
    """Column ``j`` of an operand of an elementwise equation, or None if it does not split."""
    if isinstance(arg, _Columns):
        if len(arg.cols) not in (1, width):
            return None
        return arg.cols[j] if len(arg.cols) == width else arg.cols[0]
    shape = np.shape(arg)
    if len(shape) == 0:
        return arg
    if shape[-1] == width:
        return arg[..., j]
    return arg[..., 0] if shape[-1] == 1 else None


def _concrete(x: Any) -> Any:
    """A constant as numpy (indexing it then costs nothing while tracing)."""
    return x if isinstance(x, jax.core.Tracer) else np.asarray(x)


class _Evaluator:
    """Evaluates a jaxpr with columns; counts the products it unrolls and the stackings."""

    def __init__(self, max_products: int) -> None:
        self.max_products = max_products
        self.products = 0
        self.stacked = 0

    def value(self, x: Any) -> Any:
        if not isinstance(x, _Columns):
            return x
        self.stacked += len(x.cols) > 1
        return jnp.stack([jnp.broadcast_to(c, x.lead) for c in x.cols], axis=-1)

    def bind(self, eqn, args: Sequence[Any]) -> list[Any]:
        """The equation evaluated as written (columns stacked first), as jax.core.eval_jaxpr."""
        return bind(eqn, [self.value(a) for a in args])

    def elementwise(self, eqn, args: Sequence[Any]) -> list[Any] | None:
        shape = eqn.outvars[0].aval.shape
        ranks = [len(a.lead) + 1 if isinstance(a, _Columns) else np.ndim(a) for a in args]
        if any(r not in (0, len(shape)) for r in ranks):
            return None
        cols = []
        for j in range(shape[-1]):
            parts = [_column(a, j, shape[-1]) for a in args]
            if any(p is None for p in parts):
                return None
            common = np.broadcast_shapes(*(np.shape(p) for p in parts))
            parts = [p if np.ndim(p) == 0 else jnp.broadcast_to(p, common) for p in parts]
            cols.append(eqn.primitive.bind(*parts, **eqn.params))
        return [_Columns(cols, shape[:-1])]

    def dot(self, eqn, lhs: _Columns, rhs: Any) -> list[Any] | None:
        """``lhs (..., K) @ rhs (K, M)`` as M columns ``Σ_k lhs_k · rhs[k, m]``."""
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        if isinstance(rhs, _Columns) or lb or rb or np.ndim(rhs) != 2:
            return None
        if tuple(lc) != (len(lhs.lead),) or tuple(rc) != (0,):
            return None
        k_size, m_size = np.shape(rhs)
        if self.products + k_size * m_size > self.max_products:
            return None  # stays a matrix product (and the function is refused)
        self.products += k_size * m_size
        dtype = eqn.outvars[0].aval.dtype
        cols = []
        for m in range(m_size):
            total = lhs.cols[0] * rhs[0, m]
            for k in range(1, k_size):
                total = total + lhs.cols[k] * rhs[k, m]
            cols.append(total.astype(dtype))
        return [_Columns(cols, lhs.lead)]

    def structural(self, eqn, args: Sequence[Any]) -> list[Any] | None:
        """stack onto a new last axis; squeeze, slice or sum over the last axis."""
        name, params, x = eqn.primitive.name, eqn.params, args[0]
        out_shape = tuple(eqn.outvars[0].aval.shape)
        if name == "stack" and params["axis"] == len(out_shape) - 1:
            if not any(isinstance(a, _Columns) for a in args):
                return [_Columns(args, out_shape[:-1])]
        if not isinstance(x, _Columns) or len(args) != 1:
            return None
        last = len(x.lead)
        if name == "squeeze" and tuple(params["dimensions"]) == (last,) and len(x.cols) == 1:
            return [jnp.broadcast_to(x.cols[0], x.lead)]
        if name == "reduce_sum" and tuple(params["axes"]) == (last,):
            total = x.cols[0]
            for col in x.cols[1:]:
                total = total + col
            return [jnp.broadcast_to(total, x.lead)]
        if name == "slice" and params["strides"] in (None, (1,) * (last + 1)):
            start, stop = params["start_indices"], params["limit_indices"]
            if tuple(start[:last]) == (0,) * last and tuple(stop[:last]) == x.lead:
                return [_Columns(x.cols[start[last] : stop[last]], x.lead)]
        return None

    def apply(self, eqn, args: Sequence[Any]) -> list[Any]:
        name = eqn.primitive.name
        if name != "stack" and not any(isinstance(a, _Columns) for a in args):
            return self.bind(eqn, args)
        out = None
        if name in ELEMENTWISE and len(eqn.outvars) == 1 and eqn.outvars[0].aval.shape:
            out = self.elementwise(eqn, args)
        elif name == "dot_general" and isinstance(args[0], _Columns):
            out = self.dot(eqn, *args)
        elif name in _SUBJAXPR and isinstance(eqn.params.get(_SUBJAXPR[name]), ClosedJaxpr):
            out = self.evaluate(eqn.params[_SUBJAXPR[name]], args)
        else:
            out = self.structural(eqn, args)
        return self.bind(eqn, args) if out is None else out

    def evaluate(self, closed: ClosedJaxpr, args: Sequence[Any]) -> list[Any]:
        return evaluate(closed, args, self.apply, const=_concrete)


def columnar(
    fn: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    example: Mapping[str, Any],
    *,
    max_products: int = MAX_PRODUCTS,
) -> Callable[[Mapping[str, Any]], dict[str, jax.Array]] | None:
    """``fn`` evaluated column by column (see the module docstring), or None where that
    would not be one fused loop of at most ``max_products`` multiply-adds per row.

    Args:
        fn: a pure function of a dict of equal-length columns returning a dict of arrays
            (e.g. a trained model's forward pass; its weights are taken as constants).
        example: columns (arrays or :class:`jax.ShapeDtypeStruct`) of the shapes and dtypes
            it will be called with.
        max_products: most multiply-adds per row to unroll.

    Returns:
        A function with the signature of ``fn`` (for these shapes only), with equal results
        up to the order of float32 sums; jit it. ``None`` if ``fn`` does not qualify.
    """
    closed, shapes = jax.make_jaxpr(fn, return_shape=True)(dict(example))
    names = sorted(example)
    out_tree = jax.tree.structure(shapes)

    def run(columns: Mapping[str, Any], evaluator: _Evaluator) -> dict[str, jax.Array]:
        flat = jax.tree.leaves({k: columns[k] for k in names})
        out = [evaluator.value(v) for v in evaluator.evaluate(closed, flat)]
        return jax.tree.unflatten(out_tree, out)

    probe = _Evaluator(max_products)
    jax.eval_shape(lambda columns: run(columns, probe), dict(example))
    if probe.stacked:
        return None
    return lambda columns: run(columns, _Evaluator(max_products))
