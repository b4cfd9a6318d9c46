"""Source adapters: one module per raw source family, found and registered automatically.

An adapter has two jobs. ``plan`` looks at the source folder once, cheaply, and cuts it into work
units (everything that must be seen together, e.g. all versions of one law), reporting files it
cannot use. ``read`` turns one unit into source records for the pipeline. Units are the grain of
sharding and of ``--limit`` sampling.

A new source is one module in this package (a class decorated with :func:`register_adapter`) and
one test; every module here is imported when the registry is first used.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import UsageError

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
    #: True for adapters whose records make the statute index (citations are checked against it).
    statutes: ClassVar[bool] = False

    def plan(
        self, source: str, cfg: SourceConfig, root: Path, limit: int | None
    ) -> SourcePlan:  # pragma: no cover - interface
        raise NotImplementedError

    def read(
        self, source: str, cfg: SourceConfig, root: Path, unit: dict[str, Any], ctx: Context
    ) -> Iterator[Record]:  # pragma: no cover - interface
        raise NotImplementedError


_REGISTRY: dict[str, type[SourceAdapter]] = {}


def register_adapter(cls: type[SourceAdapter]) -> type[SourceAdapter]:
    """Class decorator: make an adapter available to recipes under its ``name``."""
    if not cls.name or (cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls):
        raise ValueError(f"adapter name missing or registered twice: {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


class _Adapters(dict):
    """adapter name (as written in a recipe) -> class; fills itself on first use."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
                importlib.import_module(f"{__name__}.{mod.name}")
            self.update(_REGISTRY)
            type(self)._loaded = True

    def __getitem__(self, key: str) -> type[SourceAdapter]:
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self):  # noqa: ANN204
        self._load()
        return super().__iter__()

    def keys(self):  # noqa: ANN201
        self._load()
        return super().keys()

    def items(self):  # noqa: ANN201
        self._load()
        return super().items()


ADAPTERS: dict[str, type[SourceAdapter]] = _Adapters()


class EmptySourceError(UsageError):
    """A source of the recipe with nothing to read (exit 2) that the recipe does not mark
    ``optional: true``."""


def check_source_plan(name: str, cfg: SourceConfig, root: Path, plan: SourcePlan) -> None:
    """Raise :class:`EmptySourceError` when source ``name`` (folder ``root``) has no work unit
    (no folder, no matching file, every file unusable, a statute folder with no statute) and the
    recipe does not mark it ``optional: true``. An optional empty source builds as before: its
    problems go to the rejects."""
    if plan.units or cfg.optional:
        return
    shown = [p.message for p in plan.problems[:3]]
    if len(plan.problems) > 3:
        shown.append(f"and {len(plan.problems) - 3} more")
    found = "; ".join(shown) if shown else "no input file"
    raise EmptySourceError(
        f"source {name} ({cfg.adapter}, folder {cfg.path} under --sources: {root}) has nothing "
        f"to read: {found}. "
        f"Point sources.{name}.path (or --sources) at the source's folder, or mark the source "
        "`optional: true` in the recipe to build without it"
    )


def statute_articles(recipe: Any, sources_root: Path) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every article record of the recipe's statute sources (whatever ``--only`` selects), with
    whether its source is in simplified script: what the statute catalog, the decontamination
    index's statute shingles and the rewrite step's text store are each made from."""
    from ..pipeline.base import Context
    from ..recipe import resolve_source_path

    ctx = Context(-1)
    for name, cfg in sorted(recipe.sources.items()):
        adapter = ADAPTERS[cfg.adapter]()
        if not adapter.statutes:
            continue
        root = resolve_source_path(sources_root, name, cfg.path)
        simplified = cfg.script == "simplified"
        for unit in adapter.plan(name, cfg, root, None).units:
            for rec in adapter.read(name, cfg, root, unit, ctx):
                if rec.get("kind") == "article":
                    yield rec, simplified
