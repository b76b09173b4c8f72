"""Make ``ecosystem_reference.json``: float64 reference steps of the daily ecosystem model.

An independent re-implementation with plain Python floats (``math``), one day at a time, of the
equations written in the docstring of ``hybridflux.process.ecosystem`` (DALEC evergreen,
Williams et al. 2005, with MOD17/CASA light-use-efficiency GPP). It does not import
``hybridflux``: the parameter values are written out below (the DALEC/MOD17 defaults of
``hybridflux.constants`` in 2026-11, and a second, deliberately unusual set that exercises the
water scalars and the cap of a daily loss fraction at 1) and stored in the JSON, so the test
rebuilds exactly these parameters.

Run from the repository root:  .venv/bin/python tests/process/reference/make_ecosystem_reference.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

OUT = Path(__file__).with_name("ecosystem_reference.json")

PAR_FRACTION = 0.5  # PAR / shortwave (energy), Monteith & Unsworth 2013
SECONDS_PER_DAY_IN_MEGA = 86400.0 / 1e6  # W m-2 -> MJ m-2 d-1

DEFAULT = {
    "lue": {
        "eps_max": 0.962,
        "t_min": -8.0,
        "t_opt": 8.31,
        "vpd_low": 6.5,
        "vpd_high": 46.0,
        "w_low": 0.0,
        "w_high": 0.5,
    },
    "f_auto": 0.473,
    "f_foliage": 0.314,
    "f_root": 0.43,
    "k_foliage": 2.66e-3,
    "k_wood": 2.06e-6,
    "k_root": 2.48e-3,
    "k_litter_decomp": 4.41e-6,
    "k_litter_resp": 2.28e-2,
    "k_som": 2.65e-6,
    "theta": 0.0693,
    "temperature_rate_factor": 0.5,
    "decomp_water_sensitivity": 0.0,
    "sla": 1.0 / 111.0,
    "k_extinction": 0.5,
}

# Fast turnover, CASA water scalar, and a litter loss rate that exceeds 1 d-1 above ~17 °C.
UNUSUAL = {
    "lue": {
        "eps_max": 1.8,
        "t_min": -2.0,
        "t_opt": 18.0,
        "vpd_low": 4.0,
        "vpd_high": 30.0,
        "w_low": 0.2,
        "w_high": 0.7,
    },
    "f_auto": 0.35,
    "f_foliage": 0.5,
    "f_root": 0.6,
    "k_foliage": 0.02,
    "k_wood": 1e-3,
    "k_root": 0.03,
    "k_litter_decomp": 0.3,
    "k_litter_resp": 0.5,
    "k_som": 1e-3,
    "theta": 0.08,
    "temperature_rate_factor": 0.5,
    "decomp_water_sensitivity": 0.5,
    "sla": 0.02,
    "k_extinction": 0.65,
}

# Day-by-day drivers: ta (°C), sw_in (W m-2), vpd (hPa), w (1). Include darkness, frost,
# heat, VPD above vpd_high, dry soil, and negative (noisy) shortwave.
FORCING = {
    "ta": [12.0, -3.5, -12.0, 5.0, 25.0, 31.0, 18.0, 8.0, 0.0, 22.0],
    "sw_in": [180.0, 0.0, 60.0, 120.0, 320.0, 350.0, -5.0, 90.0, 40.0, 260.0],
    "vpd": [6.0, 2.0, 1.0, 9.0, 25.0, 50.0, 12.0, 4.0, 3.0, 18.0],
    "w": [1.0, 1.0, 0.9, 0.6, 0.35, 0.1, 0.0, 0.5, 0.8, 0.45],
}

STATE0 = {
    "default": {"foliage": 220.0, "wood": 8000.0, "root": 200.0, "litter": 60.0, "som": 12000.0},
    "unusual": {"foliage": 90.0, "wood": 3000.0, "root": 150.0, "litter": 400.0, "som": 5000.0},
}


def ramp(x: float, lo: float, hi: float) -> float:
    """Linear ramp from 0 at ``lo`` to 1 at ``hi`` (MOD17 scalars), ``lo < hi``."""
    return min(max((x - lo) / (hi - lo), 0.0), 1.0)


def gpp_of_day(p: dict, foliage: float, ta: float, sw: float, vpd: float, w: float) -> dict:
    """LUE GPP: ε·max(fAPAR,0)·max(PAR,0)·f_T·f_VPD·f_W, fAPAR = 1 − exp(−k·SLA·C_f)."""
    lue = p["lue"]
    lai = foliage * p["sla"]
    fapar = 1.0 - math.exp(-p["k_extinction"] * lai)
    par = sw * PAR_FRACTION * SECONDS_PER_DAY_IN_MEGA
    f_t = ramp(ta, lue["t_min"], lue["t_opt"])
    f_vpd = 1.0 - ramp(vpd, lue["vpd_low"], lue["vpd_high"])
    f_w = ramp(w, lue["w_low"], lue["w_high"])
    gpp = lue["eps_max"] * max(fapar, 0.0) * max(par, 0.0) * f_t * f_vpd * f_w
    return {"gpp": gpp, "lai": lai, "fapar": fapar}


def step(p: dict, c: dict, ta: float, sw: float, vpd: float, w: float) -> tuple[dict, dict]:
    """One day of the DALEC-like model; all outflows from the state at the start of the day."""
    out = gpp_of_day(p, c["foliage"], ta, sw, vpd, w)
    gpp = out["gpp"]
    ra = p["f_auto"] * gpp
    npp = gpp - ra
    a_f = p["f_foliage"] * npp
    a_r = p["f_root"] * (npp - a_f)
    a_w = npp - a_f - a_r
    l_f = min(p["k_foliage"], 1.0) * c["foliage"]
    l_r = min(p["k_root"], 1.0) * c["root"]
    l_w = min(p["k_wood"], 1.0) * c["wood"]
    xi = (
        p["temperature_rate_factor"]
        * math.exp(p["theta"] * ta)
        * (1.0 - p["decomp_water_sensitivity"] * (1.0 - min(max(w, 0.0), 1.0)))
    )
    k_lit = p["k_litter_decomp"] + p["k_litter_resp"]
    o_lit = min(k_lit * xi, 1.0) * c["litter"]
    rh_lit = o_lit * p["k_litter_resp"] / k_lit
    d = o_lit - rh_lit
    rh_som = min(p["k_som"] * xi, 1.0) * c["som"]
    new = {
        "foliage": c["foliage"] + a_f - l_f,
        "wood": c["wood"] + a_w - l_w,
        "root": c["root"] + a_r - l_r,
        "litter": c["litter"] + l_f + l_r - o_lit,
        "som": c["som"] + d + l_w - rh_som,
    }
    rh = rh_lit + rh_som
    fluxes = {
        "gpp": gpp,
        "ra": ra,
        "npp": npp,
        "rh": rh,
        "reco": ra + rh,
        "nee": ra + rh - gpp,
        "litterfall": l_f + l_r + l_w,
        "alloc_foliage": a_f,
        "alloc_wood": a_w,
        "alloc_root": a_r,
        "litterfall_foliage": l_f,
        "litterfall_root": l_r,
        "wood_turnover": l_w,
        "litter_to_som": d,
        "rh_litter": rh_lit,
        "rh_som": rh_som,
        "lai": out["lai"],
        "fapar": out["fapar"],
    }
    return new, fluxes


def run(p: dict, state0: dict) -> dict:
    """Run all days of FORCING; return per-day states (after the day) and fluxes."""
    c = dict(state0)
    states, fluxes = [], []
    for ta, sw, vpd, w in zip(*(FORCING[k] for k in ("ta", "sw_in", "vpd", "w")), strict=True):
        c, f = step(p, c, ta, sw, vpd, w)
        states.append(c)
        fluxes.append(f)
    return {
        "params": p,
        "state0": state0,
        "states": {k: [s[k] for s in states] for k in state0},
        "fluxes": {k: [f[k] for f in fluxes] for k in fluxes[0]},
    }


def main() -> None:
    """Write the JSON next to this script."""
    cases = {"default": run(DEFAULT, STATE0["default"]), "unusual": run(UNUSUAL, STATE0["unusual"])}
    payload = {
        "description": "Daily ecosystem model, float64 reference (make_ecosystem_reference.py)",
        "forcing": FORCING,
        "cases": cases,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
