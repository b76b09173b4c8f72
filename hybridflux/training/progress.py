"""Progress reporting for ``fit``: an injectable object, quiet when not on a terminal.

``fit`` calls ``progress.start(total_epochs)``, then ``progress.update(epoch, train_loss,
val_loss)`` after each epoch (``epoch`` = epochs completed, 1-based; ``val_loss`` is ``None``
without validation data), and ``progress.close()`` at the end, also when training fails. Any
object with these three methods (:class:`Progress`) works — a logger, a notebook widget, a test
recorder. :class:`RichProgress` draws a rich progress bar with the epoch, the losses and the
time remaining, and prints nothing when its console is not a terminal (a pipe, a CI log, a file),
so batch jobs' logs stay clean.

Example:
    >>> import io
    >>> from rich.console import Console
    >>> bar = RichProgress(console=Console(file=io.StringIO()))  # not a TTY: quiet
    >>> bar.start(3); bar.update(1, 0.5, None); bar.close()
    >>> bar.enabled
    False
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichBar

__all__ = ["Progress", "RichProgress"]


@runtime_checkable
class Progress(Protocol):
    """What ``fit`` needs from a progress reporter.

    Example:
        >>> isinstance(RichProgress(), Progress)
        True
    """

    def start(self, total: int) -> None:
        """Training of ``total`` epochs begins."""

    def update(self, epoch: int, train_loss: float, val_loss: float | None = None) -> None:
        """``epoch`` epochs (1-based count) are done, with these mean losses."""

    def close(self) -> None:
        """Training ended (normally or not)."""


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class RichProgress:
    """A rich progress bar: epoch m/n, train and validation loss, elapsed time, ETA.

    Args:
        console: the rich ``Console`` to draw on (default: stdout). Nothing is drawn unless
            it is a terminal or a Jupyter notebook.
        description: the label left of the bar.

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> out = io.StringIO()
        >>> bar = RichProgress(console=Console(file=out, force_terminal=True, width=100))
        >>> bar.start(2); bar.update(1, 0.25, 0.5); bar.close()
        >>> "0.25" in out.getvalue() and "1/2" in out.getvalue()
        True
    """

    def __init__(self, console: Console | None = None, description: str = "training") -> None:
        self.console = Console() if console is None else console
        self.description = description
        self.enabled = self.console.is_terminal or self.console.is_jupyter
        self._bar: _RichBar | None = None
        self._task = None

    def start(self, total: int) -> None:
        """Show the bar for ``total`` epochs (no-op when not a terminal)."""
        if not self.enabled:
            return
        self._bar = _RichBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[train]}  val {task.fields[val]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            auto_refresh=False,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=total, train="-", val="-")
        self._bar.refresh()

    def update(self, epoch: int, train_loss: float, val_loss: float | None = None) -> None:
        """Move the bar to ``epoch`` done and show the losses."""
        if self._bar is None:
            return
        self._bar.update(self._task, completed=epoch, train=_fmt(train_loss), val=_fmt(val_loss))
        self._bar.refresh()

    def close(self) -> None:
        """Stop drawing (safe to call twice)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
