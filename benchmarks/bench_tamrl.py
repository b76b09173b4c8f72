"""TAM-RL vs the benchmark baselines on held-out tropical (Köppen A) and arid (B) sites.

The closest visible analogue of issue 6's "done means": train on the other sites of the
189-site monthly collection (10 % of them for validation/early stopping), predict the held-out
A/B-climate sites zero-shot, and report the median per-site monthly GPP RMSE and NEE r²
(pooled over test months and median per site).

Run:  .venv/bin/python benchmarks/bench_tamrl.py [--models linear gbt tamrl] [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from hybridflux.benchmark.config import load_benchmark_config
from hybridflux.benchmark.inputs import prepare_data, scenario_groups
from hybridflux.benchmark.models import BuildContext, FitOptions, build_model
from hybridflux.benchmark.tamrl import TamRLEntry, TamRLHybridEntry
from hybridflux.runs.pipeline import load_dataset, to_columns

CONFIG = "configs/benchmark_monthly.yaml"


def load(cfg):
    cols = list(dict.fromkeys(cfg.targets.values()))
    ds = load_dataset(cfg.data, observed=cols, require=cols)
    return prepare_data(ds, cfg.targets, cfg.inputs, cfg.categorical, joint_targets=True)


def split(data, seed=0, val_fraction=0.1):
    climate = np.asarray(data.ds["climate"].values).astype(str)
    test = np.array([c[:1] in ("A", "B") for c in climate])
    rng = np.random.default_rng(seed)
    rest = np.flatnonzero(~test)
    val = np.zeros_like(test)
    val[rng.choice(rest, max(1, int(val_fraction * len(rest))), replace=False)] = True
    train = ~(test | val)
    grid = lambda m: np.broadcast_to(m[:, None], data.usable.shape)  # noqa: E731
    return grid(train), grid(val), grid(test)


def rows(data, mask, need_target=True):
    targets = list(dict.fromkeys(data.targets.values()))
    kw = {"any_finite": targets} if need_target else {}
    c = to_columns(data.ds, [*data.columns, *targets], finite=data.columns, mask=mask, **kw)
    return c, {**c.data, "site": c.site.astype(np.float32)}


def per_site(pred, obs, site):
    out = {}
    for s in np.unique(site):
        ok = (site == s) & np.isfinite(obs) & np.isfinite(pred)
        if ok.sum() < 12:
            continue
        e = pred[ok] - obs[ok]
        var = np.var(obs[ok])
        out[int(s)] = (np.sqrt(np.mean(e**2)), 1 - np.mean(e**2) / var if var > 0 else np.nan)
    return out


def scores(pred, test_cols, targets):
    res = {}
    for t, col in targets.items():
        if t not in pred:
            continue
        obs, p = test_cols.data[col], np.asarray(pred[t])
        ps = per_site(p, obs, test_cols.site)
        ok = np.isfinite(obs) & np.isfinite(p)
        pooled_r2 = 1 - np.mean((p[ok] - obs[ok]) ** 2) / np.var(obs[ok])
        res[t] = {
            "median_site_rmse": float(np.median([v[0] for v in ps.values()])),
            "median_site_r2": float(np.nanmedian([v[1] for v in ps.values()])),
            "pooled_r2": float(pooled_r2),
            "sites": len(ps),
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["linear", "gbt", "mlp", "tamrl"])
    ap.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    ap.add_argument("--ensemble", type=int, default=None)
    ap.add_argument("--out", default=None, help="write the scores as JSON here")
    args = ap.parse_args()
    cfg = load_benchmark_config(CONFIG)
    data = load(cfg)
    train_m, val_m, test_m = split(data)
    (_, train), (_, val), (test_cols, test) = (
        rows(data, train_m),
        rows(data, val_m),
        rows(data, test_m, need_target=False),
    )
    over = {k: v for k, v in (("epochs", args.epochs), ("ensemble", args.ensemble)) if v}
    fit_opts = cfg.train.model_copy(update=over)
    ctx = BuildContext(scenario_groups(data, train_m), cfg.targets, cfg.seed, fit_opts)
    n_test = len(np.unique(test_cols.site))
    print(f"train rows {len(train['site'])}, test sites {n_test}")
    results = {}
    for name in args.models:
        t0 = time.perf_counter()
        if name == "tamrl":
            model = TamRLEntry(ctx, k_support=6, zero_shot=0.5, pretrain_epochs=20)
        elif name == "tamrl_hybrid":
            model = TamRLHybridEntry(ctx, hidden=[32, 32], pretrain_epochs=20)
        else:
            model = build_model(cfg.models[name], ctx, name)
        drop = () if name.startswith("tamrl") else ("site",)
        train_d, val_d, test_d = (
            {k: v for k, v in d.items() if k not in drop} for d in (train, val, test)
        )
        model.fit(train_d, val_d)
        pred = model.predict(test_d)
        results[name] = scores(pred, test_cols, cfg.targets)
        results[name]["seconds"] = round(time.perf_counter() - t0, 1)
        g, n = results[name]["GPP"], results[name]["NEE"]
        print(
            f"{name:14s} GPP median-site RMSE {g['median_site_rmse']:.3f}  "
            f"NEE r2 pooled {n['pooled_r2']:.3f} median-site {n['median_site_r2']:.3f}  "
            f"({results[name]['seconds']} s)",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    _ = FitOptions
    main()
