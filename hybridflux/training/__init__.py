"""The training engine: fit() with scan-fused epochs on a flat parameter vector.

Also seed ensembles and per-site models with vmap, data-parallel training over devices and
hosts with jax.sharding, atomic checkpoints with exact resume, and a progress bar
(docs/design/0003-hybrid-models-and-training.md, 0004-data-parallel-training.md).
"""

from hybridflux.training.checkpoint import Checkpointer as Checkpointer
from hybridflux.training.ensemble import EnsembleResult as EnsembleResult
from hybridflux.training.ensemble import fit_ensemble as fit_ensemble
from hybridflux.training.ensemble import fit_sites as fit_sites
from hybridflux.training.fit import FitResult as FitResult
from hybridflux.training.fit import TrainingDiverged as TrainingDiverged
from hybridflux.training.fit import fit as fit
from hybridflux.training.progress import RichProgress as RichProgress
from hybridflux.training.sharding import initialize_distributed as initialize_distributed
from hybridflux.training.sharding import is_primary as is_primary

__all__ = [
    "Checkpointer",
    "EnsembleResult",
    "FitResult",
    "RichProgress",
    "TrainingDiverged",
    "fit",
    "fit_ensemble",
    "fit_sites",
    "initialize_distributed",
    "is_primary",
]
