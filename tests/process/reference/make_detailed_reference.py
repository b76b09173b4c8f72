"""Make ``detailed_reference.json``: float64 reference hours of the detailed process model.

An independent re-implementation with plain Python floats and explicit loops over layers, of
the equations in the docstrings of ``hybridflux.process.detailed`` (vegetation, litter inputs,
a day of bioturbation after every 24 hours) and ``hybridflux.process.detailed_soil`` (heat
diffusion, microbial kinetics, bioturbation). It
does not import ``hybridflux``: the parameter values (the ``DETAILED`` defaults of 2026-11 and a
second set with a hot, dry cell whose caps bind) are written out below and stored in the JSON.
The heat equation is solved with numpy's ``linalg.solve`` each hour (the model inverts once).

Run from the repository root:  .venv/bin/python tests/process/reference/make_detailed_reference.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("detailed_reference.json")
DT = 1.0 / 24.0
R_GAS, ZERO_C = 8.314462618, 273.15
N = 10
THICK = [0.02 * 1.35**i for i in range(N)]

BASE = {
    "eps_max": 0.962,
    "t_min": -8.0,
    "t_opt": 8.31,
    "vpd_low": 6.5,
    "vpd_high": 46.0,
    "w_low": 0.0,
    "w_high": 0.5,
    "k_extinction": 0.5,
    "sla": 1.0 / 111.0,
    "k_labile": 0.1,
    "r_maint": 0.002,
    "q10_maint": 2.0,
    "labile_half": 5.0,
    "live_wood_fraction": 0.02,
    "growth_resp_fraction": 0.25,
    "f_foliage": 0.3,
    "f_root": 0.3,
    "k_foliage": 1.37e-3,
    "k_root": 2.48e-3,
    "k_wood": 5.5e-5,
    "f_met": 0.525,
    "v_met": 0.3,
    "v_str": 0.1,
    "v_pom": 0.1,
    "km_met": 5000.0,
    "km_str": 5000.0,
    "km_pom": 50000.0,
    "ea_vmax": 47000.0,
    "ea_km": 30000.0,
    "cue_met": 0.55,
    "cue_str": 0.3,
    "cue_pom": 0.45,
    "cue_slope": 0.012,
    "k_mic": 0.015,
    "mic_ref": 500.0,
    "f_maom": 0.6,
    "q_max": 45000.0,
    "k_des": 1e-4,
    "w_half": 0.2,
    "bioturbation": 1e-4 / 365,
    "thermal_diffusivity": 5e-7,
    "depth_efold": 1.0,
    "t_ref": 20.0,
    "root_beta": 0.966,
    "deep_thermal_thickness": 3.0,
}
# Unusual: fast microbes with a tiny Km (the cap U <= pool binds), strong bioturbation, full MAOM.
UNUSUAL = dict(
    BASE,
    v_met=40.0,
    km_met=1.0,
    k_mic=3.0,
    bioturbation=0.05,
    q_max=20000.0,
    r_maint=0.05,
    k_labile=0.9,
    thermal_diffusivity=2e-6,
    cue_slope=0.05,
)


def root_fraction(beta):
    bottoms = np.cumsum(THICK) * 100.0
    tops = bottoms - np.array(THICK) * 100.0
    share = beta**tops - beta**bottoms
    return list(share / share.sum())


def heat_matrix(p):
    dz = THICK + [p["deep_thermal_thickness"]]
    depth = [sum(dz[:i]) + dz[i] / 2 for i in range(len(dz))]
    kappa, m = p["thermal_diffusivity"], np.zeros((len(dz), len(dz)))
    for i in range(len(dz)):
        up_gap = depth[0] if i == 0 else depth[i] - depth[i - 1]
        m[i, i] += kappa / (dz[i] * up_gap)
        if i > 0:
            m[i, i - 1] -= kappa / (dz[i] * up_gap)
        if i < len(dz) - 1:
            g = depth[i + 1] - depth[i]
            m[i, i] += kappa / (dz[i] * g)
            m[i, i + 1] -= kappa / (dz[i] * g)
    air = kappa / (dz[0] * depth[0])
    return np.eye(len(dz)) + DT * 86400.0 * m, DT * 86400.0 * air


def ramp(x, lo, hi):
    return min(max((x - lo) / (hi - lo), 0.0), 1.0)


def hour(s, met, p):
    ta, sw, vpd, w = met
    lai = s["foliage"] * p["sla"]
    fapar = 1.0 - math.exp(-p["k_extinction"] * lai)
    par = 0.5 * sw * 0.0864
    f = ramp(ta, p["t_min"], p["t_opt"]) * (1 - ramp(vpd, p["vpd_low"], p["vpd_high"]))
    gpp = p["eps_max"] * fapar * max(par, 0.0) * f * ramp(w, p["w_low"], p["w_high"]) * DT
    tissue = s["foliage"] + s["root"] + p["live_wood_fraction"] * s["wood"]
    avail = s["labile"] + gpp
    substrate = avail / (avail + p["labile_half"])
    rm = p["r_maint"] * p["q10_maint"] ** ((ta - p["t_ref"]) / 10) * tissue * DT * substrate
    rm = min(rm, avail)
    alloc = p["k_labile"] * DT * (avail - rm)
    rg = p["growth_resp_fraction"] * alloc
    grow = alloc - rg
    lf, rf, wf = (
        p[k] * DT * s[v]
        for k, v in (("k_foliage", "foliage"), ("k_root", "root"), ("k_wood", "wood"))
    )
    new = {
        "labile": avail - rm - alloc,
        "foliage": s["foliage"] + p["f_foliage"] * grow - lf,
        "wood": s["wood"] + (1 - p["f_foliage"] - p["f_root"]) * grow - wf,
        "root": s["root"] + p["f_root"] * grow - rf,
    }
    a, b = heat_matrix(p)
    rhs = np.array(s["soil_temp"]) + 0.0
    rhs[0] += b * ta
    temp = list(np.linalg.solve(a, rhs))
    rfrac = root_fraction(p["root_beta"])
    wq = min(max(w, 0.0), 1.0)
    fw = (1 + p["w_half"]) * wq / (p["w_half"] + wq)
    soil = {k: list(s[k]) for k in ("litter_met", "litter_str", "microbes", "pom", "maom")}
    rh_total = 0.0
    for i in range(N):
        dz = THICK[i]
        z = sum(THICK[:i]) + dz / 2
        tk, tr = temp[i] + ZERO_C, p["t_ref"] + ZERO_C
        arr_v = math.exp(-p["ea_vmax"] / R_GAS * (1 / tk - 1 / tr))
        arr_k = math.exp(-p["ea_km"] / R_GAS * (1 / tk - 1 / tr))
        scal = arr_v * fw * math.exp(-z / p["depth_efold"])
        mic = s["microbes"][i]
        root_in = rf * rfrac[i]
        leaf_in = lf if i == 0 else 0.0
        in_met = p["f_met"] * (root_in + leaf_in)
        in_str = (1 - p["f_met"]) * (root_in + leaf_in) + (wf if i == 0 else 0.0)
        growth = uptake_sum = 0.0
        ups = {}
        for key, pool in (("met", "litter_met"), ("str", "litter_str"), ("pom", "pom")):
            x = s[pool][i]
            c = x / dz
            u = min(p["v_" + key] * scal * mic * DT * c / (p["km_" + key] * arr_k + c), x)
            cue = min(max(p["cue_" + key] - p["cue_slope"] * (temp[i] - p["t_ref"]), 0.05), 0.9)
            ups[key] = u
            growth += cue * u
            uptake_sum += u
        death = min(p["k_mic"] * (mic / dz / p["mic_ref"]) * mic * DT, mic)
        sorb = p["f_maom"] * min(max(1 - s["maom"][i] / dz / p["q_max"], 0), 1) * death
        des = min(p["k_des"] * scal * s["maom"][i] * DT, s["maom"][i])
        soil["litter_met"][i] = s["litter_met"][i] + in_met - ups["met"]
        soil["litter_str"][i] = s["litter_str"][i] + in_str - ups["str"]
        soil["microbes"][i] = mic + growth - death
        soil["pom"][i] = s["pom"][i] + death - sorb + des - ups["pom"]
        soil["maom"][i] = s["maom"][i] + sorb - des
        rh_total += uptake_sum - growth
    new.update(soil)
    new["soil_temp"] = temp
    return new, [gpp, rm + rg, rh_total, lf + rf + wf]


def mix(state, p, dt=1.0):
    """A day of bioturbation (after every 24 hours, as the model's daily step)."""
    soil = {k: list(state[k]) for k in ("litter_met", "litter_str", "pom", "maom")}
    depth = [sum(THICK[:i]) + THICK[i] / 2 for i in range(N)]
    for key in ("litter_met", "litter_str", "pom", "maom"):
        x = soil[key]
        flux = []
        for i in range(N - 1):
            f = p["bioturbation"] * (x[i] / THICK[i] - x[i + 1] / THICK[i + 1])
            f = f / (depth[i + 1] - depth[i]) * dt
            flux.append(min(max(f, -0.5 * x[i + 1]), 0.5 * x[i]))
        soil[key] = [
            x[i] - (flux[i] if i < N - 1 else 0) + (flux[i - 1] if i > 0 else 0) for i in range(N)
        ]
    return dict(state, **soil)


def initial_state():
    r = root_fraction(0.966)
    return {
        "labile": 30.0,
        "foliage": 180.0,
        "wood": 9000.0,
        "root": 200.0,
        "litter_met": [60 * x for x in r],
        "litter_str": [300 * x for x in r],
        "microbes": [80 * x + 0.5 for x in r],
        "pom": [6000 * x for x in r],
        "maom": [9000 * x for x in r],
        "soil_temp": [8.0 + 0.3 * i for i in range(N + 1)],
    }


def drivers(hot):
    hours = np.arange(48) + 0.5
    ta = (32.0 if hot else 14.0) + 6 * np.cos(2 * np.pi * (hours - 15) / 24)
    sw = np.maximum(0.0, 800 * np.sin(np.pi * (hours % 24 - 6) / 12))
    vpd = (30.0 if hot else 8.0) + 5 * np.cos(2 * np.pi * (hours - 15) / 24)
    w = 0.15 if hot else 0.8
    return [(float(a), float(b), float(c), w) for a, b, c in zip(ta, sw, vpd, strict=True)]


def main() -> None:
    cases = {}
    for name, params, hot in (("default", BASE, False), ("unusual", UNUSUAL, True)):
        state, sums, met = initial_state(), [0.0] * 4, drivers(hot)
        start = json.loads(json.dumps(state))
        for h, m in enumerate(met):
            state, f = hour(state, m, params)
            sums = [a + b for a, b in zip(sums, f, strict=True)]
            if h % 24 == 23:
                state = mix(state, params)
        cases[name] = {
            "params": params,
            "state0": start,
            "drivers": met,
            "state48": state,
            "flux_sums": sums,
        }
    OUT.write_text(json.dumps({"thickness": THICK, "cases": cases}, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
