"""What commands print: one verbosity level for the whole process (``--quiet``/``--verbose``),
status lines for phases without a progress bar, and whether progress bars are drawn.

Messages go to stderr; the summary of where output went goes to stdout (printed by the commands).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

QUIET, NORMAL, VERBOSE = 0, 1, 2
_level = NORMAL


def set_level(quiet: bool = False, verbose: bool = False) -> None:
    """Set the process's verbosity from a command's ``--quiet``/``--verbose``."""
    global _level
    _level = QUIET if quiet else VERBOSE if verbose else NORMAL


def level() -> int:
    return _level


def progress_enabled(requested: bool = True) -> bool:
    """Progress bars are drawn unless ``--quiet`` (or ``--no-progress``, passed as requested)."""
    return requested and _level > QUIET


def info(msg: str) -> None:
    """A message a user should see (not with ``--quiet``)."""
    if _level >= NORMAL:
        print(f"lawset: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    """A warning: printed even with ``--quiet``."""
    print(f"lawset: {msg}", file=sys.stderr, flush=True)


def debug(msg: str) -> None:
    """A detail for ``--verbose``."""
    if _level >= VERBOSE:
        print(f"lawset: {msg}", file=sys.stderr, flush=True)


@contextmanager
def phase(name: str, after_s: float = 2.0, heartbeat_s: float = 10.0) -> Iterator[None]:
    """A status line for a phase that has no progress bar: ``name ...`` once it has run for
    ``after_s`` seconds (at once with ``--verbose``), a heartbeat every ``heartbeat_s`` seconds
    after that, and ``name: done in N s`` at the end of a phase that said something."""
    if _level < NORMAL:
        yield
        return
    t0 = time.monotonic()
    said = threading.Event()
    stop = threading.Event()

    def say(text: str) -> None:
        said.set()
        print(f"lawset: {text}", file=sys.stderr, flush=True)

    def beat() -> None:
        if stop.wait(0 if _level >= VERBOSE else after_s):
            return
        say(f"{name} ...")
        while not stop.wait(heartbeat_s):
            say(f"{name} ... {time.monotonic() - t0:.0f} s")

    t = threading.Thread(target=beat, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
    if said.is_set():
        say(f"{name}: done in {time.monotonic() - t0:.1f} s")
