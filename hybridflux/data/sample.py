"""The small real sample shipped inside the package (CC-BY-4.0; see ``sample_data/ATTRIBUTION.md``).

Three samples, each a real FLUXNET-family product in its original file format:

- ``"fr-pue-daily"`` — FR-Pue (evergreen broadleaf forest, France), daily 2000–2014, FluxDataKit
  FULLSET DD: met drivers, NEE, GPP/RECO partitions, MODIS LAI/FPAR.
- ``"de-tha-halfhourly"`` — DE-Tha (evergreen needleleaf forest, Germany), half-hourly June 2014,
  as distributed with the R package *bigleaf*.
- ``"monthly"`` — 13 sites of the FLUXNET2015 monthly collection (one CSV per site).

Example:
    >>> from hybridflux.data.sample import sample_path
    >>> sample_path("fr-pue-daily").name
    'FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["SAMPLES", "sample_path", "sample_paths", "load_sample", "attribution"]

#: Sample name → file name or glob pattern inside ``hybridflux/sample_data``.
SAMPLES: dict[str, str] = {
    "fr-pue-daily": "FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv",
    "de-tha-halfhourly": "DERIVED_DE_Tha_Jun_2014.csv",
    "monthly": "fluxnet2015_monthly/*_MM.csv",
}


def _root() -> Path:
    return Path(str(resources.files("hybridflux") / "sample_data"))


def sample_paths(name: str) -> list[Path]:
    """All files of a bundled sample, sorted.

    Args:
        name: a key of :data:`SAMPLES`.

    Raises:
        KeyError: unknown sample name (the message lists the known ones).
    """
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; known samples: {sorted(SAMPLES)}")
    return sorted(_root().glob(SAMPLES[name]))


def sample_path(name: str) -> Path:
    """The file of a single-file bundled sample (see :func:`sample_paths` for collections).

    Args:
        name: a key of :data:`SAMPLES` naming a single file.
    """
    paths = sample_paths(name)
    if len(paths) != 1:
        raise ValueError(f"sample {name!r} has {len(paths)} files; use sample_paths()")
    return paths[0]


def load_sample(name: str):
    """Read a bundled sample into the canonical Dataset (``hybridflux.data.read``).

    Args:
        name: a key of :data:`SAMPLES`.

    Returns:
        ``xarray.Dataset`` with dims ``(site, time)``.
    """
    from hybridflux.data.io import read

    return read([str(p) for p in sample_paths(name)])


def attribution() -> str:
    """The attribution text of the bundled sample (sources, licence, citations)."""
    return (_root() / "ATTRIBUTION.md").read_text(encoding="utf-8")
