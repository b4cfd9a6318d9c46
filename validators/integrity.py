"""Checking a release's files against its ``manifest.json`` before any expectation runs.

``lawset build`` records the sha256 of every data file it writes. Expectations look at rows, not
bytes: one flipped byte that turns 本级 into 本纶 inside a compressed page passes every row check.
So ``lawset validate`` first re-hashes every file the manifest lists (always all of them, also
with ``--sample``: hashing runs at disk speed, far below the cost of one expectation suite) and
reads every parquet file through to its last page (a corrupt page or footer becomes a named
problem, never a traceback in the middle of the run). Any problem fails the validation before
Great Expectations starts.

Hashing runs in a few threads (``hashlib`` and pyarrow release the GIL on large buffers); the
bar counts bytes and shows only when the check takes more than two seconds.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lawset.builders import console

from .config import ValidateError

CHUNK = 1 << 20
#: the fix a user gets for a data file that is not what the build wrote
FIX = "rebuild, or restore it"


@dataclass
class FileCheck:
    """What the check of a release's files against its manifest found."""

    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 2**20 / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 2),
            "passed": not self.problems,
            "problems": self.problems,
        }


def listed_files(root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's ``files`` entries (``path``, ``sha256``), or ValidateError when the
    manifest does not list them as ``lawset build`` writes them."""
    files = manifest.get("files")
    ok = isinstance(files, list) and all(
        isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("sha256"), str)
        for f in files
    )
    if not ok:
        raise ValidateError(
            f"{root / 'manifest.json'}: no list of files with their sha256 (not written by "
            "lawset build, or edited): rebuild the release"
        )
    return files


def first_line(exc: BaseException) -> str:
    """An exception as ``Type: first line of its message``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def unreadable(path: Path) -> str:
    """Why ``path`` does not read as parquet through its last page ("" when it does)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        for k in range(pf.num_row_groups):
            pf.read_row_group(k, use_threads=False)  # the caller runs files in threads
    except (pa.ArrowException, OSError, ValueError) as exc:
        return first_line(exc)
    return ""


def _hash(path: Path, bar: Any) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if bar is not None:
                bar.update(len(chunk))
    return h.hexdigest()


def check_files(root: Path, manifest: dict[str, Any], threads: int | None = None) -> FileCheck:
    """Every file ``manifest.json`` lists, re-hashed and (parquet) read through; every data file
    in ``data/`` listed. Problems name the file (relative to ``root``) and the fix."""
    from tqdm import tqdm

    root = root.resolve()
    entries = listed_files(root, manifest)
    started = time.monotonic()
    out = FileCheck(files=len(entries))
    problems: dict[str, str] = {}
    todo: list[tuple[str, Path, str, int]] = []
    for e in entries:
        rel = e["path"]
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            problems[rel] = f"{rel}: listed in manifest.json but outside the release folder"
        elif not path.is_file():
            problems[rel] = f"{rel}: missing (listed in manifest.json); {FIX}"
        else:
            size = path.stat().st_size
            todo.append((rel, path, e["sha256"], size))
            out.bytes += size
    listed = {e["path"] for e in entries}
    for path in sorted((root / "data").glob("*/*.parquet")):
        rel = path.relative_to(root).as_posix()
        if rel not in listed:
            problems[rel] = (
                f"{rel}: not listed in manifest.json (lawset build did not write it): remove it, "
                "or rebuild"
            )

    workers = threads or min(
        4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    # the bar counts every byte twice: once hashed, once read through as parquet
    with tqdm(
        total=2 * out.bytes,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="sha256 + read",
        delay=2.0,
        file=sys.stderr,
        disable=not console.progress_enabled(),
    ) as bar:

        def one(item: tuple[str, Path, str, int]) -> tuple[str, str]:
            rel, path, want, size = item
            try:
                got = _hash(path, bar)
            except OSError as exc:
                return rel, f"{rel}: cannot be read ({exc.strerror or exc}); {FIX}"
            why = unreadable(path) if path.suffix == ".parquet" else ""
            bar.update(size)
            if got != want:
                also = f"; it does not read as parquet either ({why})" if why else ""
                return rel, (
                    f"{rel}: sha256 differs from manifest.json (the file changed after the "
                    f"build; {FIX}){also}"
                )
            if why:
                return rel, f"{rel}: not a readable parquet file ({why}); {FIX}"
            return rel, ""

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for rel, problem in pool.map(one, todo):
                if problem:
                    problems[rel] = problem
                else:
                    console.debug(f"  {rel}: sha256 matches manifest.json, reads as parquet")
    out.problems = [problems[k] for k in sorted(problems)]
    out.seconds = time.monotonic() - started
    return out
