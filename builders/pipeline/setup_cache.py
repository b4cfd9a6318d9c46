"""A cache, shared between builds, of the two indexes every build makes before its shards run.

The statute catalog (citations are checked against it) and the decontamination index (LawBench
and held-out records, statute shingles taken out) are read from the whole statute corpus and the
benchmarks, whatever ``--only``/``--limit`` select: about half a minute of fixed cost per build.
They depend only on

- the code that makes them (every file of the ``builders`` package: a code change invalidates),
- the recipe parts that feed them (statute and held-out source configs, ``mark_repealed`` rules,
  ``decontaminate`` parameters),
- the content fingerprints of the statute and held-out sources and of the benchmark files,

so they are stored under a key hashed from exactly those, in ``$LAWSET_CACHE_DIR`` (default
``$XDG_CACHE_HOME/lawset`` or ``~/.cache/lawset``). ``LAWSET_CACHE_DIR=off`` turns the cache off.
A cached file is copied into the build's work folder, so a build never reads a file another build
could replace under it; writes are atomic (temporary file + rename), so concurrent builds are safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from ..recipe import Recipe
from ..sources import ADAPTERS

PACKAGE = Path(__file__).resolve().parents[1]
#: cache entries kept per kind (catalog, eval_index)
KEEP = 4


def cache_dir() -> Path | None:
    """Where cached indexes live; None when ``LAWSET_CACHE_DIR=off``."""
    env = os.environ.get("LAWSET_CACHE_DIR")
    if env == "off":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "lawset"


@cache
def code_digest() -> str:
    """A hash of every file of the builders package (code, tables, recipes)."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE.rglob("*")):
        if p.is_file() and p.suffix in {".py", ".tsv", ".yaml", ".txt"}:
            h.update(p.relative_to(PACKAGE).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _source_prints(recipe: Recipe, sources: Path, which: Callable[[Any, Any], bool]) -> list:
    out = []
    for name, cfg in sorted(recipe.sources.items()):
        adapter = ADAPTERS[cfg.adapter]()
        if not which(adapter, cfg):
            continue
        fp = adapter.plan(name, cfg, sources / cfg.path, None).fingerprint
        out.append([name, cfg.model_dump(mode="json"), fp])
    return out


def _params(recipe: Recipe, step: str) -> list:
    return [s.build().params.model_dump(mode="json") for s in recipe.steps if s.name == step]


def catalog_key(recipe: Recipe, sources: Path) -> str:
    parts = [
        "catalog",
        code_digest(),
        _params(recipe, "mark_repealed"),
        _source_prints(recipe, sources, lambda a, c: a.statutes),
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:32]


def eval_index_key(recipe: Recipe, sources: Path, bench_prints: list[str]) -> str:
    parts = [
        "eval_index",
        code_digest(),
        _params(recipe, "decontaminate"),
        _source_prints(recipe, sources, lambda a, c: a.statutes or c.held_out != "none"),
        bench_prints,
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:32]


def materialize(target: Path, kind: str, key: str, make: Callable[[Path], None]) -> bool:
    """Put the index ``kind``/``key`` at ``target``: from the cache when there, else ``make`` it
    (``make(path)`` writes the file) and store a copy. Returns True on a cache hit."""
    root = cache_dir()
    cached = None if root is None else root / f"{kind}-{key}{target.suffix}"
    tmp = target.with_name(f"{target.stem}.tmp{target.suffix}")
    if cached is not None and cached.is_file():
        _link_or_copy(cached, tmp)
        os.replace(tmp, target)
        os.utime(cached)  # least recently used goes first when pruning
        return True
    make(tmp)
    os.replace(tmp, target)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            part = cached.with_name(f"{cached.name}.{os.getpid()}.part")
            _link_or_copy(target, part)
            os.replace(part, cached)
            _prune(cached.parent, kind)
        except OSError:
            pass  # a read-only or full cache disk costs speed, never the build
    return False


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link where possible (files are only ever replaced, never written in place, so a
    link stays valid), else a copy."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _prune(root: Path, kind: str) -> None:
    """Keep the KEEP most recently used entries of a kind (an eval index is ~170 MB)."""
    entries = sorted(root.glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
