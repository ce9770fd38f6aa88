"""A progress display that works in a terminal and in Jupyter, fed by migration events."""

from __future__ import annotations

import html
import sys
from collections import Counter
from typing import IO, Any

from ec2asr.events import EventKind, MigrationEvent

__all__ = ["ProgressBar"]

_WIDTH = 24


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class ProgressBar:
    """An event callback that draws one line of progress per update.

    In a terminal it rewrites one line on stderr (``\\r``); when the stream is not a terminal it
    prints a line only when a machine changes stage; in Jupyter it updates one HTML output.

    Args:
        total: How many machines the run moves (the denominator).
        stream: Where to draw in a terminal (default ``sys.stderr``).
        notebook: Force (True) or refuse (False) the Jupyter display; None detects it.
    """

    def __init__(
        self, total: int, *, stream: IO[str] | None = None, notebook: bool | None = None
    ) -> None:
        self.total = total
        self._stream = stream if stream is not None else sys.stderr
        self._notebook = _in_notebook() if notebook is None else notebook
        self._stages: dict[str, str] = {}
        self._percent: dict[str, float] = {}
        self._failed: set[str] = set()
        self._waiting: set[str] = set()
        self._handle: Any = None
        self._last = ""

    def __call__(self, event: MigrationEvent) -> None:
        """Take one event and redraw if something visible changed."""
        iid = event.instance_id
        changed_stage = False
        if iid is not None:
            if event.kind is EventKind.STAGE_REACHED and event.stage:
                changed_stage = self._stages.get(iid) != event.stage
                self._stages[iid] = event.stage
                self._waiting.discard(iid)
                self._failed.discard(iid)
            elif event.kind is EventKind.PROGRESS and "percent" in event.data:
                self._percent[iid] = float(event.data["percent"])
            elif event.kind is EventKind.FAILED:
                changed_stage = iid not in self._failed
                self._failed.add(iid)
            elif event.kind is EventKind.ACTION_REQUIRED:
                self._waiting.add(iid)
        self._draw(force_line=changed_stage)

    def line(self) -> str:
        """The current progress as one line of text."""
        done = sum(1 for s in self._stages.values() if s == "completed")
        frac = done / self.total if self.total else 1.0
        filled = round(frac * _WIDTH)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        counts = Counter(self._stages.values())
        parts = [f"[{bar}] {done}/{self.total} completed"]
        replicating = [
            self._percent.get(i, 0.0) for i, s in self._stages.items() if s == "replicating"
        ]
        if replicating:
            avg = sum(replicating) / len(replicating)
            parts.append(f"replicating {len(replicating)} (avg {avg:.0f}%)")
        for stage in ("protected", "test-migrated", "test-cleaned-up", "failed-over", "committed"):
            if counts.get(stage):
                parts.append(f"{stage} {counts[stage]}")
        if self._waiting:
            parts.append(f"waiting {len(self._waiting)}")
        if self._failed:
            parts.append(f"failed {len(self._failed)}")
        return " | ".join(parts)

    def _draw(self, *, force_line: bool) -> None:
        text = self.line()
        if text == self._last:
            return
        self._last = text
        if self._notebook:
            self._draw_notebook(text)
        elif getattr(self._stream, "isatty", lambda: False)():
            self._stream.write("\r" + text.ljust(100))
            self._stream.flush()
        elif force_line:
            self._stream.write(text + "\n")
            self._stream.flush()

    def _draw_notebook(self, text: str) -> None:
        from IPython.display import HTML, display  # type: ignore[import-not-found]

        body = HTML(f"<pre>{html.escape(text)}</pre>")
        if self._handle is None:
            self._handle = display(body, display_id=True)
        else:
            self._handle.update(body)

    def close(self) -> None:
        """End the line in a terminal."""
        if not self._notebook and getattr(self._stream, "isatty", lambda: False)():
            self._stream.write("\n")
            self._stream.flush()
