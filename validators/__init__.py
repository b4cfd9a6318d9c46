"""Great Expectations validation of a lawset release (``lawset validate``)."""

from __future__ import annotations

from .config import ValidateError
from .runner import Outcome, format_table, validate_release

__all__ = ["Outcome", "ValidateError", "format_table", "validate_release"]
