"""The build's report: ``reports/stats.json`` and ``reports/contamination.json``.

``stats.json`` is the summary of what the stages did: the options and sources, the rows per
config and split, the mix tables, the general mix, held-out material and its twins, the files that
could not be used, then every step's counts (in pipeline order, then the release's ledgers) and
counters. Its values come from the stages' typed results; the counters are the steps' report.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from ... import __version__
from ...recipe import Recipe
from ..options import BuildOptions
from ..work import WorkFolder
from .indexes import EVAL_INDEX
from .mix import GeneralMix
from .plan import BuildPlan
from .release import ReleaseContext
from .shards import ShardResult
from .write import Written


class Report:
    """Writes ``stats.json`` and ``contamination.json``; returns the summary."""

    name: ClassVar[str] = "report"

    def run(
        self,
        opts: BuildOptions,
        plan: BuildPlan,
        work: WorkFolder,
        shards: list[ShardResult],
        release: ReleaseContext,
        mix: GeneralMix,
        written: Written,
    ) -> dict[str, Any]:
        recipe = opts.recipe
        held_out: Counter[str] = Counter()
        for s in shards:
            held_out.update(s.held_out_queries)
        stats = release.stats.to_dict()
        summary = {
            "lawset_version": __version__,
            "recipe": {"name": recipe.name, "sha256": recipe.digest()},
            "options": {"only": opts.only, "limit": opts.limit},
            "sources": plan.sources,
            "configs": {
                c: {s: v["rows"] for s, v in splits.items()}
                for c, splits in written.configs.items()
            },
            "mix": _sorted_mix(written.mixes["stage1"]),
            "stage2_mix": _sorted_mix(written.mixes["stage2"]),
            "rows_by_source_task": {
                src: dict(sorted(c.items()))
                for src, c in sorted(written.rows_by_source_task.items())
            },
            "general_mix": mix.report(written.mixes["stage1"].get("domain", Counter())["general"]),
            "held_out": {
                name: {
                    "policy": cfg.held_out,
                    "files": cfg.held_out_files or ["(whole source)"],
                    "queries_in_test": held_out[name],
                }
                for name, cfg in sorted(recipe.sources.items())
                if cfg.held_out != "none" and name in plan.sources
            },
            # Queries of other sources that share a group (the same exam question, the same case)
            # with held-out material, moved to test: per source.
            "held_out_twins": dict(sorted(written.twins["stage1"].items())),
            "problems": [
                {"source": p.source, "file": p.file, "reason": p.reason} for p in plan.problems
            ],
            **_in_pipeline_order(stats, ["read", *(s.name for s in recipe.steps)]),
        }
        reports = opts.out / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        items = sorted({i for s in shards for i in s.contamination_items})
        contamination = _contamination_report(
            stats["counters"], items, work.root / EVAL_INDEX, recipe
        )
        (reports / "contamination.json").write_text(
            json.dumps(contamination, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        summary["contamination"] = {
            k: contamination[k] for k in ("removed", "benchmarks") if k in contamination
        }
        (reports / "stats.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        return summary


def _contamination_report(
    counters: dict[str, dict[str, int]], items_hit: list[str], index_path: Path, recipe: Recipe
) -> dict[str, Any]:
    """reports/contamination.json: the rule, the index, and what was removed, per benchmark
    (from the decontaminate step's counters and the benchmark items the shards found)."""
    from ...decontam import EvalIndex, benchmark_of

    by_bench = counters.get("contamination", {})
    by_source_task: dict[str, dict[str, int]] = {}
    for key, n in counters.get("contamination_by_source_task", {}).items():
        src, task = key.split("/", 1)
        by_source_task.setdefault(src, {})[task] = n
    steps = recipe.steps_needing("eval_index")
    if not steps:
        return {"rule": None, "note": "the recipe has no decontaminate step: nothing was checked"}
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
