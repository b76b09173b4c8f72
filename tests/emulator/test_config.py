"""The emulator YAML configuration (hybridflux.emulator.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridflux.config import ConfigError
from hybridflux.emulator.config import load_emulator_config, parse_emulator_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DATA = {"sites": ["sample:fr-pue-daily"], "observations": ["sample:fr-pue-daily"]}


def test_shipped_configs_parse(shared_data):
    full = load_emulator_config(CONFIGS / "emulator.yaml")
    assert full.cells.test % full.cells.chunk_size == 0
    assert all(Path(p).is_file() for p in full.data.sites) and full.data.gridded.endswith("*.nc")
    tiny = load_emulator_config(CONFIGS / "emulator_tiny.yaml", ["cells.seed=3"])
    assert tiny.cells.seed == 3 and tiny.data.sites == ["sample:fr-pue-daily"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": DATA, "cells": {"trian": 3}}, "cells.trian: unknown key"),
        ({"data": DATA, "cells": {"test": 5, "chunk_size": 4}}, "multiple of chunk_size"),
        ({"data": DATA, "cells": {"variants": [{"lo": 0.5, "hi": 2.0}]}}, "first variant"),
        ({"data": {"sites": ["sample:fr-pue-daily"]}}, "data.observations: missing"),
    ],
)
def test_bad_configs_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_emulator_config(raw)


def test_missing_paths_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.paths: no such file"):
        parse_emulator_config({"data": dict(DATA, sites=["nope.csv"])}, base=tmp_path)
    with pytest.raises(FileNotFoundError, match="data.gridded"):
        parse_emulator_config({"data": dict(DATA, gridded="era5/*.nc")}, base=tmp_path)
