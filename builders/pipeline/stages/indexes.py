"""Stage ``indexes``: the statute catalog and the decontamination index the shards read.

Both are made once, on the driver, from the whole statute corpus and the benchmarks (whatever
``--only``/``--limit`` select), written into the work folder and loaded once per worker process.
``setup_cache.py`` keeps them between builds; a resumed build reuses the ones it already made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ... import console
from ...recipe import Recipe
from ..options import BuildOptions
from ..setup_cache import catalog_key, eval_index_key, materialize
from ..work import WorkFolder
from .plan import benchmark_fingerprint, decontaminate_params, uses_catalog

CATALOG = "catalog.pkl"
EVAL_INDEX = "eval_index.npz"


@dataclass(frozen=True)
class Indexes:
    #: the statute catalog citations are checked against (None: the recipe checks none)
    catalog: Path | None
    #: the decontamination index (None: the recipe does not decontaminate)
    eval_index: Path | None
    #: index -> taken from the cache shared between builds (for timings.json)
    cache_hits: dict[str, bool] = field(default_factory=dict)


class PrepareIndexes:
    """Makes (or takes from the cache) the indexes the recipe's steps need."""

    name: ClassVar[str] = "indexes"

    def run(self, opts: BuildOptions, work: WorkFolder) -> Indexes:
        recipe = opts.recipe
        hits: dict[str, bool] = {}
        catalog = None
        if uses_catalog(recipe):
            catalog = work.root / CATALOG
            if not (work.resumed and catalog.exists()):
                from ...citations import build_catalog

                with console.phase("statute catalog (citations are checked against it)"):
                    hits["catalog"] = materialize(
                        catalog,
                        "catalog",
                        catalog_key(recipe, opts.sources),
                        lambda path: build_catalog(recipe, opts.sources).save(path),
                    )
        eval_index = None
        if decontaminate_params(recipe) is not None:
            eval_index = work.root / EVAL_INDEX
            if not (work.resumed and eval_index.exists()):
                bench = opts.benchmarks_dir()
                with console.phase("decontamination index (LawBench and held-out items)"):
                    hits["eval_index"] = materialize(
                        eval_index,
                        "eval_index",
                        eval_index_key(recipe, opts.sources, benchmark_fingerprint(bench)),
                        lambda path: build_eval_index_for(recipe, opts.sources, bench).save(path),
                    )
        return Indexes(catalog=catalog, eval_index=eval_index, cache_hits=hits)


def build_eval_index_for(recipe: Recipe, sources: Path, benchmarks: Path) -> Any:
    """The decontamination index of a recipe: LawBench items and held-out source records, with
    statute and boilerplate shingles taken out (see builders/decontam.py)."""
    from ...decontam import (
        build_eval_index,
        held_out_items,
        lawbench_items,
        statute_shingles,
    )

    p = decontaminate_params(recipe)
    items = lawbench_items(benchmarks / "lawbench")
    if p.held_out_sources:
        items += held_out_items(recipe, sources)
    return build_eval_index(
        items,
        statute_shingles(recipe, sources, p.shingle_chars),
        shingle_chars=p.shingle_chars,
        min_coverage=p.min_coverage,
        min_shingles=p.min_shingles,
        min_shingles_held_out=p.min_shingles_held_out,
        max_item_share=p.max_item_share,
        paraphrase_jaccard=p.paraphrase_jaccard,
        paraphrase_min_chars=p.paraphrase_min_chars,
    )


_LOADED: dict[str, Any] = {}


def _load_once(path: Path | None, load: Any) -> Any:
    """A work-folder file (catalog, eval index) loaded once per worker process and file version."""
    if path is None:
        return None
    key = f"{path}:{Path(path).stat().st_mtime_ns}"
    if key not in _LOADED:
        for old in [k for k in _LOADED if k.startswith(f"{path}:")]:
            del _LOADED[old]
        _LOADED[key] = load(Path(path))
    return _LOADED[key]


def load_eval_index(path: Path | None) -> Any:
    """The decontamination index, loaded once per worker process."""
    from ...decontam import EvalIndex

    return _load_once(path, EvalIndex.load)


def load_catalog(path: Path | None) -> Any:
    """The statute catalog, loaded once per worker process (and made the active one)."""
    from ...citations import StatuteCatalog

    catalog = _load_once(path, StatuteCatalog.load)
    if catalog is not None:
        catalog.activate()
    return catalog
