"""The example notebooks run end to end at a tiny size (STYLE.md rule 15).

Every ``notebooks/NN_*.py`` (jupytext percent format, the reviewed source; no ``.ipynb`` in
git) is converted with jupytext and executed with nbclient in a fresh ``python3`` kernel of
this environment, with the working directory ``notebooks/``,
``HYBRIDFLUX_NOTEBOOK_SIZE=tiny`` (the notebooks shrink epochs, data and samples) and the
non-interactive ``Agg`` backend; deprecation and future warnings are errors, and at the end
every figure's axes must carry x and y labels. A failing cell fails the test with that
cell's source and traceback. Notebooks that declare
``hybridflux: {requires_shared_data: true}`` in their jupytext header read
``../shared/data`` and are skipped when it is absent.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
SHARED_DATA = ROOT.parent / "shared" / "data"
#: Seconds one cell may run before the test fails (tiny notebooks take seconds).
CELL_TIMEOUT = 240
#: Run first in the kernel: deprecated calls in a notebook (or below it) fail the test.
STRICT_WARNINGS = """\
import warnings
warnings.simplefilter("error", DeprecationWarning)
warnings.simplefilter("error", FutureWarning)
"""
#: Run last in the kernel: the notebook drew figures, and every plot has axis labels.
LABELLED_FIGURES = """\
import matplotlib.category
import matplotlib.pyplot as plt

def _labelled(ax, axis):  # shared axes: one label for the group (e.g. the bottom panel)
    if isinstance(getattr(ax, f"{axis}axis").get_units(), matplotlib.category.UnitData):
        return True  # categories (bar charts of names): the tick labels name them
    group = getattr(ax, f"get_shared_{axis}_axes")().get_siblings(ax)
    return any(getattr(a, f"get_{axis}label")() for a in group)

def _unlabelled(ax):
    if getattr(ax, "_colorbar", None) is not None:  # a colorbar: its long axis is labelled
        return not (ax.get_xlabel() or ax.get_ylabel())
    return ax.has_data() and not (_labelled(ax, "x") and _labelled(ax, "y"))

_figures = [plt.figure(n) for n in plt.get_fignums()]
assert _figures, "the notebook drew no figure"
_bad = [(f.number, i) for f in _figures for i, ax in enumerate(f.axes) if _unlabelled(ax)]
assert not _bad, f"axes without an x or y label (figure, axes): {_bad}"
"""


def _requires_shared_data(nb: nbformat.NotebookNode) -> bool:
    return bool(nb.metadata.get("hybridflux", {}).get("requires_shared_data", False))


def test_the_notebooks_are_found():
    names = [p.name for p in NOTEBOOKS]
    assert "01_process_functions.py" in names and len(names) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_source_is_what_jupytext_writes(path: Path):
    """Pairing with an .ipynb (formats: ipynb,py:percent) must not rewrite the source."""
    text = path.read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="py:percent")
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert jupytext.writes(nb, fmt="py:percent") == text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_at_tiny_size(path: Path, tmp_path: Path):
    nb = jupytext.read(path)
    if _requires_shared_data(nb) and not SHARED_DATA.is_dir():
        pytest.skip(f"{path.name} reads ../shared/data, which is not present")
    nb.cells.insert(0, nbformat.v4.new_code_cell(STRICT_WARNINGS))
    nb.cells.append(nbformat.v4.new_code_cell(LABELLED_FIGURES))
    # TMPDIR: the notebooks' temporary output folders land in pytest's tmp_path.
    env = {
        **os.environ,
        "HYBRIDFLUX_NOTEBOOK_SIZE": "tiny",
        "MPLBACKEND": "Agg",
        "TMPDIR": str(tmp_path),
    }
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    t0 = time.perf_counter()
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # no terminal colours
        pytest.fail(f"{path.name} failed:\n{plain}", pytrace=False)
    print(f"{path.name}: {time.perf_counter() - t0:.1f} s at tiny size")
