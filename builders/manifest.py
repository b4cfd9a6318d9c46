"""The manifest of a release folder: ``manifest.json``, its file checksums and the digest of the
files a validation covered. Shared by build (which writes ``manifest.json``), validate, release,
certify and publish, so that every command reads the manifest, and checks a folder's files
against it, the same way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import UsageError

MANIFEST_FILE = "manifest.json"


class ManifestError(UsageError):
    """A folder without a readable ``manifest.json``: not one that ``lawset build`` wrote (exit 2)."""


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (parquet files may be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files_digest(manifest: dict[str, Any]) -> str:
    """sha256 over a manifest's (path, sha256) pairs: the exact files a validation covered
    (``validation.json`` records it; ``lawset release`` compares it with the manifest)."""
    pairs = sorted((f["path"], f["sha256"]) for f in manifest.get("files", []))
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def load_manifest(root: Path) -> dict[str, Any]:
    """The ``manifest.json`` of the folder ``root``; ManifestError when it is missing or not JSON."""
    path = root / MANIFEST_FILE
    if not path.is_file():
        raise ManifestError(
            f"{root}: no manifest.json: not a release candidate (make one with lawset build)"
        )
    try:
        return json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not JSON ({exc}); rebuild the release") from None


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` as the build writes it (UTF-8, indented, a final newline), so a
    stamped manifest differs from the built one only in what was stamped."""
    (root / MANIFEST_FILE).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


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
