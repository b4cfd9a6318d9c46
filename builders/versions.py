"""``lawset release``: freeze a validated release candidate as version X.Y.Z, and verify it later.

``lawset release DIR --version X.Y.Z`` (run from the project root, or with ``--project``):

1. **Checks** (nothing written when one fails): the version is new and newer than every
   release in ``releases/`` (exit 2); every parquet file matches the sha256 that
   ``DIR/manifest.json`` records (exit 1); ``DIR/reports/validation/validation.json`` exists
   (exit 2), says passed (exit 1), covered every row (not ``--sample``) and validated *these*
   files (exit 2, see :func:`check_validation`); the recipe (``--recipe``, else
   ``DIR/recipe.yaml``, else the built-in default) has the sha256 the build recorded, so the
   exact recipe text can be stored for ``--verify`` (exit 2); the certificate (see
   :func:`find_certificate`) certifies these files (exit 1).
2. **Stamps DIR**: ``recipe.yaml`` (the recipe text), ``manifest.json`` gets
   ``release: {version, tag}``, the card is re-rendered (its loading examples now say
   ``revision="vX.Y.Z"``) with its plots, and the certificate (``--certificate``, else the one
   ``lawset certify`` wrote to ``DIR/../certificates/<DIR name>/`` for these files) is copied to
   ``reports/certificate.json``. Stamping is deterministic: a rebuild stamped the same way is
   byte-identical, which is what ``--verify`` relies on.
3. **Commits DIR to the data repository** (a git repository of the dataset; default
   ``../lawset-data`` beside the project, created with ``git init`` when missing) and tags it
   ``vX.Y.Z``, so ``git checkout vX.Y.Z`` + ``load_dataset(path, config)`` gives that version.
   The repository holds exactly the released files: a release replaces the previous tree.
4. **Writes the project files**: ``releases/vX.Y.Z.json`` (files with sha256, rows per config
   and split, mixes, sources with commits and licenses, recipe text and hash, versions, rewrite
   models, validation summary, certificate summary) and a ``releases/CHANGELOG.md`` entry (newest
   first) against the previous release, counted by id from the previous tag's parquet files.

An interrupted release is rerun as it was: stamping is idempotent, and a tag that already holds
exactly these files is reused instead of refused.

Released files are every file of DIR except hidden paths (``.lawset-work/``) and
``reports/rejects/`` (dropped records: they hold the benchmark copies that decontamination
removed, so publishing them would publish the benchmark). Files that a rebuild cannot reproduce
byte for byte (Great Expectations Data Docs, ``reports/timings.json``, the certificate) are
marked ``reproducible: false``; ``--verify`` compares every other file.

``lawset release --verify X.Y.Z --sources RAW`` rebuilds from the recorded recipe text and options
into a temporary folder, stamps it the same way, and compares each file's sha256 with the
release manifest; it also checks that the data repository's tag ``vX.Y.Z`` holds exactly the
manifest's files. Exit 1 names every file that differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import console
from .errors import EXIT_FAILED, EXIT_OK, CheckFailed, UsageError
from .manifest import files_digest, sha256_file

VERSION_RE = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
RELEASES = "releases"
CHANGELOG = "CHANGELOG.md"
#: default data repository, relative to the project root
DEFAULT_DATA_REPO = Path("..") / "lawset-data"
RECIPE_FILE = "recipe.yaml"
CERTIFICATE_FILE = "reports/certificate.json"
VALIDATION_FILE = "reports/validation/validation.json"
#: never released (see the module docstring)
NOT_RELEASED = ("reports/rejects/",)
#: released, but not reproduced byte for byte by a rebuild
NOT_REPRODUCIBLE = ("reports/validation/", "reports/timings.json", CERTIFICATE_FILE)
#: git identity and settings for data-repository commits: works without any git config
GIT_CONFIG = (
    "-c",
    "user.name=lawset",
    "-c",
    "user.email=lawset@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.autocrlf=false",
)
CHANGELOG_HEADER = (
    "# Changelog\n\n"
    "Written by `lawset release`, newest first. Rows are compared by id (a content hash) per "
    "config and split: *changed* rows keep their id but differ in another field.\n"
)


class ReleaseError(UsageError):
    """A release or verification refused for bad usage or input (exit 2); the message names
    the option, file or folder and the fix."""


class ReleaseCheckFailed(ReleaseError, CheckFailed):
    """The data failed a check (exit 1): files that differ from their manifest, a failed
    validation, a certificate of other files, a release that no longer rebuilds."""

    exit_code = EXIT_FAILED


# -- small helpers ---------------------------------------------------------------------------------


def parse_version(text: str) -> tuple[int, int, int]:
    """``X.Y.Z`` (a leading ``v`` is accepted) as a tuple; ReleaseError otherwise."""
    m = VERSION_RE.match(text.strip())
    if not m:
        raise ReleaseError(f"version {text!r}: expected X.Y.Z, e.g. 0.1.0")
    return int(m[1]), int(m[2]), int(m[3])


def version_str(v: tuple[int, int, int]) -> str:
    return ".".join(map(str, v))


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file's content (what ``git ls-tree`` lists)."""
    h = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _json_dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def find_project(path: Path) -> Path:
    """The lawset project (where ``releases/`` lives): a folder that holds ``releases/``, or the
    lawset source tree itself (its ``pyproject.toml`` names ``lawset``; ``releases/`` is then
    created). Anything else is a usage error, so a release never scatters manifests into a
    random working directory."""
    path = path.resolve()
    if (path / RELEASES).is_dir():
        return path
    pyproject = path / "pyproject.toml"
    if pyproject.is_file() and re.search(
        r'^name\s*=\s*"lawset"\s*$', pyproject.read_text("utf-8"), re.M
    ):
        (path / RELEASES).mkdir()
        return path
    raise ReleaseError(
        f"{path}: not a lawset project (no {RELEASES}/ folder): run from the project root or "
        f"pass --project (an empty {RELEASES}/ folder makes any folder a project)"
    )


def existing_releases(project: Path) -> dict[tuple[int, int, int], Path]:
    out = {}
    for p in (project / RELEASES).glob("v*.json"):
        try:
            out[parse_version(p.stem)] = p
        except ReleaseError:
            continue
    return dict(sorted(out.items()))


def released_files(root: Path) -> list[str]:
    """Every file of a release folder that is released, as sorted posix paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink() or not p.is_file() or rel.startswith(NOT_RELEASED):
                continue
            out.append(rel)
    return sorted(out)


def is_reproducible(rel: str) -> bool:
    return not rel.startswith(NOT_REPRODUCIBLE)


def load_manifest(root: Path) -> dict[str, Any]:
    path = root / "manifest.json"
    if not path.is_file():
        raise ReleaseError(
            f"{root}: no manifest.json: not a release candidate (make one with lawset build)"
        )
    return json.loads(path.read_text("utf-8"))


def read_summary(root: Path) -> dict[str, Any]:
    """The build summary the card is rendered from: reports/stats.json plus the leakage report
    (the executor adds it to the summary after stats.json is written)."""
    summary = json.loads((root / "reports" / "stats.json").read_text("utf-8"))
    leakage = root / "reports" / "leakage.json"
    if leakage.is_file():
        summary["leakage"] = json.loads(leakage.read_text("utf-8"))
    return summary


# -- checks ----------------------------------------------------------------------------------------


def check_integrity(root: Path, manifest: dict[str, Any]) -> list[str]:
    """Data files that differ from what the build's manifest records (empty: all match)."""
    problems = []
    listed = {f["path"]: f for f in manifest.get("files", [])}
    for rel, f in listed.items():
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel}: missing")
        elif sha256_file(p) != f["sha256"]:
            problems.append(f"{rel}: sha256 differs from manifest.json")
    for p in sorted((root / "data").glob("*/*.parquet")):
        rel = p.relative_to(root).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not listed in manifest.json")
    return problems


def check_validation(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The validation summary, when it is a passing, full validation of the current files.

    "The current files": ``validation.json`` does not (yet) record the checksums it validated,
    so two independent facts are required. (1) It validated exactly the rows the manifest
    records per config and split (``rows_validated``), which a rebuild with other data almost
    always changes. (2) It was written after the last change to any data file (mtime), which
    catches a same-size rebuild after validation. The data files themselves are checked against
    the manifest's sha256 separately. When ``validation.json`` records ``files_sha256`` (the
    :func:`files_digest` of the manifest), that exact comparison is used instead of (2).
    """
    path = root / VALIDATION_FILE
    if not path.is_file():
        raise ReleaseError(
            f"{root}: not validated ({VALIDATION_FILE} is missing): run `lawset validate {root}` "
            "first"
        )
    v = json.loads(path.read_text("utf-8"))
    if not v.get("passed"):
        raise ReleaseCheckFailed(
            f"{path}: validation FAILED ({v.get('expectations_failed', '?')} of "
            f"{v.get('expectations_total', '?')} expectations): fix the build, rebuild, "
            "revalidate; a failing candidate is never released"
        )
    if v.get("sample") is not None:
        raise ReleaseError(
            f"{path}: validated on a sample (--sample {v['sample']}): run `lawset validate "
            f"{root}` without --sample before releasing"
        )
    want = {
        c: {s: e["rows"] for s, e in splits.items()} for c, splits in manifest["configs"].items()
    }
    got = v.get("rows_validated") or {}
    if got != want:
        raise ReleaseError(
            f"{path}: validated other data (rows {got}, the manifest has {want}): the candidate "
            f"changed after validation; run `lawset validate {root}` again"
        )
    if "files_sha256" in v:
        if v["files_sha256"] != files_digest(manifest):
            raise ReleaseError(
                f"{path}: validated other files than manifest.json lists: run `lawset validate "
                f"{root}` again"
            )
    else:
        stamp = path.stat().st_mtime
        newer = [
            f["path"]
            for f in manifest.get("files", [])
            if (root / f["path"]).stat().st_mtime > stamp
        ]
        if newer:
            raise ReleaseError(
                f"{path}: older than {newer[0]} (and {len(newer) - 1} more): the data changed "
                f"after validation; run `lawset validate {root}` again"
            )
    return v


def validation_summary(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "passed": v["passed"],
        "expectations_total": v.get("expectations_total"),
        "expectations_failed": v.get("expectations_failed"),
        "rows_validated": v.get("rows_validated"),
        "recipe": v.get("recipe"),
        # a path here would be a machine's path: record only whether defaults were used
        "thresholds": "default" if v.get("thresholds", "default") == "default" else "custom",
    }


def resolve_recipe(
    root: Path, manifest: dict[str, Any], recipe_path: Path | None
) -> tuple[str, Any]:
    """The recipe text the candidate was built with, and the parsed recipe.

    Taken from ``--recipe``, else ``DIR/recipe.yaml``, else the built-in default; its digest
    must equal the manifest's, so the stored text rebuilds exactly this candidate."""
    from importlib import resources

    import yaml

    from .recipe import RecipeError, parse_recipe

    if recipe_path is not None:
        if not recipe_path.is_file():
            raise ReleaseError(f"--recipe {recipe_path}: file not found")
        text, where = recipe_path.read_text("utf-8"), str(recipe_path)
    elif (root / RECIPE_FILE).is_file():
        text, where = (root / RECIPE_FILE).read_text("utf-8"), str(root / RECIPE_FILE)
    else:
        text = (
            resources.files("lawset.builders").joinpath("recipes/default.yaml").read_text("utf-8")
        )
        where = "the built-in default recipe"
    try:
        recipe = parse_recipe(yaml.safe_load(text), where)
    except (RecipeError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{where}: {exc}") from None
    built = manifest["recipe"]["sha256"]
    if recipe.digest() != built:
        raise ReleaseError(
            f"{where} (sha256 {recipe.digest()[:12]}) is not the recipe {root} was built with "
            f"({manifest['recipe']['name']}, sha256 {built[:12]}): pass --recipe FILE, the "
            "recipe given to lawset build"
        )
    return text, recipe


def certified_files(path: Path) -> list[tuple[str, str]] | None:
    """The (path, sha256) pairs of data files a ``lawset certify`` certificate was made on, sorted;
    None for a file that is not one (another tool's certificate, not JSON)."""
    try:
        data = json.loads(path.read_bytes())
        return sorted((f["path"], f["sha256"]) for f in data["release"]["files"])
    except (ValueError, KeyError, TypeError):
        return None


def _manifest_files(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["path"], f["sha256"]) for f in manifest.get("files", []))


def find_certificate(
    root: Path, manifest: dict[str, Any], given: Path | None, look: bool = True
) -> Path | None:
    """The certificate to attach to a release of ``root``.

    ``--certificate FILE`` wins. Without it (and unless ``look`` is off, ``--no-certificate``),
    the place ``lawset certify`` writes to, ``DIR/../certificates/<DIR name>/certificate.json``,
    is used when it certifies exactly the data files of ``root``'s manifest. A certificate inside
    ``root`` (``reports/certificate.json``, stamped by an earlier release of the folder) would be
    published with the release, so it must certify these files too; otherwise the release is
    refused."""
    if given is not None:
        return given
    from lawset.sft.certify import default_location

    want = _manifest_files(manifest)
    default = default_location(root) / "certificate.json"
    if look and default.is_file():
        if certified_files(default) == want:
            console.info(
                f"attaching the certificate {default} (it certifies these files; "
                "--no-certificate leaves it out)"
            )
            return default
        console.info(f"not attaching {default}: it certifies other files than {root} holds")
    inside = root / CERTIFICATE_FILE
    if inside.is_file():
        if look and certified_files(inside) == want:
            console.info(f"keeping {inside}: it certifies these files")
            return inside
        raise ReleaseError(
            f"{inside} is there but is not a certificate of these files (left by an earlier "
            "release of this folder, or by an older lawset certify): it would be published "
            f"with this release; remove it, or attach a certificate with --certificate FILE"
        )
    return None


def certificate_summary(
    path: Path, manifest: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bytes]:
    """An opaque certificate (``lawset certify``): its sha256 and its top-level scalar fields.

    With ``manifest``, a ``lawset certify`` certificate must certify exactly its data files
    (exit 1 otherwise); another tool's certificate is attached as it is."""
    if not path.is_file():
        raise ReleaseError(f"--certificate {path}: file not found")
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"--certificate {path}: not JSON ({exc})") from None
    if manifest is not None:
        files = certified_files(path)
        if files is not None and files != _manifest_files(manifest):
            raise ReleaseCheckFailed(
                f"--certificate {path}: certifies other data files than manifest.json lists (a "
                "certificate of another build): run `lawset certify` on this folder again"
            )
    try:  # a certificate written by lawset certify: its own compact summary
        from lawset.sft.certify import manifest_entry

        scalars = manifest_entry(path)
    except (KeyError, TypeError, AttributeError):  # another tool's certificate: its scalars
        scalars = (
            {k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None}
            if isinstance(data, dict)
            else {}
        )
    return {
        "file": CERTIFICATE_FILE,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "summary": scalars,
    }, raw


# -- stamping --------------------------------------------------------------------------------------


def stamp(
    root: Path,
    manifest: dict[str, Any],
    version: str,
    recipe_text: str,
    recipe: Any,
    certificate: bytes | None = None,
) -> dict[str, Any]:
    """Write the release stamp into a candidate folder (deterministic; see module docstring)."""
    from ..cards.render import render_card

    (root / RECIPE_FILE).write_text(recipe_text, encoding="utf-8")
    if certificate is not None:
        (root / CERTIFICATE_FILE).parent.mkdir(parents=True, exist_ok=True)
        (root / CERTIFICATE_FILE).write_bytes(certificate)
    manifest = {**manifest, "release": {"version": version, "tag": f"v{version}"}}
    (root / "manifest.json").write_text(_json_dump(manifest), encoding="utf-8")
    card = render_card(manifest, read_summary(root), recipe, out=root)
    (root / "README.md").write_text(card, encoding="utf-8")
    return manifest


def file_entries(
    root: Path, files: list[str], manifest: dict[str, Any], progress: bool = True
) -> list[dict[str, Any]]:
    rows = {f["path"]: f.get("rows") for f in manifest.get("files", [])}
    out = []
    bar = tqdm(files, desc="checksums", unit="file", file=sys.stderr, disable=not progress)
    for rel in bar:
        p = root / rel
        entry: dict[str, Any] = {"path": rel, "sha256": sha256_file(p), "bytes": p.stat().st_size}
        if rel in rows:
            entry["rows"] = rows[rel]
        entry["reproducible"] = is_reproducible(rel)
        out.append(entry)
    return out


# -- the data repository ---------------------------------------------------------------------------


class DataRepo:
    """The git repository that holds every release's files, one tag per version."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, stdout: Any = subprocess.PIPE, check: bool = True) -> Any:
        proc = subprocess.run(
            ["git", *GIT_CONFIG, "-C", str(self.path), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=stdout is subprocess.PIPE,
        )
        if check and proc.returncode != 0:
            raise ReleaseError(
                f"data repository {self.path}: git {' '.join(args)} failed: "
                f"{proc.stderr.strip() if isinstance(proc.stderr, str) else proc.stderr.decode()}"
            )
        return proc

    def exists(self) -> bool:
        return (self.path / ".git").exists()

    def preflight(self, tag: str) -> None:
        """Refuse, before anything is written, a data repository a release cannot commit to."""
        if not self.exists():
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise ReleaseError(
                    f"--data-repo {self.path}: exists, is not empty and is not a git repository"
                )
            return
        if self.has_tag(tag):
            return  # an interrupted release: nothing will be committed
        if self.git("status", "--porcelain").stdout.strip():
            raise ReleaseError(
                f"data repository {self.path} has uncommitted changes: commit or remove them first"
            )
        if self.git("symbolic-ref", "-q", "HEAD", check=False).returncode != 0:
            raise ReleaseError(
                f"data repository {self.path} is not on a branch (a checked-out tag?): run "
                f"`git -C {self.path} checkout main` first"
            )

    def ensure(self) -> None:
        if self.exists():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")
        console.info(f"created the data repository {self.path} (git init)")

    def has_tag(self, tag: str) -> bool:
        if not self.exists():
            return False
        return (
            self.git("rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False).returncode == 0
        )

    def tree(self, rev: str) -> dict[str, str]:
        """path -> git blob id of every file at ``rev``."""
        out = self.git("ls-tree", "-r", "-z", rev).stdout
        tree = {}
        for entry in out.split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                tree[path] = meta.split()[2]
        return tree

    def stream(self, rev: str, *paths: str) -> Any:
        """Iterate (path, file object) over the files at ``rev`` (a ``git archive`` stream)."""
        proc = subprocess.Popen(
            ["git", *GIT_CONFIG, "-C", str(self.path), "archive", "--format=tar", rev, *paths],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                for member in tar:
                    if member.isfile():
                        f = tar.extractfile(member)
                        if f is not None:
                            yield member.name, f
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode() if proc.stderr else ""
            if proc.wait() != 0:
                raise ReleaseError(f"data repository {self.path}: git archive {rev}: {err.strip()}")

    def sha256s(self, rev: str) -> dict[str, str]:
        out = {}
        for name, f in self.stream(rev):
            h = hashlib.sha256()
            for chunk in iter(lambda: f.read(1 << 20), b""):  # noqa: B023 - consumed at once
                h.update(chunk)
            out[name] = h.hexdigest()
        return out

    def commit_release(self, root: Path, files: list[str], tag: str, message: str) -> str:
        """Replace the tree by ``files`` of ``root``, commit, tag; returns the commit id.
        :meth:`preflight` has checked that the repository is clean and on a branch."""
        self.git("rm", "-r", "-q", "--ignore-unmatch", "--", ".")
        for rel in files:
            dest = self.path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, dest)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.git("tag", "-a", tag, "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()


# -- the changelog ---------------------------------------------------------------------------------


def _digest64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def id_digests(paths: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(id hashes, row hashes) of the rows of some parquet files, sorted by id hash.

    64-bit hashes keep memory at 16 bytes a row whatever the row size (a million rows: 16 MB);
    a collision between two ids among a million has a probability of about 3e-8."""
    import pyarrow.parquet as pq

    ids: list[int] = []
    rows: list[int] = []
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                ids.append(_digest64(row["id"]))
                rows.append(
                    _digest64(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str))
                )
    a, b = np.array(ids, dtype=np.uint64), np.array(rows, dtype=np.uint64)
    order = np.argsort(a, kind="stable")
    return a[order], b[order]


def diff_rows(
    old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray]
) -> dict[str, int]:
    common, i_old, i_new = np.intersect1d(old[0], new[0], assume_unique=False, return_indices=True)
    changed = int(np.count_nonzero(old[1][i_old] != new[1][i_new]))
    return {
        "added": int(len(np.setdiff1d(new[0], old[0]))),
        "removed": int(len(np.setdiff1d(old[0], new[0]))),
        "changed": changed,
        "unchanged": int(len(common)) - changed,
    }


def _split_files(manifest: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    return {
        (c, s): list(e.get("files", []))
        for c, splits in manifest["configs"].items()
        for s, e in splits.items()
    }


def compare_rows(
    repo: DataRepo | None,
    prev: dict[str, Any] | None,
    root: Path,
    manifest: dict[str, Any],
    progress: bool = True,
) -> tuple[dict[str, dict[str, dict[str, int]]], str | None]:
    """Per config and split: rows before and after, added / removed / changed by id.

    The previous release's parquet files are read from the data repository at its tag, one file
    at a time through a temporary file (``git archive`` streams; parquet needs a seekable file).
    Returns the table and a note when the ids could not be compared."""
    new_files = _split_files(manifest)
    old_files = _split_files(prev) if prev else {}
    note = None
    old_digests: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    empty = (np.zeros(0, np.uint64), np.zeros(0, np.uint64))
    if prev is not None:
        tag = prev["tag"]
        if repo is None or not repo.has_tag(tag):
            note = f"the data repository has no tag {tag}: rows compared by count only, not by id"
        else:
            with (
                console.phase(f"reading {tag}'s rows from the data repository (changelog)"),
                tempfile.TemporaryDirectory(prefix="lawset-changelog-") as tmp,
            ):
                where = {p: key for key, ps in old_files.items() for p in ps}
                parts: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
                for name, f in repo.stream(tag, "data"):
                    if name not in where:
                        continue
                    local = Path(tmp) / "part.parquet"
                    with open(local, "wb") as out:
                        shutil.copyfileobj(f, out)
                    parts.setdefault(where[name], []).append(id_digests([local]))
                    local.unlink()
                for key, ds in parts.items():
                    a = np.concatenate([d[0] for d in ds])
                    b = np.concatenate([d[1] for d in ds])
                    order = np.argsort(a, kind="stable")
                    old_digests[key] = (a[order], b[order])
    table: dict[str, dict[str, dict[str, int]]] = {}
    keys = sorted(set(new_files) | set(old_files))
    for c, s in tqdm(keys, desc="changelog", unit="split", file=sys.stderr, disable=not progress):
        rows_new = manifest["configs"].get(c, {}).get(s, {}).get("rows", 0)
        rows_old = prev["configs"].get(c, {}).get(s, {}).get("rows", 0) if prev else 0
        entry = {"rows_before": rows_old, "rows_after": rows_new}
        if prev is None:
            entry.update(added=rows_new, removed=0, changed=0, unchanged=0)
        elif note is None:
            new_d = id_digests([root / p for p in new_files.get((c, s), [])])
            entry.update(diff_rows(old_digests.get((c, s), empty), new_d))
        table.setdefault(c, {})[s] = entry
    return table, note


def mix_changes(
    prev: dict[str, Any] | None, mix: dict[str, Any]
) -> dict[str, dict[str, list[int]]]:
    """config -> task -> [rows before, rows after], tasks whose count changed."""
    out: dict[str, dict[str, list[int]]] = {}
    for config, now in mix.items():
        before = (prev or {}).get("mix", {}).get(config, {}).get("task", {})
        after = now.get("task", {})
        changed = {
            t: [before.get(t, 0), after.get(t, 0)]
            for t in sorted(set(before) | set(after))
            if before.get(t, 0) != after.get(t, 0)
        }
        if changed:
            out[config] = changed
    return out


def source_changes(prev: dict[str, Any] | None, sources: dict[str, Any]) -> dict[str, Any]:
    before = (prev or {}).get("sources", {})
    return {
        "added": sorted(set(sources) - set(before)),
        "removed": sorted(set(before) - set(sources)),
        "commit_changed": {
            s: [before[s]["commit"], sources[s]["commit"]]
            for s in sorted(set(before) & set(sources))
            if before[s].get("commit") != sources[s].get("commit")
        },
    }


def changelog_markdown(entry: dict[str, Any]) -> str:
    """One ``## vX.Y.Z`` section of ``releases/CHANGELOG.md``."""
    ch = entry["changes"]
    prev = entry.get("previous")
    lines = [f"## v{entry['version']} — {entry['date']}", ""]
    recipe = entry["recipe"]
    head = f"Recipe `{recipe['name']}` ({recipe['sha256'][:12]}), lawset {entry['lawset_version']}"
    if prev:
        head += f"; compared with v{prev}"
        if ch.get("recipe_changed"):
            head += " (recipe changed)"
    else:
        head += "; first release"
    lines += [head + ".", ""]
    if ch.get("note"):
        lines += [f"Note: {ch['note']}.", ""]
    lines += [
        "| config | split | rows before | rows after | added | removed | changed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c, splits in ch["rows"].items():
        for s, e in splits.items():
            cells = [
                e.get(k, "n/a")
                for k in ("rows_before", "rows_after", "added", "removed", "changed")
            ]
            lines.append(
                f"| {c} | {s} | "
                + " | ".join(f"{x:,}" if isinstance(x, int) else x for x in cells)
                + " |"
            )
    lines.append("")
    if ch["tasks"]:
        lines += ["Task mix changes (rows, all splits):", ""]
        lines += ["| config | task | before | after |", "| --- | --- | ---: | ---: |"]
        for c, tasks in ch["tasks"].items():
            for t, (a, b) in tasks.items():
                lines.append(f"| {c} | {t} | {a:,} | {b:,} |")
        lines.append("")
    else:
        lines += ["Task mix: unchanged.", ""]
    src = ch["sources"]
    lines.append(
        "Sources added: "
        + (", ".join(f"`{s}`" for s in src["added"]) or "none")
        + ". Sources removed: "
        + (", ".join(f"`{s}`" for s in src["removed"]) or "none")
        + "."
    )
    for s, (a, b) in src["commit_changed"].items():
        lines.append(f"- `{s}`: upstream commit {a[:12]} → {b[:12]}")
    lines.append("")
    return "\n".join(lines) + "\n"


def write_changelog(project: Path, section: str, version: str) -> Path:
    """Insert ``section`` as the newest entry (replacing an entry of the same version)."""
    path = project / RELEASES / CHANGELOG
    text = path.read_text("utf-8") if path.is_file() else CHANGELOG_HEADER
    if not text.startswith("# Changelog"):
        text = CHANGELOG_HEADER + "\n" + text
    # an earlier, interrupted run of this very release may have written its entry already
    text = re.sub(rf"(?ms)^## v{re.escape(version)} .*?(?=^## v|\Z)", "", text)
    first = re.search(r"(?m)^## v", text)
    head, rest = (text[: first.start()], text[first.start() :]) if first else (text, "")
    body = head.rstrip("\n") + "\n\n" + section.strip("\n") + "\n"
    path.write_text(body + ("\n" + rest.rstrip("\n") + "\n" if rest else ""), "utf-8")
    return path


# -- release ---------------------------------------------------------------------------------------


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
    from ..cards.render import rewrite_models

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


# -- verify ----------------------------------------------------------------------------------------


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

    from .pipeline.executor import BuildError, BuildOptions, build
    from .recipe import RecipeError, parse_recipe

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

    from . import __version__
    from .recipe import parse_recipe

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


# -- the command -----------------------------------------------------------------------------------


def _handle(args: argparse.Namespace) -> int:
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
    p.set_defaults(func=_handle)
