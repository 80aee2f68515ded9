"""Training progress on stderr: a bar on a terminal, an occasional plain line elsewhere."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _bar(share: float, width: int = 24) -> str:
    filled = int(width * min(share, 1.0))
    return "#" * filled + "." * (width - filled)


class _Line:
    """A line on ``stream`` that may be redrawn in place (``drawn``) and is cleared at ``close``."""

    def close(self):
        """Clear the bar, so the summary that follows starts on a clean line."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class Progress(_Line):
    """Shows epoch, loss and time left; ``update(epoch, loss)`` may be called as often as wanted.

    On a terminal it redraws one line in place at most ``redraw`` times a second, and only
    once the run has lasted ``delay`` seconds, so short runs show nothing. Off a terminal it
    writes a plain line every ``interval`` seconds: no carriage returns, no escape codes.
    """

    def __init__(
        self, max_epochs: int, first=0, stream=None, interactive=None, interval=10.0, delay=0.5, redraw=10, starts=1
    ):
        self.stream = stream or sys.stderr
        self.starts = starts  # trained one after another, each up to max_epochs
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.max_epochs, self.first = max_epochs, first  # first: the epoch this run starts from
        self.interval = interval if not self.interactive else 1.0 / redraw
        self.started = time.monotonic()
        self.next_at = self.started + (delay if self.interactive else interval)
        self.drawn = False

    def update(self, epoch: int, loss: float, start=None):
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.interval
        elapsed = now - self.started
        done, total = (start or 0) * self.max_epochs + epoch, self.starts * self.max_epochs
        left = elapsed / max(done - self.first, 1) * (total - done)
        text = f"epoch {epoch:,}/{self.max_epochs:,}  SSR {loss:.6g}  {_duration(elapsed)}"
        if self.starts > 1:  # numbered from 0, as the summary's "best of 3 starts: start 1" and the result's best_start
            text = f"start {start or 0} of {self.starts}  {text}"
        if self.interactive:
            bar = _bar(done / max(total, 1))
            self.stream.write(f"\r[{bar}] {text}, at most {_duration(left)} left\x1b[K")
            self.drawn = True
        else:
            self.stream.write(f"{text} elapsed, at most {_duration(left)} left\n")
        self.stream.flush()


class Reading(_Line):
    """A bar for a long read, ``reading(done, total)`` with byte counts: drawn only on a
    terminal, and only once the read has lasted ``delay`` seconds; nothing elsewhere."""

    def __init__(self, name: str, stream=None, interactive=None, delay=1.0, redraw=10):
        self.name, self.stream = name, stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.started = time.monotonic()
        self.next_at, self.interval = self.started + delay, 1.0 / redraw
        self.drawn = False

    def __call__(self, done: int, total: int):
        now = time.monotonic()
        if not self.interactive or now < self.next_at or not total:
            return
        self.next_at = now + self.interval
        share = min(done / total, 1.0)
        bar = _bar(share)
        left = _duration((now - self.started) / max(share, 1e-9) * (1 - share))
        self.stream.write(f"\r[{bar}] reading {self.name}: {share:.0%} of {total / 1e6:,.0f} MB, {left} left\x1b[K")
        self.stream.flush()
        self.drawn = True
