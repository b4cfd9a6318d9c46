"""The two ways a release or a verification is refused: bad usage or input (exit 2), or data
that failed a check (exit 1); codes from the one map in :mod:`lawset.builders.errors`."""

from __future__ import annotations

from ..errors import EXIT_FAILED, CheckFailed, UsageError


class ReleaseError(UsageError):
    """A release or verification refused for bad usage or input (exit 2); the message names
    the option, file or folder and the fix."""


class ReleaseCheckFailed(ReleaseError, CheckFailed):
    """The data failed a check (exit 1): files that differ from their manifest, a failed
    validation, a certificate of other files, a release that no longer rebuilds."""

    exit_code = EXIT_FAILED
