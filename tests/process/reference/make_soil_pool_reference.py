"""Make ``soil_pool_reference.json``: float64 reference values for the soil-pool tests.

Independent of ``hybridflux.process``: the systems are built element by element with numpy
loops, steady states by hand (forward substitution) or ``np.linalg.solve``, the analytic ODE
solution with ``scipy.linalg.expm``, and the periodic state by brute-force cycling. Only the
literature values of ``hybridflux.constants.SOIL_POOLS`` are read.

Run from the repository root:  .venv/bin/python tests/process/reference/make_soil_pool_reference.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.linalg import expm

from hybridflux.constants import SOIL_POOLS

OUT = Path(__file__).with_name("soil_pool_reference.json")

# A 4-pool system with feedback flows (slow -> fast, passive -> fast), CENTURY-like but faster.
FEEDBACK = {
    "k": [0.05, 0.01, 0.002, 0.0005],
    "transfer": [
        [-1.0, 0.2, 0.1, 0.3],
        [0.4, -1.0, 0.0, 0.0],
        [0.1, 0.3, -1.0, 0.0],
        [0.01, 0.05, 0.2, -1.0],
    ],
    "b": [0.6, 0.3, 0.1, 0.0],
}


def system_matrix(k, transfer, xi):
    """M[i][j] = xi * A[i][j] * k[j], built element by element."""
    n = len(k)
    m = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            m[i, j] = xi * transfer[i][j] * k[j]
    return m


def backward_euler(c, inputs, xi, sysdef, dt):
    """One implicit Euler step, c' = (1 - dt M)^-1 (c + dt b I), and Rh from the mass balance."""
    m = system_matrix(sysdef["k"], sysdef["transfer"], xi)
    rhs = np.asarray(c, float) + dt * inputs * np.asarray(sysdef["b"], float)
    c_next = np.linalg.solve(np.eye(len(c)) - dt * m, rhs)
    rh = (sum(c) + inputs * dt - c_next.sum()) / dt
    return c_next, rh


def default_steady_state_by_hand(inputs, xi):
    """Lower-triangular default system: forward substitution, pool by pool."""
    k = [1.0 / (365.25 * tau) for tau in SOIL_POOLS.turnover_years]
    a, b = SOIL_POOLS.transfer, SOIL_POOLS.input_partition
    c = []
    for i in range(len(k)):
        gain = b[i] * inputs + sum(a[i][j] * xi * k[j] * c[j] for j in range(i))
        c.append(gain / (xi * k[i]))
    return c


def main() -> None:
    ref: dict = {"environmental_scalar": []}
    for ta, w, q10, t_ref in [
        (25.0, 0.6, 2.0, 15.0),
        (5.0, 1.0, 2.0, 15.0),
        (-10.0, 1.7, 1.5, 10.0),
        (30.0, -0.2, 2.0, 15.0),
        (12.3, 0.45, 1.4, 15.0),
    ]:
        value = q10 ** ((ta - t_ref) / 10.0) * min(max(w, 0.0), 1.0)
        ref["environmental_scalar"].append([ta, w, q10, t_ref, value])

    ss_hand = default_steady_state_by_hand(2.0, 0.8)
    k_def = [1.0 / (365.25 * tau) for tau in SOIL_POOLS.turnover_years]
    m_def = system_matrix(k_def, SOIL_POOLS.transfer, 0.8)
    ss_solve = np.linalg.solve(m_def, -2.0 * np.asarray(SOIL_POOLS.input_partition))
    assert np.allclose(ss_hand, ss_solve, rtol=1e-12)
    ref["default"] = {
        "turnover_years": list(SOIL_POOLS.turnover_years),
        "transfer": [list(r) for r in SOIL_POOLS.transfer],
        "b": list(SOIL_POOLS.input_partition),
        "inputs": 2.0,
        "xi": 0.8,
        "steady_state": ss_hand,
    }

    m_fb = system_matrix(FEEDBACK["k"], FEEDBACK["transfer"], 1.3)
    ss_fb = np.linalg.solve(m_fb, -3.0 * np.asarray(FEEDBACK["b"]))
    c = [100.0, 50.0, 400.0, 2000.0]
    steps = []
    for dt in (1.0, 7.0):
        c_next, rh = backward_euler(c, 2.5, 0.9, FEEDBACK, dt)
        steps.append({"dt": dt, "c_next": c_next.tolist(), "rh": rh})

    # Analytic solution of dC/dt = b I + M C with constant forcing, C(t) = C* + e^{Mt}(C0 - C*).
    c0, t_end = np.array([10.0, 0.0, 300.0, 0.0]), 64.0
    m_an = system_matrix(FEEDBACK["k"], FEEDBACK["transfer"], 1.1)
    c_star = np.linalg.solve(m_an, -1.5 * np.asarray(FEEDBACK["b"]))
    c_t = c_star + expm(m_an * t_end) @ (c0 - c_star)

    # Periodic (cyclo-stationary) state by brute-force cycling a 20-day seasonal forcing.
    days = np.arange(20)
    inputs_p = 2.0 + np.sin(2 * np.pi * days / 20)
    xi_p = 1.0 + 0.5 * np.cos(2 * np.pi * days / 20)
    c_p = np.zeros(4)
    for _ in range(20_000):
        start = c_p.copy()
        for i_t, xi_t in zip(inputs_p, xi_p, strict=True):
            c_p, _ = backward_euler(c_p, i_t, xi_t, FEEDBACK, 1.0)
        if np.max(np.abs(c_p - start) / c_p) < 1e-15:
            break
    else:
        raise RuntimeError("periodic reference did not converge")
    ref["feedback"] = {
        **FEEDBACK,
        "inputs": 3.0,
        "xi": 1.3,
        "steady_state": ss_fb.tolist(),
        "step": {"c": c, "inputs": 2.5, "xi": 0.9, "cases": steps},
        "analytic": {"c0": c0.tolist(), "inputs": 1.5, "xi": 1.1, "t": t_end, "c_t": c_t.tolist()},
        "periodic": {"inputs": inputs_p.tolist(), "xi": xi_p.tolist(), "c_start": c_p.tolist()},
    }
    OUT.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
