"""Data-parallel training over devices and hosts with ``jax.sharding`` (design 0004).

A :class:`DataParallel` plan holds a two-axis :class:`~jax.sharding.Mesh` over the devices,
``("member", "batch")``. A single model (:func:`~hybridflux.training.fit.fit`) uses only the
``batch`` axis: each batch of the epoch's host-side row order is split over the devices, the
flat parameter vector, the optimizer state and the data are replicated, and XLA inserts the
all-reduce of the gradient (a sum over a sharded axis). The row order is the one of a single
device, so the result equals single-device training up to the order of float additions.
Ensembles and per-site models (:mod:`~hybridflux.training.ensemble`) put ``gcd(members,
devices)`` devices on the ``member`` axis (members train independently, no communication) and
the rest on the ``batch`` axis.

Multi-host: :func:`initialize_distributed` starts ``jax.distributed`` under SLURM or Open MPI
or with explicit coordinator settings; :func:`global_rows` builds global arrays from the rows
each process read (``jax.make_array_from_process_local_data``); :func:`is_primary` tells the
one process that writes checkpoints and metrics.

Example:
    >>> plan = data_parallel(devices=1)  # one device: no plan, plain ``jax.jit``
    >>> plan is None, is_primary()
    (True, True)
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "BATCH",
    "MEMBER",
    "DataParallel",
    "compile_run",
    "data_parallel",
    "global_rows",
    "host_array",
    "initialize_distributed",
    "is_primary",
    "local_copy",
    "place_state",
    "select_devices",
]

#: Mesh axis over which ensemble members (or sites of ``fit_sites``) are split.
MEMBER = "member"
#: Mesh axis over which the rows of each batch are split.
BATCH = "batch"


def select_devices(devices: int | None = None) -> list[Any]:
    """The first ``devices`` devices of every process, evenly (default: all devices).

    Args:
        devices: how many devices to train on (``train.devices``); ``None``: all.

    Returns:
        The devices, ordered by process and id.

    Raises:
        ValueError: ``devices`` < 1, more than visible, or not a multiple of the number of
            processes (each process must keep the same number of devices).

    Example:
        >>> len(select_devices(1))
        1
    """
    every = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    n = len(every) if devices is None else int(devices)
    processes = jax.process_count()
    if not 1 <= n <= len(every) or n % processes:
        raise ValueError(
            f"train.devices={devices}: {len(every)} devices are visible to {processes} "
            f"process(es); ask for 1..{len(every)} devices, a multiple of {processes}, or leave "
            "it unset (null) to use all of them"
        )
    local = [[d for d in every if d.process_index == p] for p in range(processes)]
    return [d for devices_of_process in local for d in devices_of_process[: n // processes]]


def host_array(x: Any) -> np.ndarray:
    """``x`` as a numpy array on this host, gathered from all processes where needed.

    A collective when ``x`` spans devices of other processes: every process must call it.

    Example:
        >>> host_array(jnp.arange(3)).tolist()
        [0, 1, 2]
    """
    if isinstance(x, jax.Array) and not (x.is_fully_addressable or x.is_fully_replicated):
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def _put(x: Any, sharding: NamedSharding) -> jax.Array:
    """Place ``x`` with ``sharding``; host-local values must be equal on every process."""
    if isinstance(x, jax.Array) and (jax.process_count() == 1 or not x.is_fully_addressable):
        return jax.device_put(x, sharding)  # keeps weak types; across processes a reshard
    return jax.device_put(np.asarray(x), sharding)


@dataclass(frozen=True)
class DataParallel:
    """Where each array of a training run lives: a mesh ``("member", "batch")``.

    Attributes:
        mesh: the device mesh; ``mesh.shape["member"]`` divides the number of members.

    Example:
        >>> plan = DataParallel(jax.make_mesh((1, 1), (MEMBER, BATCH),
        ...                                   axis_types=(AxisType.Auto,) * 2))
        >>> tuple(plan.spec(members=True, rows=True, trailing=1))  # an ensemble's row order
        ('member', None, 'batch')
    """

    mesh: Mesh

    def sharding(self, spec: P) -> NamedSharding:
        """``NamedSharding(mesh, spec)``."""
        return NamedSharding(self.mesh, spec)

    def spec(self, *, members: bool, rows: bool = False, trailing: int = 0) -> P:
        """A spec: leading member axis (if ``members``), then rows split over ``batch``.

        ``trailing`` unsplit axes go between the member axis and the rows (the batch index
        of an order ``(B, batch_size)``).
        """
        lead = (MEMBER,) if members else ()
        return P(*lead, *(None,) * trailing, *((BATCH,) if rows else ()))

    def put(self, tree: Any, spec: P) -> Any:
        """Every leaf of ``tree`` placed with ``spec`` (a collective across processes)."""
        return jax.tree.map(lambda x: _put(x, self.sharding(spec)), tree)

    def order_spec(self, order_shape: Sequence[int], members: bool) -> P:
        """Spec of a row order: batch rows over ``batch`` where they divide evenly."""
        even = order_shape[-1] % self.mesh.shape[BATCH] == 0
        return self.spec(members=members, rows=even, trailing=1 if even else 0)

    def compile_epoch(
        self,
        epoch: Callable[..., Any],
        order_shape: Sequence[int],
        *,
        members: bool,
        data_axis: int | None = None,
    ) -> Callable[..., Any]:
        """``jit`` an epoch (vmapped when ``members``) with the plan's shardings.

        Args:
            epoch: ``epoch(flat, opt_state, rest, data, weight, order)``
                (:func:`~hybridflux.training.epoch.make_train_epoch`, vmapped for members).
            order_shape: shape of the epoch's row order, ``([M,] B, batch_size)``.
            members: whether arrays lead with a member axis.
            data_axis: ``0`` when the data lead with the member axis (sites), else ``None``.

        Returns:
            A function of the same arguments, the order as the host's numpy array (it is
            placed here, each device receiving its part of every batch); the other inputs
            must be placed with :meth:`state_spec` / :meth:`data_spec`. Its ``jitted``
            attribute is the ``jax.jit`` object (for trace counts).
        """
        state = self.sharding(self.state_spec(members))
        data = self.sharding(self.data_spec(members, data_axis))
        inside = self.sharding(self.spec(members=members, rows=True, trailing=1))
        order_sharding = self.sharding(self.order_spec(order_shape, members))

        def sharded(flat, opt_state, rest, cols, weight, order):
            order = jax.lax.with_sharding_constraint(order, inside)  # rows of each batch split
            return epoch(flat, opt_state, rest, cols, weight, order)

        jitted = jax.jit(
            sharded,
            in_shardings=(state, state, state, data, data, order_sharding),
            out_shardings=(state, state, state),
        )

        def run(flat, opt_state, rest, cols, weight, order):
            return jitted(flat, opt_state, rest, cols, weight, _put(order, order_sharding))

        run.jitted = jitted  # type: ignore[attr-defined]
        return run

    def compile_eval(
        self, evaluate: Callable[..., Any], *, members: bool, data_axis: int | None = None
    ) -> Callable[..., Any]:
        """``jit`` an evaluation (vmapped when ``members``): rows split over ``batch``."""
        state = self.sharding(self.state_spec(members))
        data = self.sharding(self.data_spec(members, data_axis))
        rows = self.sharding(self.spec(members=members and data_axis == 0, rows=True))

        def sharded(flat, rest, cols, weight):
            constrain = lambda x: jax.lax.with_sharding_constraint(x, rows)  # noqa: E731
            return evaluate(flat, rest, jax.tree.map(constrain, cols), constrain(weight))

        return jax.jit(sharded, in_shardings=(state, state, data, data), out_shardings=state)

    def state_spec(self, members: bool) -> P:
        """Parameters, optimizer and fixed states: replicated, or split over members."""
        return self.spec(members=members)

    def data_spec(self, members: bool, data_axis: int | None = None) -> P:
        """Data: replicated, or (per-site data, ``data_axis=0``) split over members."""
        return self.spec(members=members and data_axis == 0)


def data_parallel(devices: int | None = None, members: int = 1) -> DataParallel | None:
    """The plan for ``devices`` devices (``None``: all), or ``None`` when that is one device.

    Args:
        devices: number of devices (``train.devices``); ``None`` uses every visible device.
        members: ensemble members (or sites) trained at once; ``gcd(members, devices)``
            devices split the members, the others the rows of each batch.

    Returns:
        A :class:`DataParallel`, or ``None`` for a single device (plain ``jax.jit``).

    Example:
        >>> data_parallel(None) is None  # this doctest runs on one CPU device
        True
    """
    chosen = select_devices(devices)
    if len(chosen) == 1:
        return None
    split = math.gcd(int(members), len(chosen))
    shape = (split, len(chosen) // split)
    mesh = Mesh(np.asarray(chosen, dtype=object).reshape(shape), (MEMBER, BATCH),
                axis_types=(AxisType.Auto, AxisType.Auto))  # fmt: skip
    return DataParallel(mesh)


def compile_run(
    plan: DataParallel | None,
    epoch: Callable[..., Any],
    evaluate: Callable[..., Any] | None,
    order_shape: Sequence[int],
    arrays: Mapping[str, Any],
    *,
    members: bool = False,
    data_axis: int | None = None,
) -> tuple[Callable[..., Any], Callable[..., Any] | None, dict[str, Any]]:
    """Jit a run's epoch and evaluation and place its arrays: ``(epoch, evaluate, arrays)``.

    Without a plan this is ``jax.jit`` of both and the arrays unchanged; with one, the
    functions are compiled with its shardings and ``arrays`` (``rest``, ``data``, ``weight``,
    ``val_data``, ``val_weight``; ``None`` values kept) are placed on its devices.

    Example:
        >>> f, g, a = compile_run(None, lambda *xs: xs, None, (1, 2), {"rest": 1})
        >>> g is None, a
        (True, {'rest': 1})
    """
    if plan is None:
        return jax.jit(epoch), None if evaluate is None else jax.jit(evaluate), dict(arrays)
    specs = {
        "rest": plan.state_spec(members),
        "data": plan.data_spec(members, data_axis),
        "weight": plan.data_spec(members, data_axis),
        "val_data": plan.data_spec(members, data_axis),
        "val_weight": plan.data_spec(members, data_axis),
    }
    placed = {k: None if v is None else plan.put(v, specs[k]) for k, v in arrays.items()}
    options = {"members": members, "data_axis": data_axis}
    epoch_fn = plan.compile_epoch(epoch, order_shape, **options)
    eval_fn = None if evaluate is None else plan.compile_eval(evaluate, **options)
    return epoch_fn, eval_fn, placed


def place_state(plan: DataParallel | None, state: Any, *, members: bool = False) -> Any:
    """A ``TrainState`` with ``flat``, ``opt_state`` and ``best_flat`` on the plan's devices.

    Example:
        >>> place_state(None, "state")
        'state'
    """
    if plan is None:
        return state
    spec = plan.state_spec(members)
    return dataclasses.replace(
        state,
        flat=plan.put(state.flat, spec),
        opt_state=plan.put(state.opt_state, spec),
        best_flat=plan.put(state.best_flat, spec),
    )


def local_copy(plan: DataParallel | None, tree: Any) -> Any:
    """``tree`` with plain single-device arrays (results leave the mesh), or as is.

    Example:
        >>> local_copy(None, [1])
        [1]
    """
    return tree if plan is None else jax.tree.map(lambda x: jnp.asarray(host_array(x)), tree)


def is_primary() -> bool:
    """Whether this is process 0 (the only one that writes checkpoints, metrics and outputs).

    Example:
        >>> is_primary()
        True
    """
    return jax.process_index() == 0


def _cluster_launch() -> bool:
    """Whether SLURM, Open MPI or ``JAX_COORDINATOR_ADDRESS`` launched several processes."""
    env = os.environ
    if "JAX_COORDINATOR_ADDRESS" in env:
        return True
    if "SLURM_JOB_ID" in env and "SLURM_STEP_NODELIST" in env:
        return int(env.get("SLURM_NTASKS", "1")) > 1
    return "OMPI_MCA_orte_hnp_uri" in env and int(env.get("OMPI_COMM_WORLD_SIZE", "1")) > 1


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Start ``jax.distributed`` when launched as several processes; call before any JAX work.

    Explicit settings are passed through; without them, ``jax.distributed.initialize()``
    is called only under a multi-task SLURM step (``srun``), Open MPI (``mpirun``) or with
    ``JAX_COORDINATOR_ADDRESS`` set, and reads everything from that environment (see
    ``docs/scaling.md``). Otherwise nothing happens (one process).

    Args:
        coordinator_address: ``host:port`` of process 0.
        num_processes: total number of processes.
        process_id: this process's index, ``0 .. num_processes - 1``.

    Returns:
        Whether this run has several processes.

    Example:
        >>> initialize_distributed()  # no cluster environment here: a no-op
        False
    """
    explicit = (coordinator_address, num_processes, process_id)
    if any(value is not None for value in explicit) or _cluster_launch():
        if not jax.distributed.is_initialized():
            jax.distributed.initialize(coordinator_address, num_processes, process_id)
    return jax.process_count() > 1


def global_rows(
    local_data: Mapping[str, Any], local_weight: Any = None
) -> tuple[dict[str, jax.Array], jax.Array]:
    """Global arrays from the rows (or sites) this process read: ``(data, weight)``.

    Each process passes its own rows (axis 0); the global arrays hold them in process order,
    each process's block padded with weight-0 rows to a common length (a multiple of its
    device count), via ``jax.make_array_from_process_local_data``. Trailing axes must agree
    across processes. A collective: every process calls it. With one process it returns the
    data as arrays (no padding).

    Args:
        local_data: this process's columns, equal leading length ``n_local``.
        local_weight: ``(n_local, ...)`` row weights (default 1).

    Returns:
        ``(data, weight)`` to pass to ``fit`` / ``fit_sites``.

    Example:
        >>> data, weight = global_rows({"x": np.arange(3.0)})
        >>> data["x"].shape, weight.tolist()
        ((3,), [1.0, 1.0, 1.0])
    """
    cols = {name: np.asarray(col) for name, col in local_data.items()}
    n_local = next(iter(cols.values())).shape[0]
    lead = next(iter(cols.values())).shape[:1]
    w = np.ones(lead, np.float32) if local_weight is None else np.asarray(local_weight, np.float32)
    if jax.process_count() == 1:
        return {k: jnp.asarray(v) for k, v in cols.items()}, jnp.asarray(w)
    counts = multihost_utils.process_allgather(np.array([n_local]))
    per_device = len(jax.local_devices())
    block = -(-int(np.max(counts)) // per_device) * per_device
    mesh = Mesh(np.asarray(select_devices(None), dtype=object), ("rows",),
                axis_types=(AxisType.Auto,))  # fmt: skip
    sharding = NamedSharding(mesh, P("rows"))

    def pad(x: np.ndarray) -> jax.Array:
        x = np.concatenate([x, np.zeros((block - n_local, *x.shape[1:]), x.dtype)])
        global_shape = (block * jax.process_count(), *x.shape[1:])
        return jax.make_array_from_process_local_data(sharding, x, global_shape)

    return {name: pad(col) for name, col in cols.items()}, pad(w)
