"""Source adapters: one module per raw source family, registered here by adapter name.

An adapter has two jobs. ``plan`` looks at the source folder once, cheaply, and cuts it into work
units (everything that must be seen together, e.g. all versions of one law), reporting files it
cannot use. ``read`` turns one unit into source records for the pipeline. Units are the grain of
sharding and of ``--limit`` sampling.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..pipeline.base import Context, Record
    from ..recipe import SourceConfig


@dataclass
class Problem:
    """A file (or folder) of a source that could not be used, with the reason and the fix."""

    source: str
    file: str
    reason: str
    message: str


@dataclass
class SourcePlan:
    units: list[dict[str, Any]]
    problems: list[Problem] = field(default_factory=list)
    #: what identifies the input (file hashes): part of the build's fingerprint for resuming.
    fingerprint: list[str] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


class SourceAdapter:
    name: ClassVar[str] = ""

    def plan(
        self, source: str, cfg: SourceConfig, root: Path, limit: int | None
    ) -> SourcePlan:  # pragma: no cover - interface
        raise NotImplementedError

    def read(
        self, source: str, cfg: SourceConfig, root: Path, unit: dict[str, Any], ctx: Context
    ) -> Iterator[Record]:  # pragma: no cover - interface
        raise NotImplementedError


from .lawrefbook import LawRefBookAdapter  # noqa: E402  (adapters import the classes above)

#: adapter name (as written in a recipe) -> class. A new source: one module and one line here.
ADAPTERS: dict[str, type[SourceAdapter]] = {cls.name: cls for cls in (LawRefBookAdapter,)}
