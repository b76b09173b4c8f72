"""run_upscale end to end on a tiny grid: equal to the model applied directly, resumable after
a crash with an identical result, the same on a dask LocalCluster, refusing foreign outputs."""

from __future__ import annotations

import io
import json

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from rich.console import Console

from hybridflux.runs.rundir import RunDir
from hybridflux.upscale import ChunkProgress, UpscaleStoreError, run_upscale
from hybridflux.upscale.store import DoneLog, write_region
from hybridflux.upscale.totals import annual_mean, annual_totals

CHUNKS = {"time": 16, "lat": 2, "lon": 3}  # 3 x 3 x 3 = 27 chunks, short ones at every edge
N_CHUNKS = 27


def _upscale(run_dir, grid, out, **kw):
    options = dict(chunks=CHUNKS, batch_size=32, workers=2, figures=False)
    return run_upscale(run_dir, grid, out, **{**options, **kw})


def _direct(run_dir, grid) -> np.ndarray:
    """The model called on every finite cell at once: no jit, batches, padding or chunks."""
    model = RunDir(run_dir).load_models()[0]
    ds = xr.open_dataset(grid, engine="zarr").load()
    columns = {k: ds[k].values.reshape(-1) for k in model.inputs}
    finite = np.all([np.isfinite(v) for v in columns.values()], axis=0)
    gpp = model({k: jnp.asarray(v[finite]) for k, v in columns.items()})["GPP"]
    out = np.full(finite.size, np.nan, np.float32)
    out[finite] = np.asarray(gpp)
    return out.reshape(ds["TA_F"].shape)


@pytest.fixture(scope="module")
def reference(run_dir, grid, tmp_path_factory):
    """One uninterrupted local run (with the figure)."""
    out = tmp_path_factory.mktemp("ref") / "gpp.zarr"
    summary = _upscale(run_dir, grid, out, figures=True)
    return out, summary


def test_tiny_grid_equals_direct_model_application(run_dir, grid, reference):
    out, summary = reference
    result = xr.open_zarr(out)
    assert result["GPP"].dims == ("time", "lat", "lon")
    expected = _direct(run_dir, grid)
    assert np.isnan(expected[:, 1, 2]).all() and np.isnan(expected[5]).all()
    np.testing.assert_allclose(result["GPP"].values, expected, rtol=2e-5, atol=1e-5)
    assert np.isfinite(result["GPP"].values).sum() == np.isfinite(expected).sum() > 1000
    assert "27 chunks" in summary and "27 run now, 0 done before" in summary


def test_output_carries_cf_attributes_and_provenance(run_dir, reference):
    out, _ = reference
    ds = xr.open_zarr(out)
    gpp = ds["GPP"].attrs
    assert gpp["units"] == "gC m-2 d-1" and gpp["cell_methods"] == "time: mean area: mean"
    assert gpp["standard_name"] == "gross_primary_productivity_of_biomass_expressed_as_carbon"
    assert set(ds.data_vars) == {"GPP"}  # only what the run was trained on
    assert ds["GPP"].dtype == np.float32  # stored as float32, not widened by the layout
    assert ds.attrs["hybridflux_run"] == str(run_dir.resolve())
    assert len(ds.attrs["hybridflux_config_sha256"]) == 64 and ds.attrs["hybridflux_version"]
    totals = json.loads(out.with_suffix(".totals.json").read_text())
    assert totals["units"] == "PgC yr-1" and totals["totals"]["GPP"]["grid"] > 0
    # the totals of the chunks' time sums = those of the output read back whole
    again = annual_totals(annual_mean(ds["GPP"]))
    assert totals["totals"]["GPP"] == pytest.approx(again, rel=1e-9)
    assert out.with_suffix(".GPP_annual_mean.png").stat().st_size > 1000


class Crash(RuntimeError):
    """Stands for the process being killed."""


def test_killed_run_restarted_completes_only_missing_chunks_identically(
    run_dir, grid, reference, tmp_path
):
    out = tmp_path / "gpp.zarr"
    k = 5

    def crash_after_k(index):
        if len(DoneLog.open(f"{out}.done", header(out)).done) >= k:
            raise Crash

    with pytest.raises(Crash):
        _upscale(run_dir, grid, out, on_chunk=crash_after_k)
    done = DoneLog.open(f"{out}.done", header(out)).done
    assert len(done) == k
    # a chunk that was being written when the process died: garbage, not recorded as done
    torn = next(i for i in range(N_CHUNKS) if i not in done)
    write_region(out, _region(torn), {"GPP": np.full((16, 2, 3), 999.0, np.float32)})
    rerun: list[int] = []
    summary = _upscale(run_dir, grid, out, on_chunk=rerun.append)
    assert sorted(rerun) == sorted(set(range(N_CHUNKS)) - done)  # only the missing chunks
    assert f"{N_CHUNKS - k} run now, {k} done before" in summary
    a, b = xr.open_zarr(out), xr.open_zarr(reference[0])
    np.testing.assert_array_equal(a["GPP"].values, b["GPP"].values)  # bitwise, NaN included
    assert a.attrs == b.attrs and a["GPP"].attrs == b["GPP"].attrs
    assert out.with_suffix(".totals.json").read_text() == (
        reference[0].with_suffix(".totals.json").read_text()
    )


def header(out):
    with open(f"{out}.done", encoding="utf-8") as file:
        return json.loads(file.readline())["job"]


def _region(index):
    from hybridflux.upscale.job import plan_chunks

    return plan_chunks((40, 5, 7), (16, 2, 3))[index].region


def test_local_cluster_run_equals_local_run(run_dir, grid, reference, tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "cluster.zarr"
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        screen = io.StringIO()
        bar = ChunkProgress(console=Console(file=screen, force_terminal=True, width=100))
        summary = _upscale(run_dir, grid, out, scheduler=cluster.scheduler_address, progress=bar)
    assert "dask.distributed at" in summary and "27/27" in screen.getvalue()
    a, b = xr.open_zarr(out), xr.open_zarr(reference[0])
    np.testing.assert_array_equal(a["GPP"].values, b["GPP"].values)


def test_a_foreign_output_is_refused(run_dir, grid, reference, tmp_path):
    with pytest.raises(UpscaleStoreError, match="differs in batch_size"):
        _upscale(run_dir, grid, reference[0], batch_size=64)
    (tmp_path / "other.zarr").mkdir()
    with pytest.raises(UpscaleStoreError, match="not a resumable"):
        _upscale(run_dir, grid, tmp_path / "other.zarr")


def test_the_garbage_collector_is_left_as_found(run_dir, grid, reference, tmp_path):
    """The objects alive before a run are frozen while it runs (full collections skip them)
    and given back afterwards, also when it fails."""
    import gc

    before = gc.get_freeze_count()
    during: list[int] = []

    def count(index):
        during.append(gc.get_freeze_count())

    _upscale(run_dir, grid, tmp_path / "gc.zarr", on_chunk=count)
    assert min(during) > before + 10_000 and gc.get_freeze_count() == before
    with pytest.raises(UpscaleStoreError):
        _upscale(run_dir, grid, reference[0], batch_size=64)
    assert gc.get_freeze_count() == before
