"""The files of a release folder: which are released, which a rebuild reproduces byte for byte,
their checksums, and the files a release reads and writes there (recipe, certificate, validation).

Released files are every file of the folder except hidden paths (``.lawset-work/``) and
``reports/rejects/`` (dropped records: they hold the benchmark copies that decontamination
removed, so publishing them would publish the benchmark). Files that a rebuild cannot reproduce
byte for byte (Great Expectations Data Docs, ``reports/timings.json``, the certificate) are
marked ``reproducible: false``; ``--verify`` compares every other file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..manifest import sha256_file

RECIPE_FILE = "recipe.yaml"
CERTIFICATE_FILE = "reports/certificate.json"
VALIDATION_FILE = "reports/validation/validation.json"
#: never released (see the module docstring)
NOT_RELEASED = ("reports/rejects/",)
#: released, but not reproduced byte for byte by a rebuild
NOT_REPRODUCIBLE = ("reports/validation/", "reports/timings.json", CERTIFICATE_FILE)


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
    """Whether a rebuild writes this released file byte for byte (``--verify`` compares it)."""
    return not rel.startswith(NOT_REPRODUCIBLE)


def read_summary(root: Path) -> dict[str, Any]:
    """The build summary the card is rendered from: reports/stats.json plus the leakage report
    (the executor adds it to the summary after stats.json is written)."""
    summary = json.loads((root / "reports" / "stats.json").read_text("utf-8"))
    leakage = root / "reports" / "leakage.json"
    if leakage.is_file():
        summary["leakage"] = json.loads(leakage.read_text("utf-8"))
    return summary


def file_entries(
    root: Path, files: list[str], manifest: dict[str, Any], progress: bool = True
) -> list[dict[str, Any]]:
    """The ``files`` of ``releases/vX.Y.Z.json``: path, sha256, bytes, rows (from the manifest,
    for data files) and whether a rebuild reproduces it."""
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
