"""Shared test configuration: strict warnings (pyproject), float64 fixture, shared data path."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

#: The real data beside the repository (``../shared/data``); tests using it skip when absent.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def x64():
    """Run the test body with 64-bit JAX types (reference-value and conservation tests)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def shared_data() -> Path:
    """Path to ``../shared/data``; skips the test when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
