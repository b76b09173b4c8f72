"""Parameter sources: Fixed, Global (starts at init), Modulated (bounds, normalisation, init)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridflux.hybrid.params import PhysicsParam, Stat
from hybridflux.hybrid.sources import Fixed, Global, Modulated, batch_length

BATCH = {"TA_F": jnp.array([1.0, 2.0, 3.0, 4.0])}


def test_fixed_broadcasts_to_batch_length():
    out = Fixed(15.0)(BATCH)
    assert out.shape == (4,) and np.all(np.asarray(out) == 15.0)
    assert Fixed(1.0).inputs == ()


@settings(max_examples=40, deadline=None)
@given(lo=st.floats(-10, 10), width=st.floats(0.1, 10), frac=st.floats(0.05, 0.95))
def test_global_starts_at_init(lo, width, frac):
    init = lo + frac * width
    source = Global(init, lo, lo + width)
    assert float(source.value) == pytest.approx(init, rel=1e-5, abs=1e-5 * width)
    np.testing.assert_allclose(source(BATCH), np.full(4, float(source.value)))


def test_global_softplus_when_no_upper_bound():
    source = Global(3.0, 1.0)
    assert float(source.value) == pytest.approx(3.0, rel=1e-6)
    assert float(source.head(jnp.asarray(-100.0), *source.bounds)) >= 1.0


def test_global_stores_z_as_physics_param():
    source = Global(1.5, 0.5, 5.0)
    assert isinstance(source.z, PhysicsParam)
    # z = logit((1.5 - 0.5)/4.5), computed independently
    assert float(source.z[...]) == pytest.approx(np.log(1.0 / 3.5), rel=1e-6)


@pytest.mark.parametrize(("init", "lo", "hi"), [(0.5, 0.5, 5.0), (6.0, 0.5, 5.0), (1.0, 2.0, 1.0)])
def test_global_rejects_init_outside_bounds(init, lo, hi):
    with pytest.raises(ValueError):
        Global(init, lo, hi)


def _modulated(**kw):
    return Modulated(["a", "b"], **{"lo": 0.5, "hi": 5.0, "rngs": nnx.Rngs(0), **kw})


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(1e-3, 1e4))
def test_modulated_respects_bounds(scale):
    m = _modulated()
    x = np.random.default_rng(0).normal(size=(2, 50)) * scale
    out = np.asarray(m({"a": jnp.asarray(x[0]), "b": jnp.asarray(x[1])}))
    assert out.shape == (50,) and np.all(out >= 0.5) and np.all(out <= 5.0)


def test_modulated_softplus_is_above_lower_bound():
    m = Modulated(["a"], lo=0.2, rngs=nnx.Rngs(1))
    out = np.asarray(m({"a": jnp.linspace(-1e3, 1e3, 21)}))
    assert np.all(out >= 0.2)


def test_set_normalization_matches_numpy():
    rng = np.random.default_rng(3)
    a = rng.normal(10.0, 3.0, size=100)
    a[::7] = np.nan
    b = np.full(100, 4.0)
    m = _modulated()
    m.set_normalization({"a": jnp.asarray(a), "b": jnp.asarray(b)})
    np.testing.assert_allclose(m.mean[...], [np.nanmean(a), 4.0], rtol=1e-5)
    np.testing.assert_allclose(m.std[...], [np.nanstd(a), 1.0], rtol=1e-5)
    assert isinstance(m.mean, Stat) and isinstance(m.std, Stat)


def test_modulated_init_level_at_the_covariate_mean():
    m = _modulated(init=1.5)
    m.set_normalization({"a": jnp.array([0.0, 2.0]), "b": jnp.array([10.0, 30.0])})
    # At x = mean the standardised input is 0; hidden biases start at 0, so theta = init.
    out = m({"a": jnp.array([1.0]), "b": jnp.array([20.0])})
    assert float(out[0]) == pytest.approx(1.5, rel=1e-5)


def test_modulated_init_with_default_normalization():
    out = Modulated(["a"], lo=0.0, hidden=(4,), init=3.0, rngs=nnx.Rngs(0))({"a": jnp.zeros(1)})
    assert float(out[0]) == pytest.approx(3.0, rel=1e-5)


def test_modulated_with_callable_head():
    m = Modulated(
        ["a"], lo=-1.0, hi=1.0, head=lambda z, lo, hi: jnp.clip(z, lo, hi), rngs=nnx.Rngs(0)
    )
    out = np.asarray(m({"a": jnp.linspace(-100, 100, 9)}))
    assert np.all(np.abs(out) <= 1.0)
    with pytest.raises(ValueError, match="init"):
        Modulated(["a"], lo=0.0, head=jnp.exp, init=1.0, rngs=nnx.Rngs(0))


def test_modulated_errors_are_clear():
    with pytest.raises(ValueError, match="Unknown head"):
        Modulated(["a"], lo=0.0, head="relu", rngs=nnx.Rngs(0))
    with pytest.raises(TypeError):
        Modulated("a", lo=0.0, rngs=nnx.Rngs(0))
    with pytest.raises(KeyError, match="'b'"):
        _modulated()({"a": jnp.zeros(3)})


def test_network_weights_are_params_and_stats_are_not():
    m = _modulated()
    params = nnx.state(m, nnx.Param)
    stats = nnx.state(m, Stat)
    n_params = sum(x.size for x in jax.tree.leaves(params))
    assert n_params == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert sum(x.size for x in jax.tree.leaves(stats)) == 4


def test_batch_length_requires_a_column():
    assert batch_length({"x": jnp.zeros(5)}) == 5
    with pytest.raises(ValueError):
        batch_length({})
