"""Every shipped config in configs/ loads with the loader of its command, and its data exist.

The config kinds, their loaders and their shipped examples are listed in one place,
:func:`hybridflux.config.reference.families` (the configuration reference page lists the same
examples). A new file in configs/ that is in no kind's ``examples`` fails here. Loading only:
nothing is trained. Configs reading ``../shared/data`` skip when that folder is absent.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import yaml

from hybridflux.config import SAMPLE_PREFIX
from hybridflux.config.reference import families
from hybridflux.data.sample import SAMPLES

from .conftest import SHARED_DATA

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
#: Keys of a config's ``data`` section that hold data files or glob patterns.
PATH_KEYS = ("paths", "sites", "observations", "gridded")
KINDS = {name: family for family in families() for name in family.examples}


def _data_entries(path: Path) -> list[str]:
    """The data files / globs / samples of a config as written in its YAML."""
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("data") or {}
    entries: list[str] = []
    for key in PATH_KEYS:
        value = data.get(key)
        entries += [] if value is None else [value] if isinstance(value, str) else list(value)
    return entries


def test_every_kind_lists_existing_files_only_once():
    listed = [name for family in families() for name in family.examples]
    assert len(listed) == len(set(listed)), "a config is listed under two kinds"
    missing = sorted(name for name in listed if not (CONFIG_DIR / name).is_file())
    assert not missing, (
        f"listed in hybridflux.config.reference.families() but not in configs/: {missing}"
    )


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_config_loads_and_its_data_exist(path):
    family = KINDS.get(path.name)
    if family is None:
        pytest.fail(
            f"configs/{path.name} has no known loader: add it to the `examples` of its kind in "
            "hybridflux.config.reference.families() (and regenerate docs/config-reference.md)"
        )
    entries = _data_entries(path)
    assert entries, f"{path.name}: no data paths"
    if any("shared/data" in entry for entry in entries) and not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    cfg = family.load(path)
    assert isinstance(cfg, family.root)
    for entry in entries:
        if entry.startswith(SAMPLE_PREFIX):
            assert entry.removeprefix(SAMPLE_PREFIX) in SAMPLES, f"{path.name}: {entry}"
            continue
        matches = glob.glob(str(path.parent / entry))
        assert matches, f"{path.name}: data path {entry!r} matches no file"
        assert all(Path(m).exists() for m in matches)
