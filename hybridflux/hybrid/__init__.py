"""Hybrid models: process functions plus, per parameter, where its value comes from.

Sources: :class:`Fixed`, :class:`Global` (a learnable scalar in a :class:`PhysicsParam`),
:class:`Modulated` (a network of named covariates with a bounded head). Trainable groups are
filters: :data:`TRAIN_NETWORKS`, :data:`TRAIN_PHYSICS`, :data:`TRAIN_JOINT`
(docs/design/0003-hybrid-models-and-training.md).
"""

from hybridflux.hybrid.model import HybridModel as HybridModel
from hybridflux.hybrid.models import direct_fluxes as direct_fluxes
from hybridflux.hybrid.models import hybrid_q10 as hybrid_q10
from hybridflux.hybrid.models import lue_q10_nee as lue_q10_nee
from hybridflux.hybrid.params import TRAIN_JOINT as TRAIN_JOINT
from hybridflux.hybrid.params import TRAIN_NETWORKS as TRAIN_NETWORKS
from hybridflux.hybrid.params import TRAIN_PHYSICS as TRAIN_PHYSICS
from hybridflux.hybrid.params import PhysicsParam as PhysicsParam
from hybridflux.hybrid.params import Stat as Stat
from hybridflux.hybrid.sources import Fixed as Fixed
from hybridflux.hybrid.sources import Global as Global
from hybridflux.hybrid.sources import Modulated as Modulated

__all__ = [
    "Fixed",
    "Global",
    "HybridModel",
    "Modulated",
    "PhysicsParam",
    "Stat",
    "TRAIN_JOINT",
    "TRAIN_NETWORKS",
    "TRAIN_PHYSICS",
    "direct_fluxes",
    "hybrid_q10",
    "lue_q10_nee",
]
