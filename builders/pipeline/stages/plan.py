"""Stage ``plan``: which work units of which sources this build reads, and its fingerprint.

The fingerprint hashes lawset's version, the recipe digest, ``--only``/``--limit``, every selected
source's content fingerprint (and the statute sources' when citations are checked against them,
even when ``--only`` leaves them out) and the benchmarks when the recipe decontaminates. A build
with the same fingerprint is the same build: it resumes, or is up to date.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ... import __version__
from ...recipe import CATEGORIES, Recipe, resolve_source_path
from ...sources import ADAPTERS, Problem, check_source_plan
from ..options import BuildError, BuildOptions

#: one work unit: (source name, the adapter's unit: a file or a slice of one, with its ``key``)
Unit = tuple[str, dict[str, Any]]


@dataclass
class BuildPlan:
    units: list[Unit]
    #: files of the selected sources that cannot be used (reported under the ``read`` step)
    problems: list[Problem]
    fingerprint: str
    #: source name -> its recipe entry, unit count and the adapter's counters (for the report)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)


class Plan:
    """Reads and fingerprints the sources (``--only``/``--limit`` applied)."""

    name: ClassVar[str] = "plan"
    status: ClassVar[str] = "plan (reading and fingerprinting the sources)"

    def run(self, opts: BuildOptions) -> BuildPlan:
        return make_plan(opts)


def selected_sources(recipe: Recipe, only: list[str] | None) -> list[str]:
    if only is None:
        return sorted(recipe.sources)
    bad = [c for c in only if c not in CATEGORIES]
    if bad:
        raise BuildError(
            f"--only: unknown categor{'ies' if len(bad) > 1 else 'y'} {', '.join(bad)}; "
            f"use names of the sources tree's folders: {', '.join(CATEGORIES)}"
        )
    names = sorted(n for n, s in recipe.sources.items() if s.category in only)
    if not names:
        have = sorted({s.category for s in recipe.sources.values()})
        raise BuildError(
            f"--only {','.join(only)}: the recipe has no source of that category "
            f"(it has: {', '.join(have)})"
        )
    return names


def make_plan(opts: BuildOptions) -> BuildPlan:
    if not opts.sources.is_dir():
        raise BuildError(f"--sources {opts.sources}: folder not found (point it at ../shared/raw)")
    recipe = opts.recipe
    units: list[Unit] = []
    problems: list[Problem] = []
    prints: list[Any] = [__version__, recipe.digest(), opts.only, opts.limit]
    sources: dict[str, dict[str, Any]] = {}
    selected = selected_sources(recipe, opts.only)
    for name in sorted(recipe.sources):
        cfg = recipe.sources[name]
        adapter = ADAPTERS[cfg.adapter]()
        root = resolve_source_path(opts.sources, name, cfg.path)  # confined to --sources
        if name not in selected:
            if adapter.statutes and uses_catalog(recipe):  # citations are checked against it
                sp = adapter.plan(name, cfg, root, None)
                check_source_plan(name, cfg, root, sp)
                prints.append([name, "catalog", sp.fingerprint])
            continue
        sp = adapter.plan(name, cfg, root, opts.limit)
        check_source_plan(name, cfg, root, sp)
        units += [(name, u) for u in sp.units]
        problems += sp.problems
        prints.append([name, sp.fingerprint])
        sources[name] = {**cfg.model_dump(), "units": len(sp.units), **sp.counters}
    if not units:
        detail = "; ".join(p.message for p in problems[:3])
        raise BuildError(f"nothing to build: no usable input found. {detail}")
    if decontaminate_params(recipe) is not None:
        bench = opts.benchmarks_dir()
        if not (bench / "lawbench" / "data" / "zero_shot").is_dir():
            raise BuildError(
                f"--benchmarks {bench}: no lawbench/data/zero_shot there; point --benchmarks at "
                "../shared/benchmarks (decontamination is a gate: the recipe's decontaminate step "
                "needs it)"
            )
        prints.append(["benchmarks", benchmark_fingerprint(bench)])
    digest = hashlib.sha256(json.dumps(prints, ensure_ascii=False).encode()).hexdigest()
    return BuildPlan(units=units, problems=problems, fingerprint=digest, sources=sources)


def uses_catalog(recipe: Recipe) -> bool:
    return recipe.needs("catalog")


def decontaminate_params(recipe: Recipe) -> Any:
    steps = recipe.steps_needing("eval_index")
    return steps[0].build().params if steps else None


def benchmark_fingerprint(root: Path) -> list[str]:
    from ...decontam import LAWBENCH

    bench = root / LAWBENCH.name if (root / LAWBENCH.name).is_dir() else root
    return [
        f"{p.relative_to(root).as_posix()}:{hashlib.sha256(p.read_bytes()).hexdigest()}"
        for p in sorted(bench.glob("data/*/*.json"))
    ]
