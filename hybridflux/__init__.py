"""hybridflux — differentiable hybrid modelling of terrestrial carbon fluxes in JAX.

Process knowledge as pure JAX functions (:mod:`hybridflux.process`), real flux-tower data as a
canonical xarray Dataset (:mod:`hybridflux.data`), literature constants with units and citations
(:mod:`hybridflux.constants`).

Example:
    >>> import hybridflux
    >>> hybridflux.__version__
    '0.1.0'
"""

from hybridflux import constants as constants
from hybridflux import data as data
from hybridflux import process as process

__version__ = "0.1.0"

__all__ = ["constants", "data", "process", "__version__"]
