"""``lawset publish DIR --repo ORG/NAME``: upload a release to the Hugging Face Hub and tag it.

The folder must be released (``lawset release`` stamped ``manifest.json`` with
``release.version``) and intact (every data file matches its sha256). The operations are
huggingface_hub's own, in this order:

1. ``create_repo(repo_id, repo_type="dataset", private=..., exist_ok=True)``;
2. ``upload_folder(...)`` of exactly the released files (the same list ``lawset release`` commits
   to the data repository, :func:`lawset.builders.versions.released_files`), with
   ``delete_patterns="*"`` so that the Hub's tree mirrors the release (files of an earlier
   version that this one no longer has are deleted; the Hub keeps ``.gitattributes``);
3. ``create_tag("vX.Y.Z", revision=<that commit>)``.

Re-runs: before uploading, the remote state is read (``list_repo_refs``, ``list_repo_tree``). A tag
that already holds exactly these files means the release is published: nothing is sent. A tag
with other files is refused (versions are immutable). When ``main`` already holds exactly these
files (an earlier run uploaded, then died before tagging), the upload is skipped and only the tag
is created; partial uploads are completed by ``upload_folder`` itself, which skips files whose
remote oid already matches. So an interrupted publish, run again, completes without a duplicate
commit.

Token: ``HF_TOKEN`` or huggingface_hub's login cache (``huggingface_hub.get_token()``); it is
handed to ``HfApi`` and never printed, logged or written (error messages are scrubbed of it too).
The endpoint is huggingface_hub's (``HF_ENDPOINT``, read when huggingface_hub is imported).
``--dry-run`` prints the exact operations and sends nothing.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path
from typing import Any

from .versions import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ReleaseError,
    check_integrity,
    git_blob_sha1,
    load_manifest,
    released_files,
    sha256_file,
)

REPO_TYPE = "dataset"
KEEP_REMOTE = (".gitattributes",)


class PublishError(ReleaseError):
    """A publish that cannot go on; ``code`` is the exit status."""


def release_plan(root: Path) -> dict[str, Any]:
    """What a publish of ``root`` uploads: version, tag and files (path, bytes, sha256, git oid)."""
    if not root.is_dir():
        raise PublishError(f"{root}: no such folder", EXIT_USAGE)
    manifest = load_manifest(root)
    release = manifest.get("release") or {}
    if not release.get("version"):
        raise PublishError(
            f"{root}: not released (manifest.json has no release.version): run "
            f"`lawset release {root} --version X.Y.Z` first"
        )
    problems = check_integrity(root, manifest)
    if problems:
        raise PublishError(
            f"{root}: the data differs from manifest.json:\n  " + "\n  ".join(problems)
        )
    files = []
    for rel in released_files(root):
        p = root / rel
        files.append(
            {
                "path": rel,
                "bytes": p.stat().st_size,
                "sha256": sha256_file(p),
                "git_oid": git_blob_sha1(p),
            }
        )
    return {
        "version": release["version"],
        "tag": release.get("tag", f"v{release['version']}"),
        "files": files,
    }


def _same_files(remote: list[Any], files: list[dict[str, Any]]) -> bool:
    """Does a remote tree (``list_repo_tree`` entries) hold exactly ``files``?"""
    got = {}
    for entry in remote:
        if not hasattr(entry, "blob_id") or entry.path in KEEP_REMOTE:
            continue  # folders; the Hub's own .gitattributes
        lfs = getattr(entry, "lfs", None)
        got[entry.path] = ("sha256", lfs.sha256) if lfs is not None else ("git", entry.blob_id)
    if set(got) != {f["path"] for f in files}:
        return False
    return all(
        got[f["path"]][1] == (f["sha256"] if got[f["path"]][0] == "sha256" else f["git_oid"])
        for f in files
    )


def _operations(root: Path, repo: str, private: bool, plan: dict[str, Any]) -> list[str]:
    files = plan["files"]
    message = f"lawset release {plan['tag']}"
    return [
        f'1. create_repo(repo_id="{repo}", repo_type="{REPO_TYPE}", private={private}, '
        "exist_ok=True)",
        f'2. upload_folder(folder_path="{root}", repo_id="{repo}", repo_type="{REPO_TYPE}", '
        f'revision="main", commit_message="{message}", allow_patterns=<the {len(files)} files '
        'below>, delete_patterns="*")  # skipped when main already holds exactly these files; '
        "remote files not listed are deleted (.gitattributes is kept)",
        *(f"    {f['path']}  {f['bytes']:,} bytes  sha256 {f['sha256']}" for f in files),
        f'3. create_tag(repo_id="{repo}", repo_type="{REPO_TYPE}", tag="{plan["tag"]}", '
        f'tag_message="{message}", revision=<the commit upload_folder made or found>)  '
        "# nothing at all is sent when the tag already holds exactly these files",
    ]


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def publish(root: Path, repo: str, private: bool = False, dry_run: bool = False) -> dict[str, Any]:
    """Publish the released folder ``root`` to the Hub dataset repository ``repo``."""
    import huggingface_hub
    from huggingface_hub import HfApi, constants

    if repo.count("/") != 1 or not all(repo.split("/")):
        raise PublishError(f"--repo {repo!r}: expected ORG/NAME", EXIT_USAGE)
    plan = release_plan(root)
    endpoint = constants.ENDPOINT
    if dry_run:
        if os.environ.get("HF_TOKEN"):
            source = "HF_TOKEN"
        elif huggingface_hub.get_token():
            source = "the login cache"
        else:
            source = "nowhere (none found: a real run would stop)"
        print(
            f"lawset publish: dry run, nothing is sent. Endpoint {endpoint}; token from {source}."
        )
        print("Operations, in order:")
        for line in _operations(root, repo, private, plan):
            print(line)
        return {"dry_run": True, **plan}
    token = huggingface_hub.get_token()
    if not token:
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN, or log in once with `hf auth login`", EXIT_USAGE
        )
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=endpoint, token=token)
    tag, files = plan["tag"], plan["files"]
    message = f"lawset release {tag}"
    try:
        url = api.create_repo(repo, repo_type=REPO_TYPE, private=private, exist_ok=True)
        refs = api.list_repo_refs(repo, repo_type=REPO_TYPE)
        tags = {t.name: t.target_commit for t in refs.tags}
        if tag in tags:
            remote = list(
                api.list_repo_tree(repo, revision=tag, repo_type=REPO_TYPE, recursive=True)
            )
            if not _same_files(remote, files):
                raise PublishError(
                    f"{repo} already has a tag {tag} with other files: a version is never "
                    "changed; release a new version"
                )
            return {
                "url": str(url),
                "commit": tags[tag],
                "tag": tag,
                "uploaded": False,
                "tagged": False,
            }
        main = {b.name: b.target_commit for b in refs.branches}.get("main")
        remote = (
            list(api.list_repo_tree(repo, revision="main", repo_type=REPO_TYPE, recursive=True))
            if main
            else []
        )
        uploaded = not (main and _same_files(remote, files))
        if uploaded:
            info = api.upload_folder(
                folder_path=root,
                repo_id=repo,
                repo_type=REPO_TYPE,
                revision="main",
                commit_message=message,
                allow_patterns=[glob.escape(f["path"]) for f in files],
                delete_patterns="*",
            )
            commit = info.oid
        else:
            commit = main
        api.create_tag(repo, tag=tag, tag_message=message, revision=commit, repo_type=REPO_TYPE)
    except HfHubHTTPError as exc:
        raise PublishError(f"the Hub refused: {_scrub(str(exc), token)}") from None
    except ValueError as exc:  # the Hub's verdict on README.md's metadata, among others
        raise PublishError(f"the Hub refused: {_scrub(str(exc), token)}") from None
    except OSError as exc:  # connection refused, DNS, timeouts (httpx errors are OSErrors or not)
        raise PublishError(f"cannot reach {endpoint}: {_scrub(str(exc), token)}") from None
    return {"url": str(url), "commit": commit, "tag": tag, "uploaded": uploaded, "tagged": True}


def _handle(args: argparse.Namespace) -> int:
    try:
        out = publish(args.dir, args.repo, private=args.private, dry_run=args.dry_run)
    except ReleaseError as exc:
        print(f"lawset publish: {exc}", file=sys.stderr)
        return exc.code
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
            "HF_ENDPOINT. Exit status: 0 ok, 1 refused or failed, 2 usage error."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a released folder")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="Hub dataset repository")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--dry-run", action="store_true", help="print the operations; send nothing")
    p.set_defaults(func=_handle)


__all__ = ["EXIT_FAILED", "PublishError", "publish", "register", "release_plan"]
