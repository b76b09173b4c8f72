"""Variable types that make trainable groups filters (STYLE rule 8).

- :class:`PhysicsParam` — a process parameter learned as a global scalar (e.g. Q10), stored
  unconstrained; networks' weights stay ``flax.nnx.Param``. So "train only the networks" is the
  filter ``nnx.Param``, "calibrate only the physics" is ``PhysicsParam`` and "joint" is
  ``(nnx.Param, PhysicsParam)``.
- :class:`Stat` — fixed statistics (input normalisation), never trained.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> isinstance(PhysicsParam(jnp.array(0.0)), nnx.Param)
    False
"""

from __future__ import annotations

from flax import nnx

__all__ = ["PhysicsParam", "Stat", "TRAIN_NETWORKS", "TRAIN_PHYSICS", "TRAIN_JOINT"]


class PhysicsParam(nnx.Variable):
    """A trainable process (physics) parameter, distinct from network weights."""


class Stat(nnx.Variable):
    """A non-trainable statistic of the model (e.g. covariate mean and standard deviation)."""


#: Filter: only the neural-network weights are trained.
TRAIN_NETWORKS = nnx.Param
#: Filter: only the global physics parameters are trained.
TRAIN_PHYSICS = PhysicsParam
#: Filter: networks and physics together.
TRAIN_JOINT = nnx.Any(nnx.Param, PhysicsParam)
