"""Shared pieces of the config sections: the error type and the strict pydantic base.

Example:
    >>> print(ConfigError("config.yaml", ["train.epochs: missing required key"]))
    config.yaml: invalid configuration
      train.epochs: missing required key
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the offending key(s).

    Example:
        >>> print(ConfigError("config.yaml", ["train.epochs: missing required key"]))
        config.yaml: invalid configuration
          train.epochs: missing required key
    """

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: invalid configuration", *(f"  {p}" for p in self.problems)]
        super().__init__("\n".join(lines))


class _Strict(BaseModel):
    """Base of every section: unknown keys are errors, defaults are validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
