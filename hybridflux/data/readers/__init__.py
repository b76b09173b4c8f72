"""File readers: one module per family of formats, all returning the canonical Dataset.

Contract of a reader module (docs/design/0002-canonical-flux-dataset.md):

- ``NAME: str`` — the format name shown by ``hybridflux data inspect``.
- ``sniff(path: pathlib.Path, head: str) -> bool`` — whether this reader handles the file, from
  its name and ``head`` (the first ~4 kB decoded as text, gzip already decompressed, ``""``
  for binary files such as netCDF/zarr). Must be cheap and never raise.
- ``read(path: pathlib.Path) -> xarray.Dataset`` — the canonical Dataset (one or more sites);
  raises :class:`hybridflux.data.errors.DataError` naming the file, variable and row.
- optional ``read_many(paths) -> xarray.Dataset`` — many files at once, the same result as
  ``schema.combine_sites([read(p) for p in paths])``; ``hybridflux.data.io.read`` uses it when
  several files go to the same reader.
- optional ``PRIORITY: int`` (default 0) — readers with a higher priority are tried first.

:data:`READERS` is tried in order; the first whose ``sniff`` is true reads the file. It holds
the FLUXNET-family readers of this package (``fluxnet``, ``ameriflux_base``,
``monthly_collection``, ``canonical``), then those listed by ``readers.others.READERS`` when that
module exists, stably sorted by ``PRIORITY``, and last the generic ``plain`` reader (any CSV
with a ``TIMESTAMP`` column and FLUXNET-named variables). All sniffs are specific (file-name
patterns or distinctive headers), and ``tests/data/test_io.py`` checks that every sample file of
``../shared/data`` is claimed by exactly one reader, so the order only matters for user files.

Example:
    >>> from hybridflux.data.readers import READERS
    >>> [reader.NAME for reader in READERS][:4]
    ['fluxnet', 'ameriflux_base', 'monthly_collection', 'canonical']
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

__all__ = ["READERS", "reader_modules"]


@functools.cache
def _modules() -> tuple[ModuleType, ...]:
    from hybridflux.data.readers import ameriflux_base, canonical, fluxnet, monthly_collection

    own = [fluxnet, ameriflux_base, monthly_collection, canonical]
    try:
        others = importlib.import_module("hybridflux.data.readers.others")
    except ModuleNotFoundError as err:
        if err.name != "hybridflux.data.readers.others":
            raise
        extra: list[ModuleType] = []
    else:
        extra = [m for m in getattr(others, "READERS", []) if m not in own]
    ordered = sorted(own + extra, key=lambda m: -getattr(m, "PRIORITY", 0))
    return (*ordered, importlib.import_module("hybridflux.data.readers.plain"))  # last


def reader_modules() -> list[ModuleType]:
    """The reader modules in the order they are tried (a fresh list, same as :data:`READERS`).

    Example:
        >>> all(hasattr(m, "sniff") and hasattr(m, "read") for m in reader_modules())
        True
    """
    return list(_modules())


def __getattr__(name: str):
    # READERS is built on first use, so that reader modules may import this package freely.
    if name == "READERS":
        return reader_modules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
