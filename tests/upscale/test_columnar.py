"""Columnar evaluation: the same numbers as the model evaluated as written, without the
matrix products of narrow layers; refused where it would not be one small fused loop;
anything it does not split is evaluated as written."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.hybrid.models import direct_fluxes, lue_q10_nee
from hybridflux.upscale.columnar import MAX_PRODUCTS, columnar

N = 256


def _columns(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "TA_F": rng.normal(10, 8, N).astype(np.float32),
        "VPD_F": rng.uniform(0, 20, N).astype(np.float32),
        "SW_IN_F": rng.uniform(0, 350, N).astype(np.float32),
        "SW_POT_sm": rng.uniform(50, 450, N).astype(np.float32),
        "SW_POT_sm_diff": rng.normal(0, 3, N).astype(np.float32),
    }


def _trained_like(model, columns):
    """Normalisation from the data and perturbed weights: a non-trivial function."""
    from flax import nnx

    model.set_normalization(columns)
    rng = np.random.default_rng(5)
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda x: x + rng.normal(0, 0.5, x.shape), params))
    return model


def _hlo(fn, columns) -> str:
    return jax.jit(fn).lower(columns).compile().as_text()


@pytest.mark.parametrize(
    ("build", "outputs"),
    [
        (lambda: lue_q10_nee(hidden=(8,), rngs=0), ("NEE", "GPP", "RECO")),
        (lambda: lue_q10_nee(hidden=(16, 16), rngs=1), ("GPP",)),
        (lambda: direct_fluxes(hidden=(16,), rngs=2), ("NEE", "GPP", "RECO")),
    ],
    ids=["lue_q10_8", "lue_q10_16x16_gpp", "direct_16"],
)
def test_narrow_models_match_and_lose_their_matrix_products(build, outputs):
    columns = _columns()
    model = _trained_like(build(), columns)

    def fn(batch):
        result = model(batch)
        return {k: result[k] for k in outputs}

    plain = jax.jit(fn)(columns)
    fast = columnar(fn, columns)
    assert fast is not None
    result = jax.jit(fast)(columns)
    assert set(result) == set(plain) == set(outputs)
    for name, values in plain.items():
        assert np.ptp(np.asarray(values)) > 0.1  # a non-trivial function of the inputs
        np.testing.assert_allclose(result[name], values, rtol=2e-6, atol=2e-6 * np.ptp(values))
    assert " dot(" in _hlo(fn, columns)
    assert " dot(" not in _hlo(fast, columns)


def test_what_would_not_be_one_small_fused_loop_is_refused():
    """More unrolled products per row than MAX_PRODUCTS (320) give None (LLVM runs out of
    memory compiling a much larger loop); dead code (the respiration network of a GPP-only
    function) does not count; the budget is a parameter."""
    columns = _columns(1)
    wide = lue_q10_nee(hidden=(24, 24), rngs=3)  # 3*24 + 24*24 + 24 = 672 products for GPP
    assert columnar(lambda b: {"GPP": wide(b)["GPP"]}, columns) is None
    narrow = lue_q10_nee(hidden=(16, 16), rngs=3)  # 320 products for GPP, 640 for NEE
    assert columnar(lambda b: {"GPP": narrow(b)["GPP"]}, columns) is not None
    assert columnar(lambda b: {"NEE": narrow(b)["NEE"]}, columns) is None
    assert columnar(lambda b: {"NEE": narrow(b)["NEE"]}, columns, max_products=640) is not None


def test_operations_it_does_not_split_are_evaluated_as_written():
    """Sorting, a cumulative sum, a transpose and a reshape across the feature axis receive
    the columns stacked (so the function is refused); evaluated anyway, the results are those
    of the function itself."""
    from hybridflux.upscale.columnar import _Evaluator

    w = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(3, 2)

    def fn(cols):
        x = jnp.stack([cols["TA_F"], cols["VPD_F"], cols["SW_IN_F"]], axis=-1)
        h = jnp.tanh((x - 1.0) / 10.0)  # split: elementwise
        ordered = jnp.sort(h, axis=-1)  # not split
        running = jnp.cumsum(h, axis=-1)[..., 1]  # not split, then a column
        flat = h.T.reshape(-1)[:N]  # not split
        return {"a": ordered[..., 0] + running, "b": (h @ w).sum(-1), "c": flat}

    columns = _columns(2)
    assert columnar(fn, columns) is None
    closed = jax.make_jaxpr(fn)(columns)
    evaluator = _Evaluator(max_products=MAX_PRODUCTS)

    def forced(cols):
        flat = jax.tree.leaves(cols)
        out = evaluator.evaluate(closed, flat)
        return {k: evaluator.value(v) for k, v in zip(sorted(("a", "b", "c")), out, strict=True)}

    expected = jax.jit(fn)(columns)
    result = jax.jit(forced)(columns)
    assert evaluator.stacked >= 3 and evaluator.products == 6
    for name, values in expected.items():
        np.testing.assert_allclose(result[name], values, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(result["c"], expected["c"])  # no arithmetic: exact
