"""``lawset validate``: the Great Expectations gate on a release candidate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import EXIT_FAILED, EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``lawset validate``."""
    v = subparsers.add_parser(
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
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate and print the table; ValidateError (exit 2) names the option or file."""
    from lawset.validators import format_table, validate_release

    outcome = validate_release(
        args.dir,
        recipe_path=args.recipe,
        thresholds_path=args.thresholds,
        sample=args.sample,
        workers=args.workers,
    )
    print(format_table(outcome, args.dir))
    return EXIT_OK if outcome.passed else EXIT_FAILED
