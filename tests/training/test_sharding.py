"""Data-parallel training (hybridflux.training.sharding): four devices give one device's numbers.

JAX fixes its device count when it starts, so the multi-device runs happen in subprocesses of
this file (``python tests/training/test_sharding.py CASE OUT``) with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` in their environment, all started at
once by the ``children`` fixture. The references are computed here, in the test process, on
one device (``devices=1``) through the plain ``jax.jit`` path: another code path in another
process. Tolerance: parameters after 2–4 Adam epochs agree to ``atol = rtol = 1e-5`` (observed
≤ 4e-7 on values of order 1; float32 gradient sums are added in another order when the rows of
a batch are split over devices).

The distributed case starts two processes of two fake CPU devices each on localhost
(``jax.distributed`` with gloo collectives, ~10–20 s on a loaded 2-core machine).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import optax
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOL = {"atol": 1e-5, "rtol": 1e-5}
FIT = {"epochs": 4, "batch_size": 50}  # 50 rows over 4 devices: uneven shards 13, 13, 12, 12


def _env(devices: int) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def _spawn(*args: str, devices: int = 4) -> subprocess.Popen:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    return subprocess.Popen(
        cmd, env=_env(devices), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _wait(proc: subprocess.Popen, timeout: float = 240) -> None:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out.decode()[-4000:]


# ----------------------------------------------------------------- subprocess side (4 devices)


def _single_host(out: str) -> None:
    import equinox as eqx
    import jax

    from hybridflux.training import Checkpointer, fit, fit_ensemble, fit_sites
    from hybridflux.training.epoch import RowOrder, make_train_epoch
    from hybridflux.training.fit import initial_state
    from hybridflux.training.flat import split_flat
    from hybridflux.training.sharding import compile_run, data_parallel, place_state
    from tests.training.conftest import ToyQ10, masked_mse, toy_data

    assert len(jax.devices()) == 4
    data, val, res = toy_data(512), toy_data(256, seed=1), {}
    ckpt = Checkpointer(Path(out).parent / "ckpt", every=1, keep=4)
    r = fit(ToyQ10(), data, optax.adam(1e-2), objective=masked_mse, val_data=val,
            checkpointer=ckpt, **FIT)  # fmt: skip
    res |= {"fit": r.flat, "fit_val": r.history["val_loss"], "fit_train": r.history["train_loss"]}
    for path in ckpt.checkpoints()[2:]:
        path.unlink()  # as if stopped after epoch 2
    r = fit(ToyQ10(), data, optax.adam(1e-2), objective=masked_mse, val_data=val,
            checkpointer=ckpt, resume=True, **FIT)  # fmt: skip
    res["resumed"] = r.flat
    for members in (4, 2):  # members over 4 devices / a 2 x 2 mesh (members x batch rows)
        r = fit_ensemble(ToyQ10, members, data, optax.adam(1e-2), objective=masked_mse,
                         epochs=2, batch_size=64)  # fmt: skip
        res[f"ensemble{members}"] = r.flat
    sites = {k: np.stack([toy_data(128, seed=s)[k] for s in range(4)]) for k in data}
    r = fit_sites(ToyQ10, sites, optax.adam(1e-2), objective=masked_mse, epochs=2, batch_size=32)
    res["sites"] = r.flat
    # The compiled sharded epoch: traced once over 3 epochs; rows split; gradient all-reduced.
    flat_model, flat = split_flat(ToyQ10())
    opt, plan, weight = optax.adam(1e-2), data_parallel(), np.ones(512, np.float32)
    epoch = make_train_epoch(flat_model, masked_mse, opt, 64)
    epoch = eqx.debug.assert_max_traces(epoch, max_traces=1)
    order, arrays = RowOrder(weight, 64), {"rest": flat_model.rest, "data": data, "weight": weight}
    run, _, arrays = compile_run(plan, epoch, None, (order.n_batches, 64), arrays)
    state = place_state(plan, initial_state(flat, opt.init(flat), np.zeros(2, np.uint32)))
    flat, opt_state = state.flat, state.opt_state
    for e in range(3):
        flat, opt_state, _ = run(flat, opt_state, arrays["rest"], arrays["data"],
                                 arrays["weight"], order(0, e))  # fmt: skip
    res["traces"] = np.array(run.jitted._cache_size())
    args = (flat, opt_state, arrays["rest"], arrays["data"], arrays["weight"], order(0, 0))
    hlo = run.jitted.lower(*args[:5], plan.put(args[5], plan.order_spec((8, 64), False)))
    text = hlo.compile().as_text()
    res["all_reduce"] = np.array(len(re.findall(r"all-reduce\(", text)))
    rows = {int(m) for m in re.findall(r"f32\[(\d+),16\]", text)}  # (rows, 16) hidden layer
    res["rows_per_device"] = np.array(sorted(rows))
    np.savez(out, **{k: np.asarray(v) for k, v in res.items()})


def _distributed(out: str, port: str, process_id: str) -> None:
    from hybridflux.training.sharding import initialize_distributed

    assert initialize_distributed(f"localhost:{port}", 2, int(process_id))
    import jax

    from hybridflux.training import Checkpointer, fit
    from hybridflux.training.sharding import global_rows, is_primary
    from tests.training.conftest import ToyQ10, masked_mse, toy_data

    assert len(jax.devices()) == 4 and len(jax.local_devices()) == 2
    full = toy_data(512)
    rows = slice(0, 300) if jax.process_index() == 0 else slice(300, 512)  # uneven: padded
    data, weight = global_rows({k: np.asarray(v)[rows] for k, v in full.items()})
    ckpt = Checkpointer(Path(out).parent / "ckpt_mp", every=1)
    r = fit(ToyQ10(), data, optax.adam(1e-2), objective=masked_mse, weight=weight,
            checkpointer=ckpt, **FIT)  # fmt: skip
    np.savez(f"{out}.{process_id}.npz", flat=np.asarray(r.flat), primary=is_primary(),
             rows=data["x1"].shape[0])  # fmt: skip
    jax.distributed.shutdown()


# ----------------------------------------------------------------- test side (1 device)


class _Children:
    """The subprocesses, all started at once (they overlap with the references computed here)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.port = tmp, str(_free_port())
        self.single = _spawn("single", str(tmp / "four.npz"))
        self.distributed = [
            _spawn("distributed", str(tmp / "mp"), self.port, str(i), devices=2) for i in (0, 1)
        ]
        self._four: dict | None = None

    def four(self) -> dict[str, np.ndarray]:
        if self._four is None:
            _wait(self.single)
            with np.load(self.tmp / "four.npz", allow_pickle=False) as npz:
                self._four = dict(npz)
        return self._four

    def two_processes(self) -> list[dict[str, np.ndarray]]:
        for proc in self.distributed:
            _wait(proc)
        return [dict(np.load(self.tmp / f"mp.{i}.npz", allow_pickle=False)) for i in (0, 1)]

    def close(self) -> None:
        for proc in [self.single, *self.distributed]:  # waited for or not (e.g. under -k)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    spawned = _Children(tmp_path_factory.mktemp("sharding"))
    yield spawned
    spawned.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _toy():
    from tests.training.conftest import toy_data

    return toy_data(512), toy_data(256, seed=1)


def test_fit_on_four_devices_equals_one_device(children):
    from hybridflux.training import fit
    from tests.training.conftest import ToyQ10, masked_mse

    data, val = _toy()
    ref = fit(ToyQ10(), data, optax.adam(1e-2), objective=masked_mse, val_data=val, devices=1,
              **FIT)  # fmt: skip
    four = children.four()
    np.testing.assert_allclose(four["fit"], ref.flat, **TOL)
    np.testing.assert_allclose(four["fit_val"], ref.history["val_loss"], **TOL)
    np.testing.assert_allclose(four["fit_train"], ref.history["train_loss"], **TOL)
    # resumed after 2 of 4 epochs on four devices: bit for bit the uninterrupted run
    np.testing.assert_array_equal(four["resumed"], four["fit"])


@pytest.mark.parametrize("members", [4, 2])
def test_ensemble_over_devices_equals_one_device(children, members):
    from hybridflux.training import fit_ensemble
    from tests.training.conftest import ToyQ10, masked_mse

    data, _ = _toy()
    ref = fit_ensemble(ToyQ10, members, data, optax.adam(1e-2), objective=masked_mse,
                       epochs=2, batch_size=64, devices=1)  # fmt: skip
    np.testing.assert_allclose(children.four()[f"ensemble{members}"], ref.flat, **TOL)


def test_sites_over_devices_equal_one_device(children):
    from hybridflux.training import fit_sites
    from tests.training.conftest import ToyQ10, masked_mse, toy_data

    sites = {k: np.stack([toy_data(128, seed=s)[k] for s in range(4)]) for k in _toy()[0]}
    ref = fit_sites(ToyQ10, sites, optax.adam(1e-2), objective=masked_mse, epochs=2,
                    batch_size=32, devices=1)  # fmt: skip
    np.testing.assert_allclose(children.four()["sites"], ref.flat, **TOL)


def test_sharded_epoch_traces_once_and_splits_rows(children):
    four = children.four()
    assert int(four["traces"]) == 1
    assert int(four["all_reduce"]) >= 1  # XLA inserted the gradient reduction
    # 64 rows per batch over 4 devices: the first layer sees (16, 16) per device, never 64 rows
    assert 16 in four["rows_per_device"].tolist()
    assert 64 not in four["rows_per_device"].tolist()


def test_data_parallel_is_none_on_one_device_and_rejects_bad_counts():
    import jax

    from hybridflux.training.sharding import data_parallel

    n = len(jax.devices())
    assert data_parallel(1) is None
    assert (data_parallel() is None) == (n == 1)
    with pytest.raises(ValueError, match=f"train.devices={n + 1}: {n} devices are visible"):
        data_parallel(n + 1)
    with pytest.raises(ValueError, match="train.devices=0"):
        data_parallel(0)


def test_two_processes_on_localhost_equal_one_device(children):
    from hybridflux.training import fit
    from tests.training.conftest import ToyQ10, masked_mse

    data, _ = _toy()
    ref = fit(ToyQ10(), data, optax.adam(1e-2), objective=masked_mse, devices=1, **FIT)
    results = children.two_processes()
    assert [bool(r["primary"]) for r in results] == [True, False]
    assert int(results[0]["rows"]) == 600  # 300 + 212 rows, each block padded to 300
    for r in results:
        np.testing.assert_allclose(r["flat"], ref.flat, **TOL)
    names = sorted(p.name for p in (children.tmp / "ckpt_mp").iterdir())
    assert names == ["epoch_000003.npz", "epoch_000004.npz"]  # written once, by process 0


@pytest.mark.parametrize(
    ("env", "launched"),
    [
        ({}, False),
        ({"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "n[1-2]", "SLURM_NTASKS": "1"}, False),
        ({"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "n[1-2]", "SLURM_NTASKS": "8"}, True),
        ({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "8"}, False),  # salloc shell, not an srun step
        ({"OMPI_MCA_orte_hnp_uri": "1;tcp://10.0.0.1:1", "OMPI_COMM_WORLD_SIZE": "2"}, True),
        ({"JAX_COORDINATOR_ADDRESS": "hostA:1234"}, True),
    ],
)
def test_cluster_launch_detection(monkeypatch, env, launched):
    from hybridflux.training import sharding

    for name in [*env, "SLURM_JOB_ID", "SLURM_STEP_NODELIST", "OMPI_MCA_orte_hnp_uri"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("JAX_COORDINATOR_ADDRESS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert sharding._cluster_launch() is launched


def _demo_overrides(devices: int) -> list[str]:
    return ["train.epochs=3", "output.figures=false", f"train.devices={devices}"]


def _run_layer(out: str) -> None:
    from hybridflux.demo import demo_config
    from hybridflux.runs.train import train_from_config

    result = train_from_config(demo_config(_demo_overrides(4)), Path(out).parent / "run4")
    test = result.metrics["splits"]["test"]
    np.savez(out, **{name: test[name]["rmse"] for name in test})


def test_train_config_devices_key_is_validated():
    from hybridflux.config import ConfigError
    from hybridflux.demo import demo_config

    assert demo_config().train.devices is None
    assert demo_config(["train.devices=4"]).train.devices == 4
    with pytest.raises(ConfigError, match="train.devices"):
        demo_config(["train.devices=0"])


@pytest.mark.slow
def test_same_config_on_one_and_four_devices_gives_the_same_scores(tmp_path):
    from hybridflux.demo import demo_config
    from hybridflux.runs.train import train_from_config

    proc = _spawn("run_layer", str(tmp_path / "four.npz"))
    ref = train_from_config(demo_config(_demo_overrides(1)), tmp_path / "run1")
    _wait(proc)
    four = dict(np.load(tmp_path / "four.npz", allow_pickle=False))
    test = ref.metrics["splits"]["test"]
    assert sorted(four) == sorted(test)
    for name in test:
        np.testing.assert_allclose(four[name], test[name]["rmse"], **TOL)


if __name__ == "__main__":
    cases = {"single": _single_host, "distributed": _distributed, "run_layer": _run_layer}
    cases[sys.argv[1]](*sys.argv[2:])
