"""``lawset lawbench score PRED_DIR``: LawBench-compatible scoring of model predictions (the
rules: :mod:`lawset.sft.lawbench`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import EXIT_OK, EXIT_USAGE


def register(subparsers: Any) -> None:
    """Add ``lawset lawbench score PRED_DIR [--json]``."""
    parser = subparsers.add_parser(
        "lawbench",
        help="LawBench-compatible scoring of model predictions",
        description="LawBench-compatible scoring (rules of open-compass/LawBench, reimplemented).",
    )
    sub = parser.add_subparsers(dest="lawbench_command", metavar="COMMAND", required=True)
    score = sub.add_parser(
        "score",
        help="score a folder of LawBench prediction files",
        description=(
            "Score a folder of LawBench prediction files (<task>.json, a JSON object keyed "
            '"0".."499" of {origin_prompt, prediction, refr}) with LawBench\'s rules: per-task '
            "score and abstention rate (0..1), the mean per cognitive level and the overall mean "
            "over the tasks present. Task 2-1 (ChERRANT F0.5) is reported as unsupported. "
            "Exit status: 0 scored, 2 missing folder, no task files or a malformed file."
        ),
    )
    score.add_argument("pred_dir", type=Path, metavar="PRED_DIR", help="folder of <task>.json")
    score.add_argument(
        "--json", action="store_true", help="print the result as JSON on stdout (else a table)"
    )
    score.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    """Score a folder of prediction files; print the table (or JSON) on stdout."""
    from lawset.sft.lawbench import LawBenchFormatError, score_folder, score_table

    try:
        result = score_folder(args.pred_dir)
    except (FileNotFoundError, LawBenchFormatError) as exc:
        print(f"lawset lawbench score: error: {exc}", file=sys.stderr)
        print(
            "Fix: pass a folder of LawBench prediction files <task>.json, each a JSON object "
            'keyed "0".."499" of {"origin_prompt", "prediction", "refr"}.',
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(score_table(result, args.pred_dir))
    print(f"scored {len(result['tasks'])} task(s) from {args.pred_dir}", file=sys.stderr)
    return EXIT_OK
