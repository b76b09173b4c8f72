"""hybridflux — differentiable hybrid modelling of terrestrial carbon fluxes in JAX.

Process knowledge as pure JAX functions (:mod:`hybridflux.process`), real flux-tower data as a
canonical xarray Dataset (:mod:`hybridflux.data`), hybrid models whose parameters come from
networks or global scalars (:mod:`hybridflux.hybrid`), masked losses and carbon-balance
constraints (:mod:`hybridflux.losses`, :mod:`hybridflux.constraints`), the training engine
(:mod:`hybridflux.training`), runs from YAML configs (:mod:`hybridflux.config`,
:mod:`hybridflux.runs`), literature constants with units and citations
(:mod:`hybridflux.constants`).

Example:
    >>> import hybridflux
    >>> hybridflux.__version__
    '0.1.0'
"""

from hybridflux import config as config
from hybridflux import constants as constants
from hybridflux import constraints as constraints
from hybridflux import data as data
from hybridflux import hybrid as hybrid
from hybridflux import losses as losses
from hybridflux import modulators as modulators
from hybridflux import process as process
from hybridflux import runs as runs
from hybridflux import training as training

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "config",
    "constants",
    "constraints",
    "data",
    "hybrid",
    "losses",
    "modulators",
    "process",
    "runs",
    "training",
]
