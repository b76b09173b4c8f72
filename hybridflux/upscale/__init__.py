"""Gridded upscaling: a site-trained model applied over covariate grids with xarray + dask.

``hybridflux upscale RUN --grid PATH --out PATH.zarr [--scheduler ADDRESS]`` is
:func:`run_upscale`. The pieces, bottom up:

- :mod:`~hybridflux.upscale.grid` — open a grid lazily (zarr/netCDF, dims ``time, lat,
  lon``), check inputs, units and time step against the run's training data;
- :mod:`~hybridflux.upscale.apply` — :class:`ChunkPredictor`, the run's jitted forward
  pass on fixed-size batches (one compiled shape, the last batch padded);
- :mod:`~hybridflux.upscale.columnar` — that forward pass evaluated column by column: the
  narrow networks unrolled, the whole model one fused loop over the cells;
- :mod:`~hybridflux.upscale.job` — the chunk plan and the per-chunk read → predict → write;
- :mod:`~hybridflux.upscale.store` — the CF zarr output, provenance, the done-log;
- :mod:`~hybridflux.upscale.scheduler` — threads here or a ``dask.distributed`` cluster;
- :mod:`~hybridflux.upscale.totals` — area-weighted totals in PgC/yr, annual-mean maps;
- :mod:`~hybridflux.upscale.era5` — ERA5 hourly files → a daily ``TA_F``/``SW_IN_F``/
  ``VPD_F`` grid.

Example:
    >>> from hybridflux.upscale import cell_areas
    >>> import numpy as np
    >>> cell_areas(np.array([-45.0, 45.0]), np.array([-90.0, 90.0])).shape
    (2, 2)
"""

from hybridflux.upscale.apply import DEFAULT_BATCH as DEFAULT_BATCH
from hybridflux.upscale.apply import ChunkPredictor as ChunkPredictor
from hybridflux.upscale.era5 import era5_daily as era5_daily
from hybridflux.upscale.era5 import open_era5 as open_era5
from hybridflux.upscale.grid import GridError as GridError
from hybridflux.upscale.grid import check_grid as check_grid
from hybridflux.upscale.grid import open_grid as open_grid
from hybridflux.upscale.run import ChunkProgress as ChunkProgress
from hybridflux.upscale.run import prepare_upscale as prepare_upscale
from hybridflux.upscale.run import run_upscale as run_upscale
from hybridflux.upscale.store import UpscaleStoreError as UpscaleStoreError
from hybridflux.upscale.store import save_grid as save_grid
from hybridflux.upscale.totals import annual_mean as annual_mean
from hybridflux.upscale.totals import annual_totals as annual_totals
from hybridflux.upscale.totals import cell_areas as cell_areas

__all__ = [
    "DEFAULT_BATCH",
    "ChunkPredictor",
    "ChunkProgress",
    "GridError",
    "UpscaleStoreError",
    "annual_mean",
    "annual_totals",
    "cell_areas",
    "check_grid",
    "era5_daily",
    "open_era5",
    "open_grid",
    "prepare_upscale",
    "run_upscale",
    "save_grid",
]
