"""Write ``light_respiration_reference.json``: independent float64 reference values.

Run from the repository root::

    .venv/bin/python tests/process/reference/make_light_respiration_reference.py

Only numpy is used, never ``hybridflux``, and each quantity is computed along a different path
from the library code:

* instantaneous potential radiation from vector geometry: the cosine of the solar zenith angle
  is the dot product of the unit vectors to the site and to the sub-solar point (the library
  uses the spherical hour-angle formula); declination, Earth–Sun distance and the equation of
  time are the FAO-56 definitions (Allen et al. 1998, eqs. 23, 24, 32, 33);
* daily potential radiation both from the FAO-56 eq. 21 closed form (with ``tan`` and a clipped
  ``arccos``) and as the numerical 24-hour mean of the vector-geometry values (checked to agree);
* FAO-56 Example 8 (Ra = 32.2 MJ m-2 d-1 at 20° S on 3 September) as published;
* MOD17 ramps with ``np.interp``, Q10 with a power (not exp/log), Lloyd–Taylor in kelvin.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("light_respiration_reference.json")
S0 = 1360.8  # W m-2, Kopp & Lean (2011)


def declination(doy):
    return 0.409 * np.sin(2 * np.pi * doy / 365.0 - 1.39)


def inverse_distance(doy):
    return 1.0 + 0.033 * np.cos(2 * np.pi * doy / 365.0)


def equation_of_time_h(doy):
    b = 2 * np.pi * (doy - 81.0) / 364.0
    return 0.1645 * np.sin(2 * b) - 0.1255 * np.cos(b) - 0.025 * np.sin(b)


def unit_vector(lat_deg, lon_deg):
    lat, lon = np.broadcast_arrays(np.deg2rad(lat_deg), np.deg2rad(lon_deg))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def potential_vector(lat, lon, doy, hour, utc_offset, s0=S0):
    """Top-of-atmosphere radiation from the site / sub-solar point dot product."""
    utc = np.asarray(hour, dtype=np.float64) - utc_offset
    subsolar_lon = 15.0 * (12.0 - utc - equation_of_time_h(doy))
    subsolar_lat = np.rad2deg(declination(doy))
    cos_zenith = np.sum(unit_vector(lat, lon) * unit_vector(subsolar_lat, subsolar_lon), axis=-1)
    return s0 * inverse_distance(doy) * np.maximum(cos_zenith, 0.0)


def daily_closed_form(lat, doy, s0=S0):
    """FAO-56 eq. 21 as a daily mean in W m-2, sunset angle clipped to [0, pi]."""
    phi, delta = np.deg2rad(lat), declination(doy)
    omega_s = np.arccos(np.clip(-np.tan(phi) * np.tan(delta), -1.0, 1.0))
    shape = omega_s * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(omega_s)
    return max(s0 * inverse_distance(doy) / np.pi * shape, 0.0)


def daily_numerical(lat, doy, n=24 * 60 * 8):
    hours = (np.arange(n) + 0.5) * 24.0 / n
    return float(np.mean(potential_vector(lat, 0.0, doy, hours, 0.0)))


def radiation_cases():
    instant = [
        (0.0, 0.0, 80.0, 12.0, 0.0),
        (47.3, 8.5, 172.0, 13.0, 1.0),
        (-33.9, 151.2, 355.0, 10.5, 10.0),
        (60.0, 25.0, 15.0, 12.0, 2.0),
        (45.0, 10.0, 172.0, 0.5, 1.0),
        (78.2, 15.6, 172.0, 1.0, 1.0),
        (-20.0, -47.0, 246.0, 7.0, -3.0),
        (51.0, -1.0, 300.5, 16.0, 0.0),
        (-75.0, 120.0, 172.0, 12.0, 8.0),
    ]
    instant_rows = [
        {
            "lat": la,
            "lon": lo,
            "doy": d,
            "hour": h,
            "utc_offset": u,
            "value": float(potential_vector(la, lo, d, h, u)),
        }
        for la, lo, d, h, u in instant
    ]
    daily_rows = []
    for lat in (-90.0, -60.0, -20.0, 0.0, 35.0, 51.5, 66.5, 80.0, 90.0):
        for doy in (1.0, 80.0, 172.0, 246.0, 355.0):
            closed, numeric = daily_closed_form(lat, doy), daily_numerical(lat, doy)
            assert abs(closed - numeric) <= 1e-5 * S0, (lat, doy, closed, numeric)
            daily_rows.append({"lat": lat, "doy": doy, "value": closed, "numerical": numeric})
    return instant_rows, daily_rows


def gpp_cases():
    p = {
        "eps_max": 0.962,
        "t_min": -8.0,
        "t_opt": 8.31,
        "vpd_low": 6.5,
        "vpd_high": 46.0,
        "w_low": 0.0,
        "w_high": 0.5,
    }
    rows = []
    for par, fapar, ta, vpd, w in [
        (10.0, 0.8, 20.0, 5.0, 1.0),
        (12.5, 0.6, 0.0, 20.0, 0.3),
        (8.0, 0.9, -12.0, 3.0, 1.0),
        (0.0, 0.5, 15.0, 10.0, 1.0),
        (15.0, 0.4, 4.0, 50.0, 0.9),
        (6.0, 0.7, 8.31, 6.5, 0.5),
    ]:
        f_t = np.interp(ta, [p["t_min"], p["t_opt"]], [0.0, 1.0])
        f_vpd = np.interp(vpd, [p["vpd_low"], p["vpd_high"]], [1.0, 0.0])
        f_w = np.interp(w, [p["w_low"], p["w_high"]], [0.0, 1.0])
        rows.append(
            {
                "par": par,
                "fapar": fapar,
                "ta": ta,
                "vpd": vpd,
                "w": w,
                "f_t": f_t,
                "f_vpd": f_vpd,
                "f_w": f_w,
                "gpp": p["eps_max"] * fapar * par * f_t * f_vpd * f_w,
            }
        )
    lai = [{"lai": x, "k": 0.5, "fapar": 1.0 - np.exp(-0.5 * x)} for x in (0.0, 0.5, 2.0, 6.0)]
    ndvi = [
        {"ndvi": x, "fapar": float(np.clip(1.1638 * x - 0.1426, 0.0, 1.0))}
        for x in (-0.1, 0.1, 0.5, 0.95)
    ]
    return {"params": p, "cases": rows, "lai": lai, "ndvi": ndvi}


def respiration_cases():
    q10 = [
        {"ta": ta, "r_base": rb, "q10": q, "t_ref": tr, "value": rb * q ** ((ta - tr) / 10.0)}
        for ta, rb, q, tr in [
            (25.0, 2.0, 1.4, 15.0),
            (5.0, 2.0, 1.4, 15.0),
            (15.0, 3.0, 2.0, 15.0),
            (-10.0, 1.5, 1.5, 15.0),
            (32.5, 0.7, 2.3, 10.0),
        ]
    ]
    e0, t_ref, t0 = 308.56, 283.15, 227.13
    lt = []
    for ta, r_ref in [
        (10.0, 1.0),
        (25.0, 2.0),
        (0.0, 1.5),
        (-30.0, 1.0),
        (-46.02, 1.0),
        (-60.0, 1.0),
        (35.0, 0.5),
    ]:
        kelvin = ta + 273.15
        value = r_ref * np.exp(e0 * (1 / (t_ref - t0) - 1 / (kelvin - t0))) if kelvin > t0 else 0.0
        lt.append({"ta": ta, "r_ref": r_ref, "value": float(value)})
    return {"q10": q10, "lloyd_taylor": {"e0": e0, "t_ref": t_ref, "t0": t0, "cases": lt}}


def main():
    instant, daily = radiation_cases()
    fao_ra = daily_closed_form(-20.0, 246.0, s0=0.0820e6 / 60.0) * 0.0864  # W m-2 -> MJ m-2 d-1
    assert abs(fao_ra - 32.2) < 0.05, fao_ra  # FAO-56 Example 8, published to 0.1
    data = {
        "generator": Path(__file__).name,
        "solar_constant": S0,
        "potential_radiation": instant,
        "daily_potential_radiation": daily,
        "fao56_example8": {
            "lat": -20.0,
            "doy": 246.0,
            "gsc_mj_m2_min": 0.0820,
            "ra_mj_m2_d": 32.2,
            "source": "Allen et al. (1998), FAO-56, Ex. 8",
        },
        "gpp": gpp_cases(),
        "respiration": respiration_cases(),
    }
    OUT.write_text(json.dumps(data, indent=1, default=float) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
