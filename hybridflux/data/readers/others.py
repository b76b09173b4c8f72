"""Readers of non-FLUXNET formats, tried before the generic FLUXNET readers.

Each module follows the reader contract of :mod:`hybridflux.data.readers` (``NAME``,
``sniff(path, head)``, ``read(path)``); their sniffs match specific headers or file names, so
they never claim a standard FLUXNET file. ``hybridflux.data.io`` puts :data:`READERS` in front
of its own registry.

Example:
    >>> [m.NAME for m in READERS][:3]
    ['reddyproc', 'bigleaf', 'rsofun']
"""

from __future__ import annotations

from types import ModuleType

from hybridflux.data.readers import (
    bigleaf,
    cardamom,
    elm_tutorial,
    hesseflux,
    modis_gee,
    openeddy,
    pyrealm,
    reddyproc,
    rsofun,
)

__all__ = ["READERS"]

#: Reader modules for REddyProc, bigleaf, rsofun, pyrealm, openeddy, hesseflux/ICOS,
#: CARDAMOM, the AmeriFlux/ELM tutorial tables and MODIS GEE subsets, in the order tried.
READERS: list[ModuleType] = [
    reddyproc,
    bigleaf,
    rsofun,
    pyrealm,
    openeddy,
    hesseflux,
    cardamom,
    elm_tutorial,
    modis_gee,
]
