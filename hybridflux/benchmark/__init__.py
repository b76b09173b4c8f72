"""The extrapolation benchmark (``hybridflux benchmark``): scenarios, scales, baselines, reports.

After FLUXtrapolation (Fries et al. 2026): models are trained on part of the (site, time) grid
and scored where they must extrapolate — later years (:mod:`.scenarios`: temporal), unseen
sites, vegetation types or climate zones (spatial), the warmest sites (temperature) — per site
at several temporal scales (:mod:`.scales`), summarised by the median and the 90th percentile
across sites and by the skill against linear regression. Models come from config entries
(:mod:`.models`, :mod:`.baselines`); :func:`run_benchmark` writes ``results.csv``,
``summary.md`` and figures (:mod:`.report`, :mod:`.figures`).

Example:
    >>> from hybridflux.benchmark import scales_for
    >>> scales_for("MM")
    ['monthly', 'seasonal_cycle', 'anomalies', 'interannual', 'site_mean']
"""

from hybridflux.benchmark.baselines import GradientBoosting as GradientBoosting
from hybridflux.benchmark.baselines import LinearRegression as LinearRegression
from hybridflux.benchmark.baselines import MLPRegression as MLPRegression
from hybridflux.benchmark.baselines import ProcessModel as ProcessModel
from hybridflux.benchmark.config import BenchmarkConfig as BenchmarkConfig
from hybridflux.benchmark.config import load_benchmark_config as load_benchmark_config
from hybridflux.benchmark.inputs import prepare_data as prepare_data
from hybridflux.benchmark.models import BuildContext as BuildContext
from hybridflux.benchmark.models import Estimator as Estimator
from hybridflux.benchmark.models import HybridEntry as HybridEntry
from hybridflux.benchmark.models import MissingDependency as MissingDependency
from hybridflux.benchmark.run import BenchmarkResult as BenchmarkResult
from hybridflux.benchmark.run import benchmark as benchmark
from hybridflux.benchmark.run import run_benchmark as run_benchmark
from hybridflux.benchmark.scales import per_site_scores as per_site_scores
from hybridflux.benchmark.scales import scales_for as scales_for
from hybridflux.benchmark.scales import site_statistics as site_statistics
from hybridflux.benchmark.scales import skill as skill
from hybridflux.benchmark.scenarios import make_scenario as make_scenario

__all__ = [
    "BenchmarkConfig",
    "BenchmarkResult",
    "BuildContext",
    "Estimator",
    "GradientBoosting",
    "HybridEntry",
    "LinearRegression",
    "MLPRegression",
    "MissingDependency",
    "ProcessModel",
    "benchmark",
    "load_benchmark_config",
    "make_scenario",
    "per_site_scores",
    "prepare_data",
    "run_benchmark",
    "scales_for",
    "site_statistics",
    "skill",
]
