"""Synthetic data generation and storage (hybridflux.emulator.generate, process_model)."""

from __future__ import annotations

import numpy as np
import pytest

from hybridflux.emulator.generate import read_zarr, write_zarr
from hybridflux.emulator.process_model import DetailedProcessModel, ProcessModel
from hybridflux.process.detailed_types import root_profile


def test_adapter_maps_priors_to_parameters(tiny_model):
    assert isinstance(tiny_model, ProcessModel)
    theta = np.array([[1.1, 0.5, 0.95]], np.float32)
    p = tiny_model.params(theta)
    assert float(p.lue.eps_max[0]) == pytest.approx(1.1)
    assert float(p.q_max[0]) == pytest.approx(86.0 * 1300.0 * 0.5, rel=1e-6)
    np.testing.assert_allclose(p.root_fraction[0], root_profile(0.95, p.thickness), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown parameter"):
        DetailedProcessModel({"q10_of_nothing": (1.0, 2.0)})
    with pytest.raises(ValueError, match="low"):
        DetailedProcessModel({"v_pom": (0.2, 0.1)})


def test_scale_pools_scales_each_kind(tiny_model):
    theta = tiny_model.sample_parameters(np.random.default_rng(3), 2)
    s = tiny_model.initial_state(theta)
    f = np.linspace(0.5, 1.5, 18).reshape(2, 9).astype(np.float32)
    np.testing.assert_allclose(
        tiny_model.pools(tiny_model.scale_pools(s, f)), tiny_model.pools(s) * f, rtol=1e-6
    )


def test_generated_runs_are_the_process_model_and_conserve_carbon(tiny_data, tiny_model):
    train, test, cells, theta = tiny_data
    assert train.fluxes.shape == (6, 365, 4) and train.pools.shape == (6, 365, 9)
    assert sorted(train.variant.tolist()) == [0, 0, 0, 1, 1, 1]
    # carbon: Σ pools(end) − Σ pools0 = Σ (GPP − Ra − Rh), float32 rounding
    net = (train.fluxes[..., 0] - train.fluxes[..., 1] - train.fluxes[..., 2]).sum(1)
    change = train.pools[:, -1].sum(1) - train.pools0.sum(1)
    np.testing.assert_allclose(change, net, rtol=0, atol=1e-4 * train.pools0.sum(1).max())
    np.testing.assert_allclose(
        train.fluxes[..., 3],
        train.fluxes[..., 1] + train.fluxes[..., 2] - train.fluxes[..., 0],
        atol=1e-4,
    )
    # variant 0 of a cell = an independent spin-up + simulate of that cell
    k = int(np.flatnonzero(train.variant == 0)[0])
    c = int(train.cell[k])
    th = theta[c : c + 1]
    state, years, _ = tiny_model.spin_up(
        th, cells.values[c : c + 1], cells.doy, cells.lat[c : c + 1]
    )
    np.testing.assert_allclose(tiny_model.pools(state)[0], train.pools0[k], rtol=1e-5)
    assert int(years[0]) == int(train.spinup_years[k]) and 1 <= int(years[0]) <= 4
    _, fluxes, _ = tiny_model.simulate(
        th, state, cells.values[c : c + 1], cells.doy, cells.lat[c : c + 1]
    )
    np.testing.assert_allclose(fluxes[0], train.fluxes[k], rtol=1e-4, atol=1e-4)
    assert test.timing["timed_cells"] == 1 and test.timing["spinup"] > 0


def test_zarr_round_trip_is_exact(tiny_data, tmp_path):
    train = tiny_data[0]
    write_zarr(train, tmp_path / "s.zarr")
    write_zarr(train, tmp_path / "s.zarr")  # replacing an existing store
    back = read_zarr(tmp_path / "s.zarr")
    for name in ("drivers", "fluxes", "pools", "pools0", "theta", "cell", "variant"):
        np.testing.assert_array_equal(getattr(back, name), getattr(train, name))
    assert back.names == train.names and back.timing == pytest.approx(train.timing)
    with pytest.raises(FileNotFoundError, match="no synthetic-data store"):
        read_zarr(tmp_path / "missing.zarr")
