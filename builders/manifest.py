"""The manifest of a release folder: file checksums and the digest of the files a validation
covered. Shared by build (which writes ``manifest.json``), validate, release, certify and publish.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
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
