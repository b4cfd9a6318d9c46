"""``lawset build``: raw sources -> a release candidate in Hub layout."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import console
from ..errors import EXIT_OK, UsageError
from ..rewrite.options import add_build_options, apply_build_options


def register(subparsers: Any) -> None:
    """Add ``lawset build``."""
    b = subparsers.add_parser(
        "build",
        help="run the pipeline: raw sources -> release candidate in Hub layout",
        description=(
            "Run the pipeline over the raw sources and write a release candidate: "
            "data/<config>/<split>-*.parquet, README.md (dataset card), manifest.json and "
            "reports/ (stats.json, rejects/). An interrupted build resumes when rerun with the "
            "same arguments."
        ),
    )
    b.add_argument("--sources", required=True, type=Path, help="raw sources folder (../shared/raw)")
    b.add_argument("--out", required=True, type=Path, help="output folder (new, or a lawset build)")
    b.add_argument("--recipe", type=Path, help="recipe YAML (default: the built-in default recipe)")
    b.add_argument(
        "--only",
        help="comma-separated source categories to build: laws, cases, exam, qa, general",
    )
    b.add_argument(
        "--limit",
        type=int,
        help="deterministic sample of N units per source (laws: N statute files), for quick runs",
    )
    b.add_argument("--workers", type=int, help="worker processes (default: the recipe's, 1)")
    b.add_argument(
        "--benchmarks",
        type=Path,
        help="benchmarks folder for decontamination (default: SOURCES/../benchmarks, i.e. "
        "../shared/benchmarks)",
    )
    b.add_argument(
        "--keep-work", action="store_true", help="keep OUT/.lawset-work (shards, markers) after"
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_build_options(b)
    b.add_argument(
        "--executor",
        choices=("local", "ray"),
        help="where the shards and dedup run: local worker processes, or Ray tasks (needs "
        "pip install 'lawset[ray]'; same output files). Default: the recipe's, local",
    )
    b.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --executor ray: the Ray cluster to join (the address `ray start --head` "
        "prints, or auto); without it a private local Ray is started. Sources and --out must be "
        "on storage every node sees (docs/ray.md)",
    )
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the candidate; RecipeError and BuildError (exit 2) name the option or file."""
    from ..pipeline import executor
    from ..recipe import load_recipe

    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    try:
        recipe = apply_build_options(args, load_recipe(args.recipe))
        only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
        summary = executor.build(
            executor.BuildOptions(
                sources=args.sources,
                out=args.out,
                recipe=recipe,
                only=only,
                limit=args.limit,
                workers=args.workers,
                progress=console.progress_enabled(not args.no_progress),
                keep_work=args.keep_work,
                benchmarks=args.benchmarks,
                executor=args.executor,
                ray_address=args.ray_address,
            )
        )
    except OSError as exc:
        if exc.filename is None and "No space left" in str(exc):  # say where it was writing
            raise OSError(exc.errno or 28, "No space left on device", str(args.out)) from exc
        raise
    report(args.out, summary)
    return EXIT_OK


def report(out: Path, summary: dict) -> None:
    """Where the candidate went, rows per config and split, and what was dropped, on stdout."""
    if summary.get("up_to_date"):
        print(f"release candidate in {out}/ is up to date (nothing rebuilt)")
    else:
        print(f"release candidate written to {out}/")
    if console.level() == console.QUIET:
        print(f"stats: {out}/reports/stats.json   manifest: {out}/manifest.json")
        return
    for config, splits in summary["configs"].items():
        rows = ", ".join(f"{s} {n:,}" for s, n in splits.items())
        print(f"  data/{config}/  {rows}")
    dropped = [
        (step, reason, n)
        for step, s in summary["steps"].items()
        for reason, n in sorted(s["dropped"].items())
    ]
    if dropped:
        print(f"dropped (kept with reasons in {out}/reports/rejects/):")
        for step, reason, n in dropped:
            print(f"  {step:24s} {reason:30s} {n:>9,}")
    unusable = sum(summary["steps"].get("read", {}).get("dropped", {}).values())
    if unusable:
        print(
            f"{unusable} source files or records could not be used: see "
            f"{out}/reports/rejects/read.jsonl"
        )
        for p in [p for p in summary["problems"] if not p["reason"].startswith("duplicate")][:5]:
            print(f"  {p['file']}: {p['reason']}")
    note = summary.get("general_mix", {}).get("note")
    if note:
        print(f"general data: {note}")
    print(
        f"stats: {out}/reports/stats.json   card: {out}/README.md   manifest: {out}/manifest.json"
    )
    if not summary.get("up_to_date"):
        print(f"time: {summary['timings']['total_s']:.1f} s")
