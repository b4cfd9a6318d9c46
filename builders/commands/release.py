"""``lawset release``: freeze a validated candidate as version X.Y.Z, or ``--verify`` a release
(the steps: :mod:`lawset.builders.release`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import console
from ..errors import EXIT_FAILED, EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``lawset release`` to the CLI."""
    p = subparsers.add_parser(
        "release",
        help="freeze a validated candidate as version X.Y.Z (or --verify a release)",
        description=(
            "Release a validated candidate: check it (validated and passing, files as the "
            "manifest says, a new version), stamp the version into DIR (manifest.json, card with "
            "plots, recipe.yaml), commit DIR to the data repository and tag it vX.Y.Z, and write "
            "releases/vX.Y.Z.json and a releases/CHANGELOG.md entry into the project. With "
            "--verify X.Y.Z: rebuild that release from --sources with its recorded recipe and "
            "options and compare every file's sha256 with its manifest, and the data "
            "repository's tag too. Exit status: 0 ok; 1 a check failed (files differ from the "
            "manifest, a failed validation, a certificate of other files, --verify differs); 2 "
            "refused (an existing or older version, not validated or validated on other data, "
            "another recipe) or bad usage."
        ),
    )
    p.add_argument(
        "dir", nargs="?", type=Path, metavar="DIR", help="release candidate (lawset build --out)"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--version", dest="release_version", metavar="X.Y.Z", help="the new version")
    what.add_argument(
        "--verify", metavar="X.Y.Z", help="rebuild release X.Y.Z and compare checksums"
    )
    p.add_argument(
        "--project",
        type=Path,
        default=Path("."),
        help="the lawset project whose releases/ gets the manifest (default: the current folder)",
    )
    p.add_argument(
        "--data-repo",
        type=Path,
        help="git repository of the dataset (default: ../lawset-data beside the project; "
        "created when missing)",
    )
    p.add_argument(
        "--recipe",
        type=Path,
        help="recipe the candidate was built with (default: DIR/recipe.yaml or the built-in one)",
    )
    cert = p.add_mutually_exclusive_group()
    cert.add_argument(
        "--certificate",
        type=Path,
        help="certificate.json from lawset certify, to attach (default: "
        "DIR/../certificates/<DIR name>/certificate.json when it certifies DIR's files)",
    )
    cert.add_argument(
        "--no-certificate",
        action="store_true",
        help="attach no certificate, even when certify's default location holds one",
    )
    p.add_argument("--sources", type=Path, help="--verify: the raw sources folder (../shared/raw)")
    p.add_argument(
        "--benchmarks",
        type=Path,
        help="--verify: benchmarks folder (default: SOURCES/../benchmarks)",
    )
    p.add_argument("--workers", type=int, help="--verify: build worker processes")
    p.add_argument(
        "--rebuild-dir",
        type=Path,
        help="--verify: build here and keep it (default: a temporary folder, removed after)",
    )
    p.add_argument(
        "--reuse-rebuild",
        action="store_true",
        help="--verify: compare the build already in --rebuild-dir (e.g. made on another "
        "machine) instead of building again",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Release DIR as a version, or --verify a release; prints where everything went."""
    from ..release import ReleaseError, release, verify
    from ..release.changelog import CHANGELOG
    from ..release.versions import RELEASES, find_project, parse_version, version_str

    progress = console.progress_enabled(not args.no_progress)
    if args.verify:
        if args.dir is not None:
            raise ReleaseError("--verify takes no DIR: it rebuilds from --sources")
        problems, compared = verify(
            args.verify,
            args.sources,
            args.project,
            args.data_repo,
            args.benchmarks,
            args.workers,
            args.rebuild_dir,
            args.reuse_rebuild,
            progress=progress,
        )
        tag = f"v{version_str(parse_version(args.verify))}"
        if problems:
            print(f"verify {tag}: FAILED, {len(problems)} file(s) differ:")
            for p in problems:
                print(f"  DIFFERS {p}")
            return EXIT_FAILED
        print(
            f"verify {tag}: passed: {compared} reproducible files rebuilt byte-identical, and "
            "the data repository's tag holds exactly the manifest's files"
        )
        return EXIT_OK
    if args.dir is None:
        raise ReleaseError("give the release candidate folder: lawset release DIR --version X.Y.Z")
    out = release(
        args.dir,
        args.release_version,
        args.project,
        args.data_repo,
        args.recipe,
        args.certificate,
        progress=progress,
        no_certificate=args.no_certificate,
    )
    project = find_project(args.project)
    ch = out["changes"]["rows"]
    added = sum(e.get("added", 0) for s in ch.values() for e in s.values())
    removed = sum(e.get("removed", 0) for s in ch.values() for e in s.values())
    print(f"released {args.dir} as {out['tag']}:")
    print(f"  manifest:  {project / RELEASES / (out['tag'] + '.json')}")
    print(
        f"  changelog: {project / RELEASES / CHANGELOG} "
        f"(vs {('v' + out['previous']) if out['previous'] else 'nothing: first release'}: "
        f"+{added:,} / -{removed:,} rows)"
    )
    print(
        f"  data repo: {(project / out['data_repo']['path']).resolve()} commit "
        f"{out['data_repo']['commit'][:12]}, tag {out['tag']}"
    )
    print(f"  card:      {args.dir / 'README.md'} (plots in {args.dir / 'reports' / 'plots'})")
    cert = out["certification"]
    print(
        f"  certificate: {args.dir / cert['file']} (sha256 {cert['sha256'][:12]})"
        if cert
        else "  certificate: none attached"
    )
    print(
        f"  files:     {len(out['files'])} released, {sum(f['bytes'] for f in out['files']):,} bytes"
    )
    return EXIT_OK
