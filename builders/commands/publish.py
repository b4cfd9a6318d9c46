"""``lawset publish DIR --repo ORG/NAME``: upload a release to the Hugging Face Hub and tag it
(the operations and re-runs: :mod:`lawset.builders.publish`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import EXIT_FAILED, EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``lawset publish`` to the CLI."""
    p = subparsers.add_parser(
        "publish",
        help="upload a release to the Hugging Face Hub and tag it vX.Y.Z",
        description=(
            "Upload a released folder (lawset release DIR --version X.Y.Z) to a Hugging Face Hub "
            "dataset repository and tag the commit vX.Y.Z: create_repo (exist_ok), upload_folder "
            "(the released files; remote files not in the release are deleted), create_tag. "
            "A re-run after an interruption completes without a duplicate commit. Token from "
            "HF_TOKEN or the huggingface_hub login cache (never printed); endpoint from "
            "HF_ENDPOINT. Exit status: 0 ok; 1 the data differs from the manifest; 2 refused "
            "before anything is sent (not released, bad --repo, no token, the tag exists with "
            "other files); 3 the Hub could not be reached or answered an error."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a released folder")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="Hub dataset repository")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--dry-run", action="store_true", help="print the operations; send nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Publish (or, with --dry-run, print the operations) and say where the release went."""
    from ..publish import publish

    out = publish(args.dir, args.repo, private=args.private, dry_run=args.dry_run)
    if out.get("dry_run"):
        return EXIT_OK
    if not out["tagged"]:
        print(f"{args.repo}: {out['tag']} is already published with these files; nothing sent")
        return EXIT_OK
    what = "uploaded" if out["uploaded"] else "main already held these files (no new commit)"
    print(
        f"published {args.dir} to {out['url']}: {what}; commit {out['commit'][:12]}, tag {out['tag']}"
    )
    print(f'  load it: load_dataset("{args.repo}", "stage1", revision="{out["tag"]}")')
    return EXIT_OK if out["commit"] else EXIT_FAILED
