"""Shared tiny synthetic data for the emulator tests (one process-model run, module scope)."""

from __future__ import annotations

import numpy as np
import pytest

from hybridflux.data import read
from hybridflux.data.sample import sample_path
from hybridflux.emulator.drivers import CellDrivers, sample_cells, site_driver_years
from hybridflux.emulator.generate import Variant, generate
from hybridflux.emulator.process_model import DetailedProcessModel

PRIORS = {"eps_max": (0.8, 1.2), "silt_clay": (0.2, 0.6), "root_beta": (0.94, 0.98)}


@pytest.fixture(scope="session")
def fr_pue_years():
    """Driver years of the bundled FR-Pue daily sample."""
    return site_driver_years(read(sample_path("fr-pue-daily")))


@pytest.fixture(scope="session")
def tiny_model():
    """The detailed model with a loose spin-up criterion (converges in a few years)."""
    return DetailedProcessModel(PRIORS, spinup_tol=50.0, max_years=4, window_years=1.0)


@pytest.fixture(scope="session")
def tiny_data(fr_pue_years, tiny_model):
    """Three cells × one year, two variants; plus one held-out cell (timed, warm)."""
    rng = np.random.default_rng(0)
    cells = sample_cells(fr_pue_years, 4, 1, rng)
    theta = tiny_model.sample_parameters(rng, 4)
    part = lambda s: CellDrivers(cells.values[s], cells.doy, cells.lat[s], cells.label[s])  # noqa: E731
    train = generate(
        tiny_model,
        part(slice(0, 3)),
        theta[:3],
        chunk_size=1,
        variants=[Variant(), Variant(0.5, 1.5, 1.0)],
    )
    test = generate(tiny_model, part(slice(3, 4)), theta[3:], chunk_size=1, warm=True)
    return train, test, cells, theta
