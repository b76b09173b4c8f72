"""The ``hybridflux`` command (contract in DESIGN.md).

Only the thin I/O layer lives here: parse arguments, call library functions, print, exit.
Errors in user input (:class:`~hybridflux.data.errors.DataError`, an invalid config
(:class:`~hybridflux.config.ConfigError`, pydantic ``ValidationError``), ``FileNotFoundError``,
an unusable run directory) are printed as one clear message on stderr, without a traceback,
with exit status 2; a diverged training (:class:`~hybridflux.training.fit.TrainingDiverged`)
exits with status 3.

Subcommands:

- ``hybridflux demo [--out DIR]`` — the main job on the bundled real sample.
- ``hybridflux train CONFIG [--out RUN] [--resume] [--set KEY=VALUE ...]`` — train from a
  YAML config into a run directory.
- ``hybridflux predict RUN --data PATH... --out FILE.nc`` — predictions of a trained run.
- ``hybridflux evaluate RUN --data PATH... [--out DIR]`` — scores of a trained run on data.
- ``hybridflux calibrate CONFIG [--out DIR] [--set KEY=VALUE ...]`` — Bayesian calibration of
  process parameters (numpyro NUTS/SVI).
- ``hybridflux benchmark CONFIG [--out DIR] [--resume] [--set KEY=VALUE ...]`` — the extrapolation
  benchmark (scenarios × scales × models, results.csv, summary.md, figures).
- ``hybridflux upscale RUN --grid PATH --out PATH.zarr [--scheduler ADDRESS]`` — gridded,
  resumable, out-of-core inference with dask.
- ``hybridflux data inspect PATH...`` — what was read: format, sites, period, variables, QC
  (exit status 2 when a file cannot be read).

Example:
    >>> from hybridflux.cli import build_parser
    >>> build_parser().parse_args(["data", "inspect", "a.csv"]).paths
    ['a.csv']
    >>> build_parser().parse_args(["train", "c.yaml", "--set", "train.epochs=2"]).overrides
    ['train.epochs=2']
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main", "EXIT_USER_ERROR", "EXIT_DIVERGED"]

#: Exit status of an error in the user's input (data, config, paths).
EXIT_USER_ERROR = 2
#: Exit status of a training run whose loss became non-finite.
EXIT_DIVERGED = 3


def _add_run_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model from a YAML config")
    train.add_argument("config", help="the YAML config file")
    train.add_argument("--out", help="run directory (default runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a config key (YAML value)")  # fmt: skip
    hosts = train.add_argument_group("multi-host (docs/scaling.md; SLURM/MPI are detected)")
    hosts.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0")
    hosts.add_argument("--num-processes", type=int, help="total number of processes")
    hosts.add_argument("--process-id", type=int, help="index of this process")
    train.set_defaults(handler=_cmd_train)

    predict = sub.add_parser("predict", help="predictions of a trained run on data files")
    predict.add_argument("run", help="run directory of `hybridflux train`")
    predict.add_argument("--data", nargs="+", required=True, help="data files or globs")
    predict.add_argument("--out", required=True, help="netCDF file to write")
    _add_few_shot(predict)
    predict.set_defaults(handler=_cmd_predict)

    evaluate = sub.add_parser("evaluate", help="scores of a trained run on data files")
    evaluate.add_argument("run", help="run directory of `hybridflux train`")
    evaluate.add_argument("--data", nargs="+", required=True, help="data files or globs")
    evaluate.add_argument("--out", help="folder for metrics.json, predictions.nc and figures/")
    _add_few_shot(evaluate)
    evaluate.set_defaults(handler=_cmd_evaluate)


def _add_few_shot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k-shot", type=int, default=0, metavar="K",
                        help="TAM-RL runs: K observed months per site as few-shot support "
                             "(0: zero-shot)")  # fmt: skip
    parser.add_argument("--support-seed", type=int, default=0, help="seed of the support draw")


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key (YAML value)")  # fmt: skip


def _add_workflow_commands(sub: argparse._SubParsersAction) -> None:
    calibrate = sub.add_parser("calibrate", help="Bayesian calibration of process parameters")
    calibrate.add_argument("config", help="the YAML calibration config")
    calibrate.add_argument("--out", help="output directory (default runs/<config name>)")
    _add_overrides(calibrate)
    calibrate.set_defaults(handler=_cmd_calibrate)

    benchmark = sub.add_parser("benchmark", help="extrapolation benchmark of models from a config")
    benchmark.add_argument("config", help="the YAML benchmark config")
    benchmark.add_argument("--out", help="output directory (default runs/benchmark_<config name>)")
    benchmark.add_argument("--resume", action="store_true", help="continue an interrupted run")
    _add_overrides(benchmark)
    benchmark.set_defaults(handler=_cmd_benchmark)

    upscale = sub.add_parser("upscale", help="apply a trained run to a covariate grid (zarr out)")
    upscale.add_argument("run", help="run directory of `hybridflux train`")
    upscale.add_argument("--grid", required=True, help="gridded covariates (zarr or netCDF)")
    upscale.add_argument("--out", required=True, help="output zarr store (resumable)")
    upscale.add_argument("--scheduler", help="address of a dask.distributed scheduler")
    upscale.set_defaults(handler=_cmd_upscale)

    emulator = sub.add_parser("emulator", help="pretrain a process-model emulator, speed-up")
    emulator.add_argument("config", help="the YAML emulator config")
    emulator.add_argument("--out", help="output directory (default runs/<config name>)")
    emulator.add_argument("--resume", action="store_true", help="continue an interrupted run")
    _add_overrides(emulator)
    emulator.set_defaults(handler=_cmd_emulator)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hybridflux`` command."""
    parser = argparse.ArgumentParser(
        prog="hybridflux",
        description="Differentiable hybrid modelling of terrestrial carbon fluxes.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the main job on the bundled real data")
    demo.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    demo.set_defaults(handler=_cmd_demo)

    _add_run_commands(sub)
    _add_workflow_commands(sub)

    data = sub.add_parser("data", help="inspect flux data files")
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    inspect = data_sub.add_parser("inspect", help="what was read: sites, period, variables, QC")
    inspect.add_argument("paths", nargs="+", help="files, folders or glob patterns")
    inspect.set_defaults(handler=_cmd_data_inspect)
    return parser


def _progress():
    from hybridflux.training.progress import RichProgress

    return RichProgress()


def _cmd_demo(args: argparse.Namespace) -> int:
    from hybridflux.demo import run_demo

    print(run_demo(args.out, progress=_progress()))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from hybridflux.training.sharding import initialize_distributed, is_primary

    initialize_distributed(args.coordinator, args.num_processes, args.process_id)  # before JAX
    from hybridflux.config import load_config
    from hybridflux.runs.train import summary, train_from_config

    cfg = load_config(args.config, args.overrides)
    out = args.out or str(Path("runs") / Path(args.config).stem)
    primary = is_primary()
    progress, log = (_progress(), print) if primary else (None, lambda *a, **k: None)
    result = train_from_config(cfg, out, resume=args.resume, progress=progress, log=log)
    if primary:
        print(summary(result, ("train", "val", "test")))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from hybridflux.runs.apply import predict_from_run
    from hybridflux.runs.rundir import RunDir

    predictions = predict_from_run(args.run, args.data, k_shot=args.k_shot, seed=args.support_seed)
    path = RunDir(args.run).write_predictions(predictions, args.out)
    print(f"predictions of {', '.join(map(str, predictions.data_vars))} written to {path}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from hybridflux.runs.apply import evaluate_from_run
    from hybridflux.runs.metrics import format_metrics

    metrics = evaluate_from_run(
        args.run, args.data, args.out, k_shot=args.k_shot, seed=args.support_seed
    )
    print(format_metrics(metrics, ("all",)))
    if args.out:
        print(f"metrics, predictions and figures written to {args.out}")
    return 0


def _default_out(args: argparse.Namespace) -> str:
    return args.out or str(Path("runs") / Path(args.config).stem)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from hybridflux.calibrate import run_calibration

    print(run_calibration(args.config, _default_out(args), args.overrides))
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from hybridflux.benchmark import run_benchmark

    out = args.out or str(Path("runs") / f"benchmark_{Path(args.config).stem}")
    print(run_benchmark(args.config, out, args.overrides, resume=args.resume))
    return 0


def _cmd_upscale(args: argparse.Namespace) -> int:
    from hybridflux.upscale import run_upscale

    print(run_upscale(args.run, args.grid, args.out, scheduler=args.scheduler))
    return 0


def _cmd_emulator(args: argparse.Namespace) -> int:
    from hybridflux.emulator import run_emulator

    print(run_emulator(args.config, _default_out(args), args.overrides, resume=args.resume))
    return 0


def _cmd_data_inspect(args: argparse.Namespace) -> int:
    from hybridflux.data.inspect import format_report, inspect

    reports = inspect(args.paths)
    print(format_report(reports))
    errors = [str(r.error) for r in reports if getattr(r, "error", None)]
    for error in errors:
        print(f"hybridflux: error: {error}", file=sys.stderr)
    return EXIT_USER_ERROR if errors else 0


def _user_errors() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from hybridflux.config import ConfigError
    from hybridflux.data.errors import DataError
    from hybridflux.runs.rundir import RunDirError

    return (DataError, ConfigError, ValidationError, RunDirError, FileNotFoundError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hybridflux`` command; returns the exit status.

    Args:
        argv: arguments without the program name (``None``: ``sys.argv[1:]``).

    Example:
        >>> main(["train", "no-such-config.yaml"])
        2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from hybridflux import __version__

        print(__version__)
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USER_ERROR
    from hybridflux.training.fit import TrainingDiverged

    try:
        return handler(args)
    except _user_errors() as err:
        print(f"hybridflux: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except TrainingDiverged as err:
        print(f"hybridflux: error: {err}", file=sys.stderr)
        return EXIT_DIVERGED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
