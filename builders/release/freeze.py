"""``lawset release DIR --version X.Y.Z``: the checks, then the stamp, the data repository's
commit and tag, and the project's ``releases/vX.Y.Z.json`` and changelog entry, in that order
(the steps are described in :mod:`lawset.builders.release`)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import console
from ..manifest import check_integrity, load_manifest
from .certificate import certificate_summary, find_certificate
from .changelog import (
    changelog_markdown,
    compare_rows,
    mix_changes,
    source_changes,
    write_changelog,
)
from .checks import check_validation, resolve_recipe, validation_summary
from .datarepo import DEFAULT_DATA_REPO, DataRepo, git_blob_sha1
from .errors import ReleaseCheckFailed, ReleaseError
from .files import file_entries, read_summary, released_files
from .stamp import stamp
from .versions import RELEASES, existing_releases, find_project, parse_version, version_str


def _json_dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _date() -> str:
    """Today (UTC), or the day of ``SOURCE_DATE_EPOCH`` when set (reproducible manifests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return when.date().isoformat()


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def release(
    root: Path,
    version: str,
    project: Path,
    data_repo: Path | None = None,
    recipe_path: Path | None = None,
    certificate: Path | None = None,
    progress: bool = True,
    no_certificate: bool = False,
) -> dict[str, Any]:
    """Release the candidate ``root`` as ``version``; returns the release manifest.

    ``certificate``: see :func:`find_certificate` (``no_certificate``: do not look for one)."""
    v = parse_version(version)
    version = version_str(v)
    tag = f"v{version}"
    if not root.is_dir():
        raise ReleaseError(f"{root}: no such folder")
    project = find_project(project)
    repo = DataRepo((data_repo or project / DEFAULT_DATA_REPO).resolve())
    releases = existing_releases(project)
    if v in releases:
        raise ReleaseError(
            f"{tag} exists ({_rel(releases[v], Path.cwd())}): versions are never reused; "
            "choose a new version"
        )
    newer = [p for p in releases if p > v]
    if newer:
        raise ReleaseError(
            f"{tag} is not newer than the latest release v{version_str(newer[-1])}: "
            "choose a higher version"
        )
    manifest = load_manifest(root)
    manifest.pop("release", None)
    with console.phase(f"checking {root}'s files against manifest.json"):
        problems = check_integrity(root, manifest)
    if problems:
        raise ReleaseCheckFailed(
            f"{root}: the data differs from manifest.json (rebuild and revalidate):\n  "
            + "\n  ".join(problems)
        )
    validation = check_validation(root, manifest)
    recipe_text, recipe = resolve_recipe(root, manifest, recipe_path)
    repo.preflight(tag)
    certificate = find_certificate(root, manifest, certificate, look=not no_certificate)
    cert_entry, cert_raw = (
        certificate_summary(certificate, manifest) if certificate else (None, None)
    )

    with console.phase(f"stamping {root} as {tag} (manifest, card, plots)"):
        manifest = stamp(root, manifest, version, recipe_text, recipe, cert_raw)
    files = released_files(root)
    entries = file_entries(root, files, manifest, progress)
    summary = read_summary(root)
    prev_v = max((p for p in releases if p < v), default=None)
    prev = json.loads(releases[prev_v].read_text("utf-8")) if prev_v else None

    repo.ensure()
    message = f"lawset release {tag}"
    if repo.has_tag(tag):
        # an interrupted run of this release: reuse the tag only if it holds exactly these files
        if repo.tree(tag) != {rel: git_blob_sha1(root / rel) for rel in files}:
            raise ReleaseError(
                f"data repository {repo.path} already has a tag {tag} with other files: "
                "versions are never reused; choose a new version"
            )
        commit = repo.git("rev-parse", f"{tag}^{{commit}}").stdout.strip()
        console.info(f"tag {tag} already holds these files (an interrupted release): reusing it")
    else:
        with console.phase(f"committing the release to {repo.path} and tagging it {tag}"):
            commit = repo.commit_release(root, files, tag, message)

    rows, note = compare_rows(repo, prev, root, manifest, progress)
    mix = {"stage1": summary.get("mix", {}), "stage2": summary.get("stage2_mix", {})}
    from ...cards.render import rewrite_models

    out: dict[str, Any] = {
        "version": version,
        "tag": tag,
        "name": manifest["name"],
        "date": _date(),
        "previous": version_str(prev_v) if prev_v else None,
        "lawset_version": manifest["lawset_version"],
        "libraries": manifest.get("libraries", {}),
        "recipe": {**manifest["recipe"], "text": recipe_text},
        "options": manifest.get("options", {}),
        "sources": manifest["sources"],
        "rewrite_models": rewrite_models(summary),
        "configs": {
            c: {s: {"rows": e["rows"], "files": e["files"]} for s, e in splits.items()}
            for c, splits in manifest["configs"].items()
        },
        "mix": mix,
        "files": entries,
        "validation": validation_summary(validation),
        "certification": cert_entry,
        "data_repo": {"path": _rel(repo.path, project), "commit": commit, "tag": tag},
        "changes": {
            "rows": rows,
            "tasks": mix_changes(prev, mix),
            "sources": source_changes(prev, manifest["sources"]),
            "recipe_changed": bool(
                prev and prev["recipe"]["sha256"] != manifest["recipe"]["sha256"]
            ),
            **({"note": note} if note else {}),
        },
    }
    path = project / RELEASES / f"{tag}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(_json_dump(out), encoding="utf-8")
    write_changelog(project, changelog_markdown(out), version)
    os.replace(tmp, path)
    return out
