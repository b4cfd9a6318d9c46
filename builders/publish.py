"""``lawset publish DIR --repo ORG/NAME``: upload a release to the Hugging Face Hub and tag it.

The folder must be released (``lawset release`` stamped ``manifest.json`` with
``release.version``) and intact (every data file matches its sha256). The operations are
huggingface_hub's own, in this order:

1. ``create_repo(repo_id, repo_type="dataset", private=..., exist_ok=True)``;
2. ``upload_folder(...)`` of exactly the released files (the same list ``lawset release`` commits
   to the data repository, :func:`lawset.builders.release.files.released_files`), with
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

Exit status (:mod:`lawset.builders.errors`): 0 published (or already published); 1 the folder's
data differs from its manifest; 2 refused before anything is sent (not a released folder, a bad
``--repo``, no token, a tag on the Hub that holds other files); 3 the Hub could not be reached
(network, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE=1``) or answered an error (the HTTP status, what to do,
and whether anything was uploaded: a rerun completes an interrupted publish).
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Any

from . import console
from .errors import EXIT_EXTERNAL, ExternalServiceError, exit_code_for
from .manifest import check_integrity, load_manifest, sha256_file
from .release.datarepo import git_blob_sha1
from .release.errors import ReleaseCheckFailed, ReleaseError
from .release.files import released_files

REPO_TYPE = "dataset"
KEEP_REMOTE = (".gitattributes",)


class PublishError(ReleaseError):
    """A publish refused before anything is sent (exit 2): the message names the fix."""


class HubError(PublishError, ExternalServiceError):
    """The Hub could not be reached or answered an error (exit 3)."""

    exit_code = EXIT_EXTERNAL


#: what to do about an HTTP status of the Hub
HTTP_FIXES = {
    400: "the Hub refused the request: check the dataset card's YAML front matter (README.md)",
    401: "the token was refused: set HF_TOKEN to a valid token (or log in with `hf auth login`)",
    403: "the token may not write to {repo}: use a token with write access to {org}",
    404: "{repo} or the endpoint was not found: check --repo and HF_ENDPOINT",
    409: "the repository changed while publishing: run the same command again",
    412: "the repository changed while publishing: run the same command again",
    429: "the Hub is rate-limiting this token: wait a few minutes and run the same command again",
}


def release_plan(root: Path) -> dict[str, Any]:
    """What a publish of ``root`` uploads: version, tag and files (path, bytes, sha256, git oid)."""
    if not root.is_dir():
        raise PublishError(f"{root}: no such folder")
    manifest = load_manifest(root)
    release = manifest.get("release") or {}
    if not release.get("version"):
        raise PublishError(
            f"{root}: not released (manifest.json has no release.version): run "
            f"`lawset release {root} --version X.Y.Z` first"
        )
    with console.phase(f"checking {root}'s files against manifest.json"):
        problems = check_integrity(root, manifest)
    if problems:
        raise ReleaseCheckFailed(
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
    """``text`` without the token and without any ``user:password@`` of a URL."""
    text = re.sub(r"//[^/@\s]+@", "//", text)
    return text.replace(token, "***") if token else text


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_repo_id(repo: str) -> None:
    """``ORG/NAME`` as the Hub accepts it; PublishError (exit 2) otherwise, before any request."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if repo.count("/") != 1 or not all(repo.split("/")):
        raise PublishError(f"--repo {repo!r}: expected ORG/NAME, e.g. my-org/lawset")
    try:
        validate_repo_id(repo)
    except HFValidationError as exc:
        raise PublishError(f"--repo {repo!r}: {_one_line(str(exc))}") from None


def check_endpoint(endpoint: str) -> str:
    """The Hub endpoint as it may be shown (without any user:password); PublishError (exit 2)
    when it is not an http(s) URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = endpoint if "@" not in endpoint else "<a value with @>"
        raise PublishError(
            f"HF_ENDPOINT {shown!r} is not an http(s) URL: set it to the Hub's address "
            "(e.g. https://huggingface.co) or unset it"
        )
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def hub_error(
    exc: BaseException, endpoint: str, repo: str, step: str, state: str, token: str | None
) -> HubError | None:
    """The one-line error for an exception raised while talking to the Hub (None: not the Hub's:
    a local error, left to the command's error map).

    ``step`` names the client call; ``state`` says what was uploaded so far and what to do."""
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        said = _one_line(exc.server_message or str(exc).split("\n")[0])
        if status in HTTP_FIXES:
            fix = HTTP_FIXES[status].format(repo=repo, org=repo.split("/")[0])
        elif status is not None and status >= 500:
            fix = "the Hub failed: try again later (a rerun resumes without a duplicate commit)"
        else:
            fix = "the Hub refused the request"
        msg = f"the Hub at {endpoint} answered HTTP {status} to {step} ({said}): {fix}; {state}"
        return HubError(_scrub(msg, token))
    if exit_code_for(exc) == EXIT_EXTERNAL:  # connection refused, DNS, timeouts, offline mode
        reason = _one_line(str(exc)) or type(exc).__name__
        msg = (
            f"cannot reach the Hub at {endpoint} ({type(exc).__name__}: {reason}): check the "
            f"network or HF_ENDPOINT; {state}"
        )
        return HubError(_scrub(msg, token))
    if isinstance(exc, ValueError):  # the Hub's verdict on README.md's metadata, among others
        msg = f"the Hub refused {step}: {_one_line(str(exc))}; {state}"
        return HubError(_scrub(msg, token))
    return None


def publish(root: Path, repo: str, private: bool = False, dry_run: bool = False) -> dict[str, Any]:
    """Publish the released folder ``root`` to the Hub dataset repository ``repo``."""
    import huggingface_hub
    from huggingface_hub import HfApi, constants

    check_repo_id(repo)
    plan = release_plan(root)
    endpoint = check_endpoint(constants.ENDPOINT)
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
    nothing = "nothing was uploaded"
    if constants.HF_HUB_OFFLINE:
        raise HubError(
            f"cannot reach the Hub at {endpoint}: HF_HUB_OFFLINE is set (offline mode): unset "
            f"it to publish; {nothing}"
        )
    token = huggingface_hub.get_token()
    if not token:
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN, or log in once with `hf auth login`"
        )
    api = HfApi(endpoint=constants.ENDPOINT, token=token)
    tag, files = plan["tag"], plan["files"]
    message = f"lawset release {tag}"
    step, state = "create_repo", nothing
    try:
        with console.phase(f"reading {repo} on {endpoint}"):
            url = api.create_repo(repo, repo_type=REPO_TYPE, private=private, exist_ok=True)
            step = "list_repo_refs"
            refs = api.list_repo_refs(repo, repo_type=REPO_TYPE)
            tags = {t.name: t.target_commit for t in refs.tags}
            main = {b.name: b.target_commit for b in refs.branches}.get("main")
            step = "list_repo_tree"
            rev = tag if tag in tags else "main" if main else None
            remote = (
                list(api.list_repo_tree(repo, revision=rev, repo_type=REPO_TYPE, recursive=True))
                if rev
                else []
            )
        if tag in tags:
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
        uploaded = not (main and _same_files(remote, files))
        if uploaded:
            step = "upload_folder"
            state = (
                "the upload did not finish: run the same command again (it completes the upload "
                "without a duplicate commit)"
            )
            total = sum(f["bytes"] for f in files)
            with console.phase(f"uploading {len(files)} files ({total:,} bytes) to {repo}"):
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
        step = "create_tag"
        state = (
            f"the files are on {repo}'s main branch (commit {str(commit)[:12]}) but not tagged: "
            "run the same command again to tag them"
        )
        api.create_tag(repo, tag=tag, tag_message=message, revision=commit, repo_type=REPO_TYPE)
    except PublishError:
        raise
    except Exception as exc:  # noqa: BLE001 - the Hub's errors become one line; others pass
        err = hub_error(exc, endpoint, repo, step, state, token)
        if err is None:
            raise
        raise err from None
    return {"url": str(url), "commit": commit, "tag": tag, "uploaded": uploaded, "tagged": True}


__all__ = ["HubError", "PublishError", "publish", "release_plan"]
