"""The live progress display of a run, in a terminal, in a log and in Jupyter.

:class:`ProgressBar` is an event callback (``Migration(progress=True)`` adds one). It keeps the
state of the run from the events (each machine's stage, whether it failed or waits, its initial
replication %) and draws it three ways:

* **terminal** (the stream is a TTY): a `rich <https://rich.readthedocs.io>`_ live display, a
  few lines fitted to the terminal's width (redrawn in place, never wrapped), with log records
  printed *above* it: while it is shown, every ``logging.StreamHandler`` on the root and
  ``ec2asr`` loggers that writes to the terminal is routed through the display;
* **no terminal** (a pipe, a CI log): one line per change (a machine reaching a stage, failing
  or starting to wait), never a redraw;
* **Jupyter**: one HTML output updated in place, with the latest warnings inside it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import IO, Any

from rich.console import Console, Group
from rich.file_proxy import FileProxy
from rich.live import Live

from ec2asr.events import EventKind, MigrationEvent
from ec2asr.migration._progress_state import ProgressState, render_html, render_lines
from ec2asr.migration.stages import MachineStatus, Stage

__all__ = ["ProgressBar", "ProgressState"]


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _isatty(stream: IO[str] | None) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


class ProgressBar:
    """An event callback that shows a run's progress (see the module docstring).

    Args:
        total: How many machines the run moves.
        stream: Where to draw outside Jupyter (default ``sys.stderr``).
        notebook: Force (True) or refuse (False) the Jupyter display; None detects it.
        until: The stage the run was asked to reach.
        confirm_cutover: Whether the run may cut over.
        console: A ready ``rich.console.Console`` for the terminal display (tests give one of
            a fixed width); by default one on ``stream``, as wide as the terminal.
    """

    def __init__(
        self,
        total: int,
        *,
        stream: IO[str] | None = None,
        notebook: bool | None = None,
        until: Stage = Stage.COMPLETED,
        confirm_cutover: bool = True,
        console: Console | None = None,
    ) -> None:
        self.state = ProgressState(total, until=until, confirm_cutover=confirm_cutover)
        self._stream = stream if stream is not None else sys.stderr
        self._notebook = _in_notebook() if notebook is None else notebook
        self._console = console
        self._live: Live | None = None
        self._rerouted: list[tuple[logging.StreamHandler[Any], IO[str]]] = []
        self._handle: Any = None
        self._last = ""
        self._closed = False

    @property
    def total(self) -> int:
        """How many machines the run moves."""
        return self.state.total

    @property
    def interactive(self) -> bool:
        """True when drawing a live display in a terminal."""
        if self._notebook:
            return False
        if self._console is not None:
            return self._console.is_terminal
        return bool(getattr(self._stream, "isatty", lambda: False)())

    def seed(self, machines: Iterable[tuple[str, Stage, MachineStatus, float | None]]) -> None:
        """Start from the journal's state: ``(instance id, stage, status, percent)`` each."""
        for iid, stage, status, percent in machines:
            self.state.seed(iid, stage, status, percent)
        self._draw(changed=None)

    def __call__(self, event: MigrationEvent) -> None:
        """Take one event and redraw if something visible changed."""
        changed = self.state.take(event)
        self._draw(changed=event if changed else None)

    def line(self) -> str:
        """The current progress as one line of text."""
        return self.state.line()

    def render(self, width: int) -> Group:
        """The terminal display at ``width`` columns (a ``rich`` renderable)."""
        return Group(*render_lines(self.state, width))

    # -- drawing ---------------------------------------------------------------------------

    def _draw(self, *, changed: MigrationEvent | None) -> None:
        if self._closed:
            return
        if self._notebook:
            self._draw_notebook()
        elif self.interactive:
            self._draw_live()
        elif changed is not None:
            self._draw_line(changed)

    def _draw_line(self, event: MigrationEvent) -> None:
        at = event.at.strftime("%H:%M:%S")
        what = event.stage if event.kind is EventKind.STAGE_REACHED else event.kind.value
        text = f"{at}  {event.instance_id}: {what}  [{self.state.line()}]"
        self._stream.write(text + "\n")
        self._stream.flush()

    def _renderable(self) -> Group:
        console = self._live.console if self._live is not None else self._console
        width = console.width if console is not None else 80
        return self.render(width)

    def _draw_live(self) -> None:
        text = self.state.line() + str(self.state.elapsed())
        if self._live is not None and text == self._last:
            return
        self._last = text
        if self._live is None:
            console = self._console or Console(file=self._stream)
            self._live = Live(
                console=console,
                auto_refresh=False,
                transient=False,
                # Prints to a terminal go above the display; a piped stream stays as it is.
                redirect_stdout=_isatty(sys.stdout),
                redirect_stderr=_isatty(sys.stderr),
                get_renderable=self._renderable,
            )
            self._live.start()
            self._reroute_logging(console)
        self._live.refresh()

    def _reroute_logging(self, console: Console) -> None:
        """Send records of handlers that write to the terminal through the live display."""
        terminal = {id(s) for s in (self._stream, sys.stderr, sys.stdout) if s is not None}
        terminal |= {id(sys.__stderr__), id(sys.__stdout__)}
        seen: set[int] = set()
        for logger in (logging.getLogger(), logging.getLogger("ec2asr")):
            for handler in logger.handlers:
                if (
                    type(handler) is logging.StreamHandler
                    and id(handler) not in seen
                    and id(handler.stream) in terminal
                ):
                    seen.add(id(handler))
                    original = handler.stream
                    handler.setStream(FileProxy(console, original))
                    self._rerouted.append((handler, original))

    def _draw_notebook(self) -> None:
        from IPython.display import HTML, display  # type: ignore[import-not-found]

        body = render_html(self.state)
        if body == self._last:
            return
        self._last = body
        if self._handle is None:
            self._handle = display(HTML(body), display_id=True)
        else:
            self._handle.update(HTML(body))

    def close(self) -> None:
        """Leave the final state on screen and give logging its streams back."""
        if self._closed:
            return
        self._closed = True
        for handler, original in self._rerouted:
            handler.flush()
            handler.setStream(original)
        self._rerouted.clear()
        if self._live is not None:
            self._live.stop()
            self._live = None
