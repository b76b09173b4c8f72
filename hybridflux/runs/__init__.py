"""Runs: from a YAML config to a trained model and a run directory, and back to predictions.

The layer between the command line and the library: :mod:`~hybridflux.runs.pipeline`
(config → canonical Dataset → float32 columns → predictions on (site, time)),
:mod:`~hybridflux.runs.build` (objective, optimizer, training rows),
:mod:`~hybridflux.runs.train` (:func:`train_from_config`), :mod:`~hybridflux.runs.apply`
(predict/evaluate a finished run on other data), :mod:`~hybridflux.runs.metrics`,
:mod:`~hybridflux.runs.figures` and :mod:`~hybridflux.runs.rundir` (the run directory).

Example:
    >>> import tempfile
    >>> from hybridflux.demo import demo_config
    >>> from hybridflux.runs import train_from_config
    >>> cfg = demo_config(["train.epochs=2", "output.figures=false"])
    >>> result = train_from_config(cfg, tempfile.mkdtemp())
    >>> sorted(p.name for p in result.run_dir.iterdir())
    ['checkpoints', 'config.yaml', 'metrics.json', 'predictions.nc']
"""

from hybridflux.runs.apply import evaluate_from_run as evaluate_from_run
from hybridflux.runs.apply import predict_from_run as predict_from_run
from hybridflux.runs.metrics import compute_metrics as compute_metrics
from hybridflux.runs.metrics import format_metrics as format_metrics
from hybridflux.runs.metrics import scores as scores
from hybridflux.runs.pipeline import Columns as Columns
from hybridflux.runs.pipeline import load_dataset as load_dataset
from hybridflux.runs.pipeline import to_columns as to_columns
from hybridflux.runs.rundir import RunDir as RunDir
from hybridflux.runs.rundir import RunDirError as RunDirError
from hybridflux.runs.train import RunResult as RunResult
from hybridflux.runs.train import train_from_config as train_from_config

__all__ = [
    "Columns",
    "RunDir",
    "RunDirError",
    "RunResult",
    "compute_metrics",
    "evaluate_from_run",
    "format_metrics",
    "load_dataset",
    "predict_from_run",
    "scores",
    "to_columns",
    "train_from_config",
]
