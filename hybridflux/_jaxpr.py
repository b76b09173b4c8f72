"""What the jaxpr interpreters of the package share (columnar upscaling, feature-major training).

Both :mod:`hybridflux.upscale.columnar` and :mod:`hybridflux.training.feature_major` evaluate a
function's own jaxpr (:func:`jax.make_jaxpr`) equation by equation, changing how some arrays
are stored but never the arithmetic. They share the set of elementwise primitives, the call
primitives whose body they evaluate in place, :func:`live` (the equations an output needs),
:func:`bind` (an equation evaluated as written) and :func:`evaluate` (the walk over the
equations, each handed to the interpreter's own ``apply``).

Example:
    >>> import jax, jax.numpy as jnp
    >>> closed = jax.make_jaxpr(lambda x: (jnp.tanh(x), jnp.exp(x))[0])(jnp.ones(3))
    >>> [e.primitive.name for e in live(closed.jaxpr)], "tanh" in ELEMENTWISE
    (['tanh'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jax.extend.core import ClosedJaxpr, Literal

__all__ = ["CALLS", "ELEMENTWISE", "bind", "evaluate", "live"]

#: Primitives that act elementwise on operands of one shape (or scalars).
ELEMENTWISE = frozenset(
    "abs acos acosh add and asin asinh atan atan2 atanh cbrt ceil clamp convert_element_type "
    "copy cos cosh digamma div eq erf erf_inv erfc exp exp2 expm1 floor ge gt integer_pow "
    "is_finite le lgamma log log1p logistic lt max min mul ne neg nextafter not or pow "
    "reduce_precision rem round rsqrt select_n sign sin sinh sqrt square sub tan tanh "
    "xor".split()
)

#: Call primitives whose body (a ``ClosedJaxpr`` in this parameter) can be evaluated in place
#: without changing derivatives (no custom differentiation rule).
CALLS = {"jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr"}


def live(jaxpr) -> list[Any]:
    """The equations that the outputs depend on (or that have effects), in order: what is
    not needed (e.g. the respiration network of a GPP-only upscaling) is not evaluated."""
    needed = {v for v in jaxpr.outvars if not isinstance(v, Literal)}
    keep = []
    for eqn in reversed(jaxpr.eqns):
        if eqn.effects or any(v in needed for v in eqn.outvars):
            keep.append(eqn)
            needed.update(v for v in eqn.invars if not isinstance(v, Literal))
    return keep[::-1]


def bind(eqn, args: Sequence[Any]) -> list[Any]:
    """The equation evaluated as written on ``args`` (as ``jax.core.eval_jaxpr`` does)."""
    params = eqn.primitive.get_bind_params(eqn.params)
    with eqn.ctx.manager:
        out = eqn.primitive.bind(*args, **params)
    return list(out) if eqn.primitive.multiple_results else [out]


def evaluate(
    closed: ClosedJaxpr,
    args: Sequence[Any],
    apply: Callable[[Any, list[Any]], list[Any]],
    const: Callable[[Any], Any] = lambda x: x,
) -> list[Any]:
    """The outputs of ``closed`` on ``args``, its live equations evaluated by ``apply(eqn,
    operands)`` (an interpreter's own rule; ``bind`` evaluates one as written) and its
    constants passed through ``const``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0)
        >>> float(evaluate(closed, [0.5], bind)[0]) == float(jnp.sin(0.5) * 2.0)
        True
    """
    env: dict[Any, Any] = {}

    def read(var):
        return var.val if isinstance(var, Literal) else env[var]

    env.update(zip(closed.jaxpr.constvars, map(const, closed.consts), strict=True))
    env.update(zip(closed.jaxpr.invars, args, strict=True))
    for eqn in live(closed.jaxpr):
        env.update(zip(eqn.outvars, apply(eqn, [read(v) for v in eqn.invars]), strict=True))
    return [read(v) for v in closed.jaxpr.outvars]
