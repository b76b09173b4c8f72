"""Sample efficiency: pretrained + fine-tuned vs from scratch vs pure ML, by real site-years.

Real observations (daily NEE, and GPP/RECO where present) are cut into site-years; the last
``test_years`` of every site are the test set, the others the training pool. For each training
size n and repeat, n site-years are drawn from the pool and three models are trained on them:

- ``pretrained_finetuned``: the pretrained `WindowedEmulator`, fine-tuned with the flux-balance
  hinge, its hidden layers (the learned response curves) frozen by default
  (``last_layer_only``), optionally with the L2-SP drift penalty (`Anchored`);
- ``scratch``: the same architecture and input/output scaling, freshly initialised, trained
  with the same objective without the drift term;
- ``ml_baseline``: `DriverMLP` (drivers and trailing means → GPP, RECO, NEE).

Also ``pretrained_zero_shot`` (n = 0). The emulator inputs of a real site are its drivers, the
prior-mean parameters, its latitude and the equilibrium emulator's spun-up pools for its
long-term climate. Rows outside the draw get weight 0, so every size reuses one data shape.
`DIR/sample_efficiency.csv` has the columns ``n_train, model, rmse`` (NEE, gC m-2 d-1, test
days pooled, mean over repeats).

Example:
    >>> import numpy as np
    >>> train, test = split_site_years(np.array(["A", "A", "A", "B", "B"]), test_years=1)
    >>> train.tolist(), test.tolist()
    ([0, 1, 3], [2, 4])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr
from flax import nnx

from hybridflux.data import apply_qc
from hybridflux.emulator.drivers import site_driver_years
from hybridflux.emulator.finetune import finetune, new_like
from hybridflux.emulator.models import DriverMLP, set_stats
from hybridflux.emulator.train import equilibrium_inputs
from hybridflux.runs.rundir import atomic_write_text

__all__ = [
    "RealYears",
    "real_site_years",
    "split_site_years",
    "real_columns",
    "rmse",
    "sample_efficiency",
]

#: model output → FLUXNET column of its observations.
TARGETS = {"NEE": "NEE_VUT_REF", "GPP": "GPP_NT_VUT_REF", "RECO": "RECO_NT_VUT_REF"}


@dataclass(frozen=True)
class RealYears:
    """Site-years of real drivers and observations.

    Attributes:
        drivers: (n, 365, 5) daily drivers; doy: (365,); lat: (n,); site: (n,) str.
        obs: output name → (n, 365) observations (NaN where missing or failing QC).
        site_drivers: site → (all its years · 365, 5) drivers (its long-term climate).
    """

    drivers: np.ndarray
    doy: np.ndarray
    lat: np.ndarray
    site: np.ndarray
    obs: dict
    site_drivers: dict


def real_site_years(ds: xr.Dataset, targets: dict = TARGETS, min_obs: int = 100) -> RealYears:
    """Site-years of a canonical daily Dataset with at least ``min_obs`` valid NEE days.

    QC: `hybridflux.data.apply_qc` (daily fraction of good records ≥ 0.5).

    Example:
        >>> from hybridflux.data import read
        >>> from hybridflux.data.sample import sample_path
        >>> real = real_site_years(read(sample_path("fr-pue-daily")))
        >>> real.drivers.shape[1:], sorted(real.obs)
        ((365, 5), ['GPP', 'NEE', 'RECO'])

    Raises:
        ValueError: no target NEE column or no site-year with enough observations.
    """
    if targets["NEE"] not in ds:
        raise ValueError(
            f"observations need {targets['NEE']} (files: {ds.attrs.get('source_files')})"
        )
    ds = apply_qc(ds)
    years = site_driver_years(ds)
    time = ds["time"].values.astype("datetime64[D]")
    sites = np.array([lab.split()[0] for lab in years.label])
    starts = [np.datetime64(f"{lab.split()[1]}-01-01") for lab in years.label]
    obs = {k: [] for k in targets}
    for site, start in zip(sites, starts, strict=True):
        day = np.flatnonzero((time >= start) & (time < start + np.timedelta64(366, "D")))
        day = day[[i for i, t in enumerate(time[day]) if str(t)[5:] != "02-29"][:365]]
        for name, col in targets.items():
            values = ds[col].sel(site=site).values[day] if col in ds else np.full(365, np.nan)
            obs[name].append(values.astype(np.float32))
    obs = {k: np.stack(v) for k, v in obs.items()}
    keep = np.isfinite(obs["NEE"]).sum(1) >= min_obs
    if not keep.any():
        raise ValueError("no site-year has enough valid NEE observations")
    site_drivers = {s: years.values[sites == s].reshape(-1, 5) for s in np.unique(sites[keep])}
    return RealYears(
        years.values[keep].astype(np.float32),
        np.arange(1.0, 366.0),
        years.lat[keep],
        sites[keep],
        {k: v[keep] for k, v in obs.items()},
        site_drivers,
    )


def split_site_years(site: np.ndarray, test_years: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training pool and of the test set (the last ``test_years`` per site).

    A site with one year only trains. Example: see the module docstring.
    """
    train, test = [], []
    for s in dict.fromkeys(site.tolist()):
        idx = np.flatnonzero(site == s)
        cut = max(len(idx) - test_years, 1) if len(idx) > 1 else len(idx)
        train += idx[:cut].tolist()
        test += idx[cut:].tolist()
    return np.asarray(train, int), np.asarray(test, int)


def real_columns(real: RealYears, idx, eq_model, prior_mean, model=None) -> dict[str, jax.Array]:
    """`fit` columns of the site-years ``idx``: drivers, doy, static, pools0, obs_<name>.

    Static inputs are the prior-mean parameters and lat / 90; ``pools0`` the equilibrium
    emulator's spun-up pools for the site's long-term climate. Tested in
    ``tests/emulator/test_run.py`` (through `sample_efficiency`).
    """
    idx = np.asarray(idx)
    theta = np.broadcast_to(prior_mean, (idx.size, prior_mean.size))
    sites, first, row = np.unique(real.site[idx], return_index=True, return_inverse=True)
    lat = real.lat[idx]
    per_site = [  # one climate summary per site (its records differ in length)
        equilibrium_inputs(theta[:1], real.site_drivers[site][None], lat[k : k + 1], model)
        for site, k in zip(sites, first, strict=True)
    ]
    x_eq = jnp.concatenate(per_site)[row]
    pools0 = eq_model({"x_eq": x_eq})["POOLS0"]
    cols = {
        "drivers": jnp.asarray(real.drivers[idx]),
        "doy": jnp.asarray(np.broadcast_to(real.doy, (idx.size, 365)), jnp.float32),
        "static": jnp.asarray(np.concatenate([theta, real.lat[idx, None] / 90.0], -1), jnp.float32),
        "pools0": pools0,
    }
    cols.update({f"obs_{k}": jnp.asarray(v[idx]) for k, v in real.obs.items()})
    return cols


def rmse(model, columns, name: str = "NEE") -> float:
    """RMSE of output ``name`` over all finite observations of ``columns`` (gC m-2 d-1).

    Example:
        >>> model = lambda c: {"NEE": c["drivers"][..., 0]}
        >>> cols = {"drivers": np.ones((1, 3, 5)), "obs_NEE": np.array([[0.0, np.nan, 1.0]])}
        >>> round(rmse(model, cols), 3)
        0.707
    """
    pred = np.asarray(model(columns)[name])
    obs = np.asarray(columns[f"obs_{name}"])
    ok = np.isfinite(obs)
    return float(np.sqrt(np.mean((pred[ok] - obs[ok]) ** 2)))


def _baseline(columns, weight, seed: int, hidden) -> DriverMLP:
    """`DriverMLP` scaled by the drivers of the whole pool and the targets of the draw."""
    net = DriverMLP(hidden=hidden, rngs=nnx.Rngs(seed))
    set_stats(net, "x", net.features(columns), floor=1e-3)
    rows = np.flatnonzero(np.asarray(weight) > 0)
    y = jnp.stack([columns[f"obs_{k}"][rows] for k in DriverMLP.names], -1)
    set_stats(net, "y", y, floor=0.5)
    return net


def sample_efficiency(
    pretrained,
    eq_model,
    real: RealYears,
    prior_mean,
    *,
    sizes,
    repeats=2,
    epochs=300,
    lr=1e-3,
    lambda_drift=0.0,
    last_layer_only=True,
    test_years=3,
    seed=0,
    hidden=(64, 64),
    model=None,
    runs_csv=None,
) -> pd.DataFrame:
    """RMSE of NEE on the test site-years by training size and model (module docstring).

    Args:
        runs_csv: optional CSV of the individual repeats (``n_train, repeat, model, rmse``),
            rewritten atomically after each repeat; repeats already in it are not trained
            again, so an interrupted run resumes where it stopped.

    Returns:
        DataFrame with columns ``n_train, model, rmse`` (mean over repeats).

    Example: run at tiny size by ``tests/emulator/test_run.py`` (configs/emulator_tiny.yaml).
    """
    train_idx, test_idx = split_site_years(real.site, test_years)
    train = real_columns(real, train_idx, eq_model, prior_mean, model)
    test = real_columns(real, test_idx, eq_model, prior_mean, model)
    targets = {name: f"obs_{name}" for name in real.obs}
    runs = _read_runs(runs_csv)
    if not runs:
        runs = [(0, 0, "pretrained_zero_shot", rmse(pretrained, test))]
    done = {(n, rep) for n, rep, _, _ in runs}
    for n in [s for s in sizes if 0 < s <= train_idx.size]:
        for rep in range(repeats):
            if (n, rep) in done:
                continue
            scores = _one_repeat(pretrained, train, test, targets, n, rep, seed, hidden,
                                 dict(epochs=epochs, lr=lr, lambda_drift=lambda_drift,
                                      last_layer_only=last_layer_only))  # fmt: skip
            runs += [(n, rep, name, value) for name, value in scores.items()]
            _write_runs(runs, runs_csv)
    rows = [(n, name, value) for n, _, name, value in runs]
    frame = pd.DataFrame(rows, columns=["n_train", "model", "rmse"])
    return frame.groupby(["n_train", "model"], as_index=False, sort=False)["rmse"].mean()


def _one_repeat(pretrained, train, test, targets, n, rep, seed, hidden, cfg) -> dict:
    """Fine-tuned, from-scratch and ML-baseline NEE RMSE for one draw of n site-years."""
    rng = np.random.default_rng([seed, n, rep])
    weight = np.zeros(train["static"].shape[0], np.float32)
    weight[rng.choice(weight.size, n, replace=False)] = 1.0
    w = jnp.asarray(weight)
    common = dict(weight=w, epochs=cfg["epochs"], lr=cfg["lr"], seed=seed + rep)
    _, tuned = finetune(
        nnx.clone(pretrained),
        train,
        targets,
        lambda_drift=cfg["lambda_drift"],
        last_layer_only=cfg["last_layer_only"],
        **common,
    )
    _, scratch = finetune(new_like(pretrained, seed + 100 + rep), train, targets, **common)
    _, base = finetune(_baseline(train, w, seed + 200 + rep, hidden), train, targets, **common)
    return {
        "pretrained_finetuned": rmse(tuned, test),
        "scratch": rmse(scratch, test),
        "ml_baseline": rmse(base, test),
    }


_RUN_COLUMNS = ["n_train", "repeat", "model", "rmse"]


def _read_runs(path) -> list[tuple]:
    if path is None or not Path(path).exists():
        return []
    frame = pd.read_csv(path)
    return [(int(n), int(r), str(m), float(v)) for n, r, m, v in frame[_RUN_COLUMNS].values]


def _write_runs(runs: list[tuple], path) -> None:
    if path is not None:
        text = pd.DataFrame(runs, columns=_RUN_COLUMNS).to_csv(index=False)
        atomic_write_text(Path(path), text)
