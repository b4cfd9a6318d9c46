"""The candidate writer: merge the shards' sorted runs into the Hub layout.

Writes ``data/<config>/<split>-0000k-of-0000N.parquet`` (rows ordered by key, exact duplicate ids
dropped), ``reports/stats.json``, ``reports/rejects/<step>.jsonl``, ``manifest.json`` and the dataset
card ``README.md``. Nothing here reads the clock or a random source: same input, same bytes.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from .. import __version__
from ..manifest import sha256_file
from ..schema import stable_hash
from .base import Stats
from .runs import KEY, SPLIT, merge_runs

if TYPE_CHECKING:
    from .executor import BuildOptions, BuildPlan

SPLIT_ORDER = ("train", "validation", "test")
LIBRARIES = ("pyarrow", "datasets", "opencc", "pydantic", "jieba", "datasketch")


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


class RejectSink:
    """``reports/rejects/<step>.jsonl``: every dropped record or unusable file, with its reason."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Any] = {}

    def write_line(self, step: str, line: str) -> None:
        if step not in self.files:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.files[step] = open(self.folder / f"{step}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self.files[step].write(line if line.endswith("\n") else line + "\n")

    def write(self, row: dict[str, Any]) -> None:
        self.write_line(row["step"], json.dumps(row, ensure_ascii=False, sort_keys=True))

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def write_release(
    opts: BuildOptions,
    plan: BuildPlan,
    work: Path,
    markers: list[dict[str, Any]],
    drops: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    from ...cards.render import render_card
    from .executor import SINKS
    from .outdir import OutputFolder

    out, recipe = opts.out, opts.recipe
    stats = Stats()
    for m in markers:
        stats.merge(m["stats"])
    for p in plan.problems:
        stats.drop("read", p.reason)

    OutputFolder(out).clear_previous()  # only the files an earlier build wrote
    rejects = RejectSink(out / "reports" / "rejects")
    for p in plan.problems:
        rejects.write(
            {
                "step": "read",
                "reason": p.reason,
                "source": p.source,
                "file": p.file,
                "message": p.message,
            }
        )
    for m in markers:
        path = work / "shards" / f"{m['shard']:05d}" / "rejects.jsonl"
        if path.exists():
            with open(path, encoding="utf-8") as f:
                for line in f:
                    rejects.write_line(json.loads(line)["step"], line)

    configs: dict[str, dict[str, dict[str, Any]]] = {}
    files: list[dict[str, Any]] = []
    mixes: dict[str, dict[str, Counter[str]]] = {
        "stage1": defaultdict(Counter),
        "stage2": defaultdict(Counter),
    }
    by_source_task: dict[str, Counter[str]] = defaultdict(Counter)
    general = _general_mix(stats, recipe.mix.general_ratio)
    held_out_groups: set[str] = set()
    for m in markers:
        path = work / "shards" / f"{m['shard']:05d}" / "held_out_groups.txt"
        if path.exists():
            held_out_groups.update(path.read_text("utf-8").split("\n"))
    held_out_groups.discard("")
    total = sum(m["rows"][s] for m in markers for s in SINKS)
    bar = tqdm(total=total, desc="release", unit="row", disable=not opts.progress, file=sys.stderr)
    for sink, schema in SINKS.items():
        runs = [
            work / "shards" / f"{m['shard']:05d}" / name
            for m in markers
            for name in m["runs"][sink]
        ]
        folder = out / "data" / sink
        folder.mkdir(parents=True, exist_ok=True)
        writers: dict[str, SplitWriter] = {}
        stats.step(f"write_{sink}")
        prev = None
        for row in merge_runs(runs):
            bar.update(1)
            stats.step(f"write_{sink}")["in"] += 1
            if sink in mixes:
                if row["id"] == prev:
                    stats.drop(f"write_{sink}", "duplicate_id")
                    if sink == "stage1":  # stage 2 rows are stage 1 rows: kept once
                        rejects.write(
                            {
                                "step": "dedup_exact",
                                "reason": "duplicate_id",
                                "record": {k: v for k, v in row.items() if not k.startswith("__")},
                            }
                        )
                    continue
                prev = row["id"]
                dup = (drops or {}).get(row["id"])
                if dup is not None:
                    if sink == "stage1":
                        stats.drop("dedup", dup["reason"])
                    stats.drop(f"write_{sink}", dup["reason"])
                    if sink == "stage1":
                        rejects.write(
                            {
                                "step": "dedup",
                                "reason": dup["reason"],
                                "kept": dup["kept"],
                                "jaccard": dup["jaccard"],
                                "record": {k: v for k, v in row.items() if not k.startswith("__")},
                            }
                        )
                    continue
                if row["domain"] == "general" and not general.keeps(row["id"]):
                    stats.drop(f"write_{sink}", "over_general_ratio")
                    rejects.write(
                        {
                            "step": "mix_general",
                            "reason": "over_general_ratio",
                            "record": {k: v for k, v in row.items() if not k.startswith("__")},
                        }
                    )
                    continue
                if row[SPLIT] != "test" and row["group"] in held_out_groups:
                    row[SPLIT] = "test"  # a twin of held-out evaluation material
                    stats.count(f"held_out_twins_{sink}", row["source"])
                mix = mixes[sink]
                mix["task"][row["task"]] += 1
                mix["level"][row["level"]] += 1
                mix["source"][row["source"]] += 1
                mix["domain"][row["domain"]] += 1
                mix["split"][row[SPLIT]] += 1
                if row.get("rewrite"):  # released rows an LLM rewrote, per model
                    mix["rewrite_model"][row["rewrite"]["model"]] += 1
                if sink == "stage1":
                    by_source_task[row["source"]][row["task"]] += 1
                    if row["domain"] == "general":
                        general.kept += 1
            split = row.pop(SPLIT)
            row.pop(KEY)
            if split not in writers:
                writers[split] = SplitWriter(
                    folder, split, schema, recipe.execution.max_rows_per_file
                )
            writers[split].add(row)
            stats.step(f"write_{sink}")["out"] += 1
        configs[sink] = {}
        for split in SPLIT_ORDER:
            if split not in writers:
                continue
            parts = writers[split].finish()
            entry = {"rows": sum(r for _, r in parts), "bytes": 0, "files": []}
            for path, rows in parts:
                rel = path.relative_to(out).as_posix()
                size = path.stat().st_size
                entry["files"].append(rel)
                entry["bytes"] += size
                files.append(
                    {"path": rel, "sha256": sha256_file(path), "bytes": size, "rows": rows}
                )
            configs[sink][split] = entry
    bar.close()
    rejects.close()

    summary = {
        "lawset_version": __version__,
        "recipe": {"name": recipe.name, "sha256": recipe.digest()},
        "options": {"only": opts.only, "limit": opts.limit},
        "sources": plan.sources,
        "configs": {c: {s: v["rows"] for s, v in splits.items()} for c, splits in configs.items()},
        "mix": _sorted_mix(mixes["stage1"]),
        "stage2_mix": _sorted_mix(mixes["stage2"]),
        "rows_by_source_task": {
            src: dict(sorted(c.items())) for src, c in sorted(by_source_task.items())
        },
        "general_mix": general.report(),
        "held_out": {
            name: {
                "policy": cfg.held_out,
                "files": cfg.held_out_files or ["(whole source)"],
                "queries_in_test": stats.counters.get("held_out_test", {}).get(name, 0),
            }
            for name, cfg in sorted(recipe.sources.items())
            if cfg.held_out != "none" and name in plan.sources
        },
        # Queries of other sources that share a group (the same exam question, the same case)
        # with held-out material, moved to test: per source.
        "held_out_twins": dict(sorted(stats.counters.get("held_out_twins_stage1", {}).items())),
        "problems": [
            {"source": p.source, "file": p.file, "reason": p.reason} for p in plan.problems
        ],
        **_in_pipeline_order(stats.to_dict(), ["read", *(s.name for s in recipe.steps)]),
    }
    reports = out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    contamination = _contamination_report(summary, work, recipe)
    (reports / "contamination.json").write_text(
        json.dumps(contamination, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    summary["contamination"] = {
        k: contamination[k] for k in ("removed", "benchmarks") if k in contamination
    }
    (reports / "stats.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    manifest = {
        "name": recipe.release.name,
        "lawset_version": __version__,
        "recipe": summary["recipe"],
        "options": summary["options"],
        "sources": {
            name: {
                k: s[k] for k in ("adapter", "category", "path", "upstream", "commit", "license")
            }
            for name, s in plan.sources.items()
        },
        "configs": configs,
        "files": files,
        "libraries": {lib: _version(lib) for lib in LIBRARIES},
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "README.md").write_text(render_card(manifest, summary, recipe), encoding="utf-8")
    return summary


def _contamination_report(summary: dict[str, Any], work: Path, recipe: Any) -> dict[str, Any]:
    """reports/contamination.json: the rule, the index, and what was removed, per benchmark."""
    from ..decontam import EvalIndex, benchmark_of

    counters = summary.get("counters", {})
    items_hit = counters.pop("contamination_items", {})
    by_bench = counters.get("contamination", {})
    by_source_task: dict[str, dict[str, int]] = {}
    for key, n in counters.get("contamination_by_source_task", {}).items():
        src, task = key.split("/", 1)
        by_source_task.setdefault(src, {})[task] = n
    steps = recipe.steps_needing("eval_index")
    if not steps:
        return {"rule": None, "note": "the recipe has no decontaminate step: nothing was checked"}
    index_path = work / "eval_index.npz"
    index_stats = EvalIndex.load(index_path).stats if index_path.exists() else {}
    benchmarks: dict[str, dict[str, int]] = {}
    for bench, n in index_stats.get("items_by_benchmark", {}).items():
        benchmarks[bench] = {
            "items": n,
            "items_too_short_to_check": index_stats.get("unindexable_by_benchmark", {}).get(
                bench, 0
            ),
            "items_hit": 0,
            "records_removed": by_bench.get(bench, 0),
        }
    for item in items_hit:
        b = benchmarks.setdefault(
            benchmark_of(item), {"items": 0, "items_hit": 0, "records_removed": 0}
        )
        b["items_hit"] += 1
    return {
        "rule": steps[0].build().params.model_dump(),
        "index": {k: v for k, v in index_stats.items() if not k.endswith("_by_benchmark")},
        "benchmarks": dict(sorted(benchmarks.items())),
        "removed": {
            "total": sum(by_bench.values()),
            "by_source_task": dict(sorted(by_source_task.items())),
        },
    }


class _GeneralMix:
    """Samples general-domain rows down (by id hash) to the recipe's share of stage 1."""

    def __init__(self, legal: int, general: int, ratio: float) -> None:
        self.legal, self.general, self.ratio = legal, general, ratio
        want = ratio / (1 - ratio) * legal if ratio < 1 else general
        # With no legal queries (a general-only build) there is nothing to mix with: keep all.
        self.p = 1.0 if general == 0 or legal == 0 or want >= general else want / general
        self.kept = 0

    def keeps(self, row_id: str) -> bool:
        return self.p >= 1.0 or stable_hash("mix\x1f" + row_id) / 2**64 < self.p

    def report(self) -> dict[str, Any]:
        total = self.legal + self.kept
        share = self.kept / total if total else 0.0
        out = {
            "target_share": self.ratio,
            "general_available": self.general,
            "general_kept": self.kept,
            "sample_rate": round(self.p, 6),
            "share": round(share, 4),
        }
        if self.general and share + 0.02 < self.ratio:
            out["note"] = (
                f"not enough general data for a {self.ratio:.0%} share: all {self.general:,} "
                f"general queries are in, {share:.1%} of stage 1"
            )
        return out


def _general_mix(stats: Stats, ratio: float) -> _GeneralMix:
    rows = stats.counters.get("stage1_rows", {})
    legal = sum(n for k, n in rows.items() if not k.startswith("general:"))
    general = sum(n for k, n in rows.items() if k.startswith("general:"))
    return _GeneralMix(legal, general, ratio)


def _sorted_mix(mix: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {k: dict(sorted(v.items())) for k, v in sorted(mix.items())}


def _in_pipeline_order(stats: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Steps listed in the order they ran (then the write steps), reasons sorted."""
    rank = {n: i for i, n in enumerate(names)}
    steps = sorted(stats["steps"].items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    stats["steps"] = {
        name: {**s, "dropped": dict(sorted(s["dropped"].items()))} for name, s in steps
    }
    return stats


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
