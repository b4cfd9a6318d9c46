"""The ``lawset`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__, console
from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_verbosity, run_command
from .rewrite.options import add_build_options, apply_build_options

#: modules that add commands: each has ``register(subparsers)``, which adds its parsers with
#: ``set_defaults(func=handler)``; ``handler(args) -> int`` returns the exit status.
COMMAND_MODULES: list[str] = [
    ".versions",
    ".publish",
    "lawset.sft.lawbench",
    "lawset.sft.certify",
]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lawset",
        description="Build, validate and release a Chinese legal instruction-tuning dataset.",
    )
    p.add_argument("--version", action="version", version=f"lawset {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    b = sub.add_parser(
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
    v = sub.add_parser(
        "validate",
        help="run the Great Expectations gate on a release candidate",
        description=(
            "Validate a release candidate with Great Expectations: schema, text quality, answer "
            "formats, citations, provenance and diversity per config and split, duplicates "
            "across splits and benchmark contamination. Writes Data Docs and validation.json to "
            "DIR/reports/validation/. Every file is first re-hashed against manifest.json. Exit "
            "status: 0 passed, 1 an expectation failed or a file differs from manifest.json or "
            "does not read, 2 usage error (not a release, bad recipe or thresholds), 4 an "
            "unexpected error."
        ),
    )
    v.add_argument("dir", type=Path, metavar="DIR", help="a release built by lawset build")
    v.add_argument(
        "--sample",
        type=int,
        help="validate about N rows per config and split (deterministic, by id hash)",
    )
    v.add_argument(
        "--recipe", type=Path, help="recipe YAML the release was built with (default: built-in)"
    )
    v.add_argument(
        "--thresholds",
        type=Path,
        help="YAML overriding keys of the shipped validators/thresholds.yaml",
    )
    v.add_argument(
        "--workers", type=int, default=1, help="processes validating files in parallel (default 1)"
    )
    for module in COMMAND_MODULES:
        importlib.import_module(module, __package__).register(sub)
    return p


def _build(args: argparse.Namespace) -> int:
    from .pipeline.executor import BuildError, BuildOptions, build
    from .recipe import RecipeError, load_recipe

    if args.limit is not None and args.limit < 1:
        print("lawset build: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.workers is not None and args.workers < 1:
        print("lawset build: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        recipe = apply_build_options(args, load_recipe(args.recipe))
        only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
        summary = build(
            BuildOptions(
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
    except (RecipeError, BuildError) as exc:
        print(f"lawset build: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.filename is None and "No space left" in str(exc):  # say where it was writing
            raise OSError(exc.errno or 28, "No space left on device", str(args.out)) from exc
        raise
    _report(args.out, summary)
    return EXIT_OK


def _report(out: Path, summary: dict) -> None:
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


def _validate(args: argparse.Namespace) -> int:
    from lawset.validators import ValidateError, format_table, validate_release

    try:
        outcome = validate_release(
            args.dir,
            recipe_path=args.recipe,
            thresholds_path=args.thresholds,
            sample=args.sample,
            workers=args.workers,
        )
    except ValidateError as exc:
        print(f"lawset validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(format_table(outcome, args.dir))
    return EXIT_OK if outcome.passed else EXIT_FAILED


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every (sub)command parser below ``parser``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sp in action.choices.values():
                found.append(sp)
                found += _subparsers(sp)
    return found


def resolve_paths(args: argparse.Namespace) -> None:
    """Every path argument resolved (``~``, relative to the working folder, symlinks) before use."""
    for name, value in vars(args).items():
        if isinstance(value, Path):
            setattr(args, name, value.expanduser().resolve())
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            setattr(args, name, [v.expanduser().resolve() for v in value])


def parser() -> argparse.ArgumentParser:
    """The whole command line: every command, each with ``--quiet``/``--verbose``."""
    p = _parser()
    for sp in _subparsers(p):
        if not any("--quiet" in a.option_strings for a in sp._actions):
            add_verbosity(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    console.set_level(getattr(args, "quiet", False), getattr(args, "verbose", False))
    command = " ".join(
        x for x in (args.command, getattr(args, "subcommand", None)) if isinstance(x, str)
    )

    def handle() -> int:
        resolve_paths(args)
        if args.command == "build":
            return _build(args)
        if args.command == "validate":
            return _validate(args)
        if getattr(args, "func", None) is not None:
            return int(args.func(args))
        p.print_help()
        return EXIT_USAGE

    return run_command(command, handle)


if __name__ == "__main__":
    sys.exit(main())
