"""Flax NNX networks that predict process parameters: MLPs with bounded output heads."""

from hybridflux.modulators.mlp import MLP as MLP
from hybridflux.modulators.mlp import sigmoid_bounds as sigmoid_bounds
from hybridflux.modulators.mlp import softplus_bounds as softplus_bounds

__all__ = ["MLP", "sigmoid_bounds", "softplus_bounds"]
