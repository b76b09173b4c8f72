"""Data layer: FLUXNET-family files in, one canonical xarray Dataset (site, time) out.

The schema is in docs/design/0002-canonical-flux-dataset.md. Typical use:

    >>> from hybridflux.data import read, apply_qc
    >>> from hybridflux.data.sample import sample_path
    >>> ds = apply_qc(read(sample_path("fr-pue-daily")))
    >>> ds.attrs["time_step"], ds["NEE_VUT_REF"].attrs["units"]
    ('DD', 'gC m-2 d-1')
"""

from hybridflux.data.aggregate import aggregate as aggregate
from hybridflux.data.bounds import check_plausibility as check_plausibility
from hybridflux.data.errors import DataError as DataError
from hybridflux.data.errors import PlausibilityWarning as PlausibilityWarning
from hybridflux.data.errors import UnknownVariableWarning as UnknownVariableWarning
from hybridflux.data.features import add_features as add_features
from hybridflux.data.inspect import format_report as format_report
from hybridflux.data.inspect import inspect as inspect
from hybridflux.data.io import detect_format as detect_format
from hybridflux.data.io import read as read
from hybridflux.data.metadata import site_meta as site_meta
from hybridflux.data.qc import apply_qc as apply_qc
from hybridflux.data.sample import load_sample as load_sample
from hybridflux.data.sample import sample_path as sample_path
from hybridflux.data.schema import SiteMeta as SiteMeta
from hybridflux.data.schema import combine_sites as combine_sites
from hybridflux.data.schema import site_dataset as site_dataset
from hybridflux.data.schema import validate as validate
from hybridflux.data.splits import Split as Split
from hybridflux.data.splits import apply_split as apply_split
from hybridflux.data.splits import make_split as make_split
from hybridflux.data.units import convert as convert

__all__ = [
    "DataError",
    "PlausibilityWarning",
    "SiteMeta",
    "Split",
    "UnknownVariableWarning",
    "add_features",
    "aggregate",
    "apply_qc",
    "apply_split",
    "check_plausibility",
    "combine_sites",
    "convert",
    "detect_format",
    "format_report",
    "inspect",
    "load_sample",
    "make_split",
    "read",
    "sample_path",
    "site_dataset",
    "site_meta",
    "validate",
]
