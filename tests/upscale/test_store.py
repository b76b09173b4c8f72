"""The done-log: torn last lines, another job's log; and the store layout."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hybridflux.upscale.store import DoneLog, UpscaleStoreError, create_store, save_grid


def test_a_torn_last_line_is_not_done_and_is_dropped(tmp_path):
    path = tmp_path / "o.zarr.done"
    log = DoneLog.open(path, {"grid": "g"})
    log.record(0)
    log.record(4)
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"chunk": 7')  # killed while appending
    again = DoneLog.open(path, {"grid": "g"})
    assert again.done == {0, 4}
    again.record(9)
    assert DoneLog.open(path, {"grid": "g"}).done == {0, 4, 9}


def test_another_jobs_log_is_refused(tmp_path):
    path = tmp_path / "o.zarr.done"
    DoneLog.open(path, {"grid": "g", "chunks": [1, 2, 3]})
    with pytest.raises(UpscaleStoreError, match="differs in chunks"):
        DoneLog.open(path, {"grid": "g", "chunks": [1, 2, 4]})


def test_store_layout_reads_as_nan_and_never_overwrites(tmp_path):
    coords = {"time": np.arange(4), "lat": np.array([1.0, 0.0]), "lon": np.array([0.0])}
    out = create_store(
        tmp_path / "o.zarr", coords, {"GPP": {"units": "gC m-2 d-1"}}, (2, 1, 1), {"source": "test"}
    )
    ds = xr.open_zarr(out)
    assert np.isnan(ds["GPP"].values).all() and ds["GPP"].encoding["chunks"] == (2, 1, 1)
    assert ds.attrs["source"] == "test" and ds["GPP"].attrs["units"] == "gC m-2 d-1"
    with pytest.raises(UpscaleStoreError, match="never overwritten"):
        create_store(out, coords, {"GPP": {}}, (2, 1, 1), {})
    with pytest.raises(UpscaleStoreError, match="exists"):
        save_grid(ds, out)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary folder left behind
