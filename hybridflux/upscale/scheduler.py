"""Where the chunks run: threads on this machine, or an existing dask.distributed cluster.

:func:`open_executor` gives an executor for ``scheduler=None`` (a thread pool here: JAX,
zarr's codecs and numpy release the GIL, so threads overlap reading, predicting and writing)
or a ``dask.distributed`` scheduler address (``tcp://host:8786``; workers started with
``dask worker ADDRESS``, see ``docs/scaling_upscale.md``). :func:`completed` keeps at most
``max_in_flight`` chunks submitted — memory stays bounded by the chunk size whatever the grid
size — and yields each result as it finishes, in completion order. A failed chunk raises in
the driver after the chunks in flight are cancelled.

The chunk function and its argument must be picklable for a cluster (module-level functions,
frozen dataclasses of paths): workers read the grid and write the output themselves, so the
paths must be visible to them (a shared file system).

Example:
    >>> with open_executor(None, workers=2) as executor:
    ...     sorted(completed(executor, abs, [-1, -2, 3], max_in_flight=2))
    [1, 2, 3]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

__all__ = ["Executor", "open_executor", "completed", "default_workers"]


def default_workers() -> int:
    """Threads of the local executor: the CPU cores, at most 8.

    Example:
        >>> default_workers() >= 1
        True
    """
    return max(1, min(8, os.cpu_count() or 1))


class Executor:
    """A uniform face of a thread pool and a ``distributed.Client``.

    Args:
        submit: ``submit(fn, item) -> future``.
        wait_first: ``wait_first(futures) -> (done, not_done)``.
        slots: how many chunks can run at once (threads, or the cluster's worker threads).
        description: ``"local (N threads)"`` or the scheduler address.
    """

    def __init__(self, submit, wait_first, slots: int, description: str):
        self.submit = submit
        self.wait_first = wait_first
        self.slots = max(1, int(slots))
        self.description = description


@contextlib.contextmanager
def _local(workers: int) -> Iterator[Executor]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upscale") as pool:

        def wait_first(futures):
            return wait(futures, return_when=FIRST_COMPLETED)

        yield Executor(pool.submit, wait_first, workers, f"local ({workers} threads)")


@contextlib.contextmanager
def _cluster(address: str) -> Iterator[Executor]:
    from distributed import Client
    from distributed import wait as dwait

    with Client(address, set_as_default=False) as client:
        threads = sum(client.nthreads().values())
        if threads == 0:
            raise RuntimeError(
                f"the dask scheduler at {address} has no workers; start some with "
                f"`dask worker {address}`"
            )

        def submit(fn, item):
            return client.submit(fn, item, pure=False)

        def wait_first(futures):
            with client.as_current():  # this client, without making it the global default
                return dwait(list(futures), return_when="FIRST_COMPLETED")

        yield Executor(submit, wait_first, threads, f"dask.distributed at {address}")


@contextlib.contextmanager
def open_executor(scheduler: str | None, workers: int | None = None) -> Iterator[Executor]:
    """Open the executor of a run.

    Args:
        scheduler: ``None`` for threads on this machine, else the address of a running
            ``dask scheduler`` (e.g. ``tcp://10.0.0.5:8786``, or a ``LocalCluster``'s
            ``scheduler_address``).
        workers: threads of the local executor (default :func:`default_workers`); ignored
            for a cluster, whose workers have their own threads.

    Yields:
        An :class:`Executor`.

    Raises:
        OSError: the scheduler cannot be reached.
        RuntimeError: the scheduler has no workers.
    """
    if scheduler is None:
        with _local(workers or default_workers()) as executor:
            yield executor
    else:
        with _cluster(scheduler) as executor:
            yield executor


def completed(
    executor: Executor, fn: Callable[[Any], Any], items: Iterable[Any], *, max_in_flight: int
) -> Iterator[Any]:
    """Run ``fn`` on every item, at most ``max_in_flight`` at a time; yield results as they end.

    Args:
        executor: from :func:`open_executor`.
        fn: the chunk function (picklable for a cluster).
        items: its arguments.
        max_in_flight: bound on submitted, unfinished calls (bounds the memory).

    Yields:
        ``fn(item)`` in completion order.

    Raises:
        Exception: the first failure of ``fn``, after cancelling what is still pending.
    """
    pending: set = set()
    todo = iter(items)
    try:
        while True:
            for item in todo:
                pending.add(executor.submit(fn, item))
                if len(pending) >= max_in_flight:
                    break
            if not pending:
                return
            done, pending = executor.wait_first(pending)
            pending = set(pending)
            for future in done:
                yield future.result()
    finally:
        for future in pending:
            future.cancel()
