"""``lawset release --verify X.Y.Z --sources RAW``: rebuild a release from the recipe text and
options it recorded into a temporary folder, stamp it the same way, and compare each file's sha256
with the release manifest; check too that the data repository's tag ``vX.Y.Z`` holds exactly the
manifest's files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .. import console
from ..manifest import load_manifest, sha256_file
from .datarepo import DataRepo
from .errors import ReleaseCheckFailed, ReleaseError
from .files import CERTIFICATE_FILE, is_reproducible, released_files
from .stamp import stamp
from .versions import RELEASES, find_project, parse_version, version_str


def check_data_repo(repo: DataRepo, tag: str, expected: dict[str, dict[str, Any]]) -> list[str]:
    """Files of the data repository's tag that differ from the release manifest."""
    where = f"data repository {repo.path} at {tag}"
    if not repo.has_tag(tag):
        return [f"{where}: the tag is missing"]
    got = repo.sha256s(tag)
    problems = []
    for rel, f in expected.items():
        if rel not in got:
            problems.append(f"{where}: {rel}: missing")
        elif got[rel] != f["sha256"]:
            problems.append(
                f"{where}: {rel}: sha256 {got[rel][:12]}, the manifest says {f['sha256'][:12]}"
            )
    problems += [
        f"{where}: {rel}: not in the release manifest" for rel in sorted(set(got) - set(expected))
    ]
    return problems


def rebuild(
    rel: dict[str, Any],
    sources: Path,
    out: Path,
    benchmarks: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Any:
    """Build ``out`` from the recipe text and options a release recorded; returns the recipe."""
    import yaml

    from ..pipeline.executor import BuildError, BuildOptions, build
    from ..recipe import RecipeError, parse_recipe

    try:
        recipe = parse_recipe(yaml.safe_load(rel["recipe"]["text"]), f"{rel['tag']} recipe")
    except RecipeError as exc:
        raise ReleaseCheckFailed(
            f"the recorded recipe no longer loads with this lawset: {exc}"
        ) from None
    options = rel.get("options") or {}
    try:
        build(
            BuildOptions(
                sources=sources,
                out=out,
                recipe=recipe,
                only=options.get("only"),
                limit=options.get("limit"),
                workers=workers,
                progress=progress,
                benchmarks=benchmarks,
            )
        )
    except (BuildError, RecipeError) as exc:
        raise ReleaseError(f"rebuild: {exc}") from None
    return recipe


def verify(
    version: str,
    sources: Path | None,
    project: Path,
    data_repo: Path | None = None,
    benchmarks: Path | None = None,
    workers: int | None = None,
    rebuild_dir: Path | None = None,
    reuse_rebuild: bool = False,
    progress: bool = True,
) -> tuple[list[str], int]:
    """Rebuild release ``version`` and compare; returns (problems, files compared)."""
    import yaml

    from .. import __version__
    from ..recipe import parse_recipe

    version = version_str(parse_version(version))
    tag = f"v{version}"
    project = find_project(project)
    path = project / RELEASES / f"{tag}.json"
    if not path.is_file():
        raise ReleaseError(f"no release {tag}: {RELEASES}/{tag}.json is missing")
    if reuse_rebuild and rebuild_dir is None:
        raise ReleaseError("--reuse-rebuild needs --rebuild-dir")
    if not reuse_rebuild and (sources is None or not sources.is_dir()):
        raise ReleaseError(f"--sources {sources}: the raw sources folder is missing")
    rel = json.loads(path.read_text("utf-8"))
    expected = {f["path"]: f for f in rel["files"]}
    repo = DataRepo((data_repo or project / rel["data_repo"]["path"]).resolve())
    problems = check_data_repo(repo, tag, expected)
    if rel["lawset_version"] != __version__:
        console.warn(
            f"{tag} was built by lawset {rel['lawset_version']}, this is {__version__}: "
            "differences may come from the code, not the data"
        )
    with tempfile.TemporaryDirectory(prefix="lawset-verify-") as tmp:
        out = rebuild_dir if rebuild_dir is not None else Path(tmp) / "rebuild"
        if reuse_rebuild:
            if not (out / "manifest.json").is_file():
                raise ReleaseError(f"--rebuild-dir {out}: holds no build to reuse")
            recipe = parse_recipe(yaml.safe_load(rel["recipe"]["text"]), f"{tag} recipe")
        else:
            assert sources is not None
            recipe = rebuild(rel, sources, out, benchmarks, workers, progress)
        if recipe.digest() != rel["recipe"]["sha256"]:
            problems.append(
                f"recipe: the recorded text now hashes to {recipe.digest()[:12]}, not "
                f"{rel['recipe']['sha256'][:12]} (recipe defaults changed in this lawset version)"
            )
        manifest = load_manifest(out)
        manifest.pop("release", None)
        stamp(out, manifest, version, rel["recipe"]["text"], recipe)
        compared = 0
        for rel_path, f in expected.items():
            if not f.get("reproducible", True):
                continue
            compared += 1
            p = out / rel_path
            if not p.is_file():
                problems.append(f"rebuild: {rel_path}: missing from the rebuild")
            else:
                got = sha256_file(p)
                if got != f["sha256"]:
                    problems.append(
                        f"rebuild: {rel_path}: sha256 {got[:12]}, the manifest says "
                        f"{f['sha256'][:12]}"
                    )
        problems += [
            f"rebuild: {p}: not in the release manifest"
            for p in released_files(out)
            if is_reproducible(p) and p not in expected and p != CERTIFICATE_FILE
        ]
    return problems, compared
