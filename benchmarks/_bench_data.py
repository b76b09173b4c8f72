"""Shared synthetic data of the training benchmarks (numpy only: used by the JAX and PyTorch ones).

RECO = Rb(x1, x2) · 1.5^((T − 15)/10) · (1 + 0.05 ε) with Rb = 0.5 + 1.5·x1·x2 + 0.5·sin(3·x1),
x1, x2 ~ U(0, 1), T ~ U(−5, 30) °C, ε ~ N(0, 1), all drawn from ``np.random.default_rng(seed)``:
the same arrays, bit for bit, for every framework.

Example:
    >>> cols = synthetic(4)
    >>> sorted(cols), cols["TA"].dtype, cols["RECO"].shape
    (['RECO', 'TA', 'x1', 'x2'], dtype('float32'), (4,))
"""

from __future__ import annotations

import numpy as np

#: Rows, batch size and learning rate of issue 4's measurement (240 Adam steps per epoch).
ROWS = 245_000
BATCH_SIZE = 1024
LEARNING_RATE = 1e-3
TRUE_Q10 = 1.5
T_REF = 15.0  # °C


def synthetic(n: int = ROWS, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` rows of ``x1``, ``x2``, ``TA`` (°C) and ``RECO`` as float32 numpy arrays.

    Example:
        >>> bool(np.all(synthetic(100)["RECO"] > 0))
        True
    """
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0.0, 1.0, (2, n))
    ta = rng.uniform(-5.0, 30.0, n)
    rb = 0.5 + 1.5 * x1 * x2 + 0.5 * np.sin(3.0 * x1)
    reco = rb * TRUE_Q10 ** ((ta - T_REF) / 10.0) * (1.0 + 0.05 * rng.standard_normal(n))
    cols = {"x1": x1, "x2": x2, "TA": ta, "RECO": reco}
    return {name: col.astype(np.float32) for name, col in cols.items()}
