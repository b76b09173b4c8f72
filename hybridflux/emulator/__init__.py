"""Knowledge-guided pretraining and a process-model emulator with its speed-up measured.

After KGML-ag-Carbon (Liu et al. 2024, Nat. Commun. 15, 357): run a detailed process model over
many synthetic cells (:mod:`~hybridflux.emulator.generate`, drivers from real data in
:mod:`~hybridflux.emulator.drivers`), pretrain a neural emulator and an equilibrium emulator on
its output (:mod:`~hybridflux.emulator.models`, :mod:`~hybridflux.emulator.train`), fine-tune on
few real observations (:mod:`~hybridflux.emulator.efficiency`) and measure the speed-up on the
same cells and years (:mod:`~hybridflux.emulator.speedup`). The process model is an object
(:class:`ProcessModel`); :class:`DetailedProcessModel` is the worked case. Entry point:
:func:`run_emulator` (``hybridflux emulator CONFIG --out DIR``).

Example:
    >>> from hybridflux.emulator import DetailedProcessModel, ProcessModel
    >>> isinstance(DetailedProcessModel({"eps_max": (0.8, 1.2)}), ProcessModel)
    True
"""

from hybridflux.emulator.config import EmulatorConfig as EmulatorConfig
from hybridflux.emulator.config import load_emulator_config as load_emulator_config
from hybridflux.emulator.efficiency import sample_efficiency as sample_efficiency
from hybridflux.emulator.generate import SyntheticData as SyntheticData
from hybridflux.emulator.generate import Variant as Variant
from hybridflux.emulator.generate import generate as generate
from hybridflux.emulator.models import EquilibriumEmulator as EquilibriumEmulator
from hybridflux.emulator.models import WindowedEmulator as WindowedEmulator
from hybridflux.emulator.process_model import DetailedProcessModel as DetailedProcessModel
from hybridflux.emulator.process_model import ProcessModel as ProcessModel
from hybridflux.emulator.run import run_emulator as run_emulator
from hybridflux.emulator.run import run_workflow as run_workflow
from hybridflux.emulator.rundir import load_run as load_run
from hybridflux.emulator.speedup import benchmark as benchmark

__all__ = [
    "DetailedProcessModel",
    "EmulatorConfig",
    "EquilibriumEmulator",
    "ProcessModel",
    "SyntheticData",
    "Variant",
    "WindowedEmulator",
    "benchmark",
    "generate",
    "load_run",
    "load_emulator_config",
    "run_emulator",
    "run_workflow",
    "sample_efficiency",
]
