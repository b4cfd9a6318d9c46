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
def phase(name: str, heartbeat_s: float = 10.0) -> Iterator[None]:
    """A status line for a phase that has no progress bar: ``name ...`` at the start, a
    heartbeat every ``heartbeat_s`` seconds while it runs, ``name: done in N s`` at the end."""
    if _level < NORMAL:
        yield
        return
    t0 = time.monotonic()
    print(f"lawset: {name} ...", file=sys.stderr, flush=True)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_s):
            print(
                f"lawset: {name} ... {time.monotonic() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    t = threading.Thread(target=beat, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
    print(f"lawset: {name}: done in {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
