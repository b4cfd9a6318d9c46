"""Version rules: ``X.Y.Z`` (a leading ``v`` accepted), the lawset project whose ``releases/``
records every version, and the versions released so far. A version is never reused and a new
one must be newer than every release (:func:`lawset.builders.release.freeze.release`)."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ReleaseError

VERSION_RE = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
RELEASES = "releases"


def parse_version(text: str) -> tuple[int, int, int]:
    """``X.Y.Z`` (a leading ``v`` is accepted) as a tuple; ReleaseError otherwise."""
    m = VERSION_RE.match(text.strip())
    if not m:
        raise ReleaseError(f"version {text!r}: expected X.Y.Z, e.g. 0.1.0")
    return int(m[1]), int(m[2]), int(m[3])


def version_str(v: tuple[int, int, int]) -> str:
    """``(0, 1, 0)`` as ``0.1.0``."""
    return ".".join(map(str, v))


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
    """Every version with a ``releases/vX.Y.Z.json``, oldest first (other files are ignored)."""
    out = {}
    for p in (project / RELEASES).glob("v*.json"):
        try:
            out[parse_version(p.stem)] = p
        except ReleaseError:
            continue
    return dict(sorted(out.items()))
