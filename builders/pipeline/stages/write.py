"""Stage ``write``: each sink's runs merged into the Hub layout, and ``manifest.json``.

Each config's runs are merged in key order (a k-way merge: memory is runs x one read batch); a
query row goes through the dedup and mix decisions (a dropped row goes to the release's rejects),
takes the split the split stage decides, and is written to
``data/<config>/<split>-0000k-of-0000N.parquet`` (zstd, at most ``execution.max_rows_per_file``
rows each). Nothing here reads the clock or a random source: same input, same bytes.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from ... import __version__
from ...manifest import sha256_file
from ..options import BuildOptions
from ..runs import HELD_OUT, KEY, merge_runs
from ..work import WorkFolder
from .plan import BuildPlan
from .release import Drop, ReleaseContext, RowFilter
from .shards import SINKS, ShardResult
from .split import SPLIT_ORDER, SplitRule

LIBRARIES = ("pyarrow", "datasets", "opencc", "pydantic", "jieba", "datasketch")
#: the sinks whose rows are queries (dedup, mix and the split rule apply); statutes are the rest
QUERY_SINKS = ("stage1", "stage2")


class SplitWriter:
    """Writes one split of one config as numbered parquet files of at most ``max_rows`` rows."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, max_rows: int) -> None:
        self.folder, self.split, self.schema, self.max_rows = folder, split, schema, max_rows
        self.buffer: list[dict[str, Any]] = []
        self.parts: list[Path] = []
        self.part_rows: list[int] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows_in_part = 0

    def add(self, row: dict[str, Any]) -> None:
        if self.writer is None:
            path = self.folder / f".{self.split}-{len(self.parts):05d}.parquet.tmp"
            self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
            self.parts.append(path)
            self.rows_in_part = 0
        self.buffer.append(row)
        self.rows_in_part += 1
        if len(self.buffer) >= 10_000:
            self._write()
        if self.rows_in_part >= self.max_rows:
            self._close_part()

    def _write(self) -> None:
        if self.buffer and self.writer is not None:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def _close_part(self) -> None:
        self._write()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.part_rows.append(self.rows_in_part)

    def finish(self) -> list[tuple[Path, int]]:
        """Close and rename the parts to their final ``-0000k-of-0000N`` names."""
        self._close_part()
        n = len(self.parts)
        out = []
        for k, (tmp, rows) in enumerate(zip(self.parts, self.part_rows, strict=True)):
            final = self.folder / f"{self.split}-{k:05d}-of-{n:05d}.parquet"
            os.replace(tmp, final)
            out.append((final, rows))
        return out


def _mix() -> defaultdict[str, Counter[str]]:
    return defaultdict(Counter)


@dataclass
class Written:
    """What the write stage put in the release (the manifest, and the report's mix tables)."""

    #: config -> split -> {"rows", "bytes", "files"}
    configs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: manifest ``files``: path, sha256, bytes, rows of every data file
    files: list[dict[str, Any]] = field(default_factory=list)
    #: query config -> field (task, level, source, domain, split, rewrite_model) -> value -> rows
    mixes: dict[str, defaultdict[str, Counter[str]]] = field(
        default_factory=lambda: {sink: _mix() for sink in QUERY_SINKS}
    )
    #: stage 1 rows per source and task
    rows_by_source_task: defaultdict[str, Counter[str]] = field(default_factory=_mix)
    #: query config -> source -> queries sent to test as twins of held-out material
    twins: dict[str, Counter[str]] = field(
        default_factory=lambda: {sink: Counter() for sink in QUERY_SINKS}
    )
    manifest: dict[str, Any] = field(default_factory=dict)


class Write:
    """Merges, filters, splits and writes every sink; then the manifest."""

    name: ClassVar[str] = "write"

    def __init__(self, filters: dict[str, list[RowFilter]], splits: SplitRule) -> None:
        #: per query sink, the decisions a row must pass, in order (each sink its own: a filter
        #: may follow the merge order, as the first-of-id one does)
        self.filters = filters
        self.splits = splits

    def run(
        self,
        opts: BuildOptions,
        plan: BuildPlan,
        work: WorkFolder,
        shards: list[ShardResult],
        release: ReleaseContext,
    ) -> Written:
        out, recipe = opts.out, opts.recipe
        written = Written()
        total = sum(s.rows[sink] for s in shards for sink in SINKS)
        bar = tqdm(
            total=total, desc="release", unit="row", disable=not opts.progress, file=sys.stderr
        )
        for sink, schema in SINKS.items():
            runs = [work.shard_folder(s.shard) / name for s in shards for name in s.runs[sink]]
            folder = out / "data" / sink
            folder.mkdir(parents=True, exist_ok=True)
            writers: dict[str, SplitWriter] = {}
            ledger = release.stats.step(f"write_{sink}")
            filters = self.filters.get(sink, [])
            for row in merge_runs(runs):
                bar.update(1)
                ledger["in"] += 1
                drop = _first_drop(filters, row)
                if drop is not None:
                    release.reject(sink, row, drop)
                    continue
                decision = self.splits.decide(sink, row, row.pop(HELD_OUT))
                row.pop(KEY)
                if sink in written.mixes:
                    self._count(written, sink, row, decision.split)
                    if decision.twin:
                        release.stats.count(f"held_out_twins_{sink}", row["source"])
                        written.twins[sink][row["source"]] += 1
                if decision.split not in writers:
                    writers[decision.split] = SplitWriter(
                        folder, decision.split, schema, recipe.execution.max_rows_per_file
                    )
                writers[decision.split].add(row)
                ledger["out"] += 1
            written.configs[sink] = {}
            for split in SPLIT_ORDER:
                if split in writers:
                    written.configs[sink][split] = self._finish(writers[split], out, written)
        bar.close()
        written.manifest = _manifest(opts, plan, written)
        (out / "manifest.json").write_text(
            json.dumps(written.manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        return written

    @staticmethod
    def _count(written: Written, sink: str, row: dict[str, Any], split: str) -> None:
        mix = written.mixes[sink]
        mix["task"][row["task"]] += 1
        mix["level"][row["level"]] += 1
        mix["source"][row["source"]] += 1
        mix["domain"][row["domain"]] += 1
        mix["split"][split] += 1
        if row.get("rewrite"):  # released rows an LLM rewrote, per model
            mix["rewrite_model"][row["rewrite"]["model"]] += 1
        if sink == "stage1":
            written.rows_by_source_task[row["source"]][row["task"]] += 1

    @staticmethod
    def _finish(writer: SplitWriter, out: Path, written: Written) -> dict[str, Any]:
        parts = writer.finish()
        entry: dict[str, Any] = {"rows": sum(r for _, r in parts), "bytes": 0, "files": []}
        for path, rows in parts:
            rel = path.relative_to(out).as_posix()
            size = path.stat().st_size
            entry["files"].append(rel)
            entry["bytes"] += size
            written.files.append(
                {"path": rel, "sha256": sha256_file(path), "bytes": size, "rows": rows}
            )
        return entry


def _first_drop(filters: list[RowFilter], row: dict[str, Any]) -> Drop | None:
    """The first decision that drops the row (every filter before it has seen the row)."""
    for f in filters:
        drop = f.verdict(row)
        if drop is not None:
            return drop
    return None


def _manifest(opts: BuildOptions, plan: BuildPlan, written: Written) -> dict[str, Any]:
    recipe = opts.recipe
    return {
        "name": recipe.release.name,
        "lawset_version": __version__,
        "recipe": {"name": recipe.name, "sha256": recipe.digest()},
        "options": {"only": opts.only, "limit": opts.limit},
        "sources": {
            name: {
                k: s[k] for k in ("adapter", "category", "path", "upstream", "commit", "license")
            }
            for name, s in plan.sources.items()
        },
        "configs": written.configs,
        "files": written.files,
        "libraries": {lib: _version(lib) for lib in LIBRARIES},
    }


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
