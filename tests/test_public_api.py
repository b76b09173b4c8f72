"""The public surface: every public name is documented; the layers import what they may."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import hybridflux

PACKAGE_DIR = Path(hybridflux.__file__).parent


def _modules():
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="hybridflux."):
        if info.name.split(".")[-1].startswith("_") and not info.ispkg:
            continue
        yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_every_public_name_has_a_docstring(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name} has no module docstring"
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"


def test_package_reexports_are_documented():
    for attr in hybridflux.__all__:
        obj = getattr(hybridflux, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
            assert inspect.getdoc(obj), f"hybridflux.{attr} has no docstring"


FORBIDDEN_IN_PROCESS = {"flax", "optax", "xarray", "pandas", "torch", "numpyro"}


@pytest.mark.parametrize("path", sorted((PACKAGE_DIR / "process").glob("*.py")), ids=str)
def test_process_layer_is_pure_jax(path):
    """DESIGN.md: process/ imports no flax/optax/xarray (pure JAX physics)."""
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN_IN_PROCESS, (
        f"{path.name} imports {imported & FORBIDDEN_IN_PROCESS}"
    )
