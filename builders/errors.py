"""One error-to-exit-code map for every ``lawset`` command.

======  =====================================================================================
code    meaning
======  =====================================================================================
0       done
1       a check failed (a validate expectation, a file that differs from its manifest, a
        ``--verify`` mismatch, a certificate checksum)
2       bad usage or input: the message names the option, file or record and the fix
3       an external service failed (the Hugging Face Hub, a rewrite server)
4       an unexpected error: one line on stderr plus the path of a log with the traceback
======  =====================================================================================

Commands raise :class:`LawsetError` subclasses (or their own exceptions, which subclass one of
them); :func:`run_command` turns every exception into one line on stderr and the code above. No
command prints a Python traceback for an OS error (permissions, disk full, network).
"""

from __future__ import annotations

import errno
import os
import re
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_EXTERNAL = 3
EXIT_INTERNAL = 4

#: the exit-code table as the README prints it (tests check the README against it)
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_FAILED: "a check failed",
    EXIT_USAGE: "bad usage or input (the message names it and the fix)",
    EXIT_EXTERNAL: "an external service failed (Hub, rewrite server)",
    EXIT_INTERNAL: "unexpected error (one line plus the path of a log with the traceback)",
}


class LawsetError(Exception):
    """An error a user can act on: its message names the file, option or record and the fix."""

    exit_code = EXIT_USAGE


class UsageError(LawsetError):
    """Bad options, arguments or input files (exit 2)."""

    exit_code = EXIT_USAGE


class CheckFailed(LawsetError):
    """A check failed (exit 1)."""

    exit_code = EXIT_FAILED


class ExternalServiceError(LawsetError):
    """An external service (Hub, rewrite server) failed or could not be reached (exit 3)."""

    exit_code = EXIT_EXTERNAL


_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.ETIMEDOUT,
}


def _is_network(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | socket.gaierror | socket.timeout):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    names = {c.__name__ for c in type(exc).__mro__}
    # requests / httpx / urllib3 errors without importing them
    return bool(
        names
        & {
            "ConnectionError",
            "ConnectTimeout",
            "ReadTimeout",
            "Timeout",
            "NewConnectionError",
            "MaxRetryError",
            "ConnectError",
            "TimeoutException",
            "NetworkError",
            "OfflineModeIsEnabled",
        }
    )


def describe_os_error(exc: OSError) -> str:
    """One line for an OS error: what failed, on which path, and what to do."""
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    what = exc.strerror or str(exc) or type(exc).__name__
    head = f"{where}: {what}" if where else what
    fixes = {
        errno.ENOSPC: "free some space and run the same command again (a build resumes)",
        errno.EACCES: "check the permissions of that path, or choose another one",
        errno.EPERM: "check the permissions of that path, or choose another one",
        errno.EROFS: "the file system is read-only; choose a writable folder",
        errno.ENOENT: "check the path",
        errno.EISDIR: "a folder was given where a file is expected",
        errno.ENOTDIR: "a file was given where a folder is expected",
    }
    fix = fixes.get(exc.errno) if exc.errno is not None else None
    if fix is None and "No space left" in what:
        fix = fixes[errno.ENOSPC]
    return f"{head}; {fix}" if fix else head


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an exception under the table above."""
    if isinstance(exc, LawsetError):
        return exc.exit_code
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    if _is_network(exc):
        return EXIT_EXTERNAL
    if isinstance(exc, OSError):
        return EXIT_USAGE
    return EXIT_INTERNAL


def log_dir() -> Path:
    """Where tracebacks of unexpected errors go: ``$LAWSET_LOG_DIR``, else ``~/.cache/lawset/
    logs``, else the system's temporary folder."""
    env = os.environ.get("LAWSET_LOG_DIR")
    candidates = [Path(env).expanduser()] if env else []
    candidates.append(Path.home() / ".cache" / "lawset" / "logs")
    candidates.append(Path(tempfile.gettempdir()) / "lawset-logs")
    for c in candidates:
        try:
            c.mkdir(parents=True, exist_ok=True)
            if os.access(c, os.W_OK):
                return c
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def write_crash_log(command: str, exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to a log file; its path, or None."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = log_dir() / f"lawset-{command or 'main'}-{stamp}-{os.getpid()}.log"
    try:
        text = "".join(traceback.format_exception(exc))
        text = _scrub(f"lawset {command}: {' '.join(sys.argv[1:])}\n{text}")
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")


def _scrub(text: str) -> str:
    """``text`` without the ``user:password@`` part of any URL in it (secrets never reach
    output or logs)."""
    return _USERINFO.sub(r"\1", text)


def one_line(exc: BaseException) -> str:
    """The message of an exception on one line (OS errors described with their fix)."""
    if isinstance(exc, OSError) and not isinstance(exc, LawsetError):
        msg = describe_os_error(exc)
    else:
        msg = str(exc) or type(exc).__name__
    return msg


def run_command(
    command: str, func: Callable[[], int], scrub: Callable[[str], str] | None = None
) -> int:
    """Run a command's handler; turn any exception into one line on stderr and an exit code."""
    prog = f"lawset {command}".rstrip()
    clean = scrub or _scrub
    try:
        return int(func())
    except KeyboardInterrupt:
        print(f"{prog}: interrupted (a build resumes when rerun)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one place that maps every error
        code = exit_code_for(exc)
        if code == EXIT_INTERNAL:
            log = write_crash_log(command, exc)
            where = f"; traceback in {log}" if log else ""
            print(
                clean(f"{prog}: unexpected error: {type(exc).__name__}: {one_line(exc)}{where}"),
                file=sys.stderr,
            )
            return code
        msg = one_line(exc)
        if code == EXIT_EXTERNAL and not isinstance(exc, LawsetError):
            msg = f"cannot reach an external service ({type(exc).__name__}): {msg}"
        print(clean(f"{prog}: {msg}"), file=sys.stderr)
        return code


def add_verbosity(parser: Any) -> None:
    """``--quiet`` / ``--verbose`` on a command's parser (every command has them)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors and where output went"
    )
    g.add_argument("-v", "--verbose", action="store_true", help="print details of every phase")


__all__ = [
    "EXIT_CODES",
    "EXIT_EXTERNAL",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "CheckFailed",
    "ExternalServiceError",
    "LawsetError",
    "UsageError",
    "add_verbosity",
    "describe_os_error",
    "exit_code_for",
    "run_command",
]
