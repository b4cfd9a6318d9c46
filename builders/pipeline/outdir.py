"""The output folder of a build: what lawset may write, delete and keep there.

A build writes only into a folder that is missing, empty, or carries lawset's build marker
(``OUT/.lawset-build.json``, written before anything else). The marker records the build's
fingerprint, its state (``running`` until the release is written, then ``done``) and every file
the build wrote (``written``, relative paths). From that:

- a folder with other files and no marker (a released data repository, a folder of notes) is
  refused: nothing there is touched;
- a finished build rerun with the same sources, recipe and options is a no-op: its files, and
  what later commands added (``reports/validation/``, plots, the release stamp), are kept;
- a changed build starts over and deletes only the files the marker lists, never others;
- a file a user put among the build's own outputs (``data/``, the build's reports,
  ``README.md``, ``manifest.json``) after the build is found and the build refuses, naming it.

The marker is a hidden file: ``lawset release`` and ``publish`` skip hidden paths, so it is never
released.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError

MARKER = ".lawset-build.json"
WORK = ".lawset-work"
#: paths a build writes (files under these folders, or these files)
BUILD_DIRS = ("data", "reports")
BUILD_FILES = ("README.md", "manifest.json")
#: written by later commands into ``reports/``: never the build's, never deleted by it
NOT_BUILD = ("reports/validation/", "reports/plots/", "reports/certificate.json")


def _build_area_files(out: Path) -> list[str]:
    """Files under the build's own paths, as sorted posix paths relative to ``out``."""
    found = [f for f in BUILD_FILES if (out / f).is_file() or (out / f).is_symlink()]
    for d in BUILD_DIRS:
        root = out / d
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            # hidden paths (temporary folders of other commands) are never the build's
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.startswith("."):
                    continue
                rel = (Path(dirpath) / name).relative_to(out).as_posix()
                if not rel.startswith(NOT_BUILD):
                    found.append(rel)
    return sorted(found)


class OutputFolder:
    """The marker of one output folder, and the rules above."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / MARKER
        self.marker: dict[str, Any] | None = None

    def check(self) -> None:
        """Refuse (exit 2) a folder lawset may not write into; read the marker if there is one."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder; choose a folder")
        if not out.is_dir() or not any(out.iterdir()):
            return
        if self.path.is_file():
            try:
                self.marker = json.loads(self.path.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise UsageError(
                    f"--out {out}: its build marker {MARKER} is unreadable; remove the folder "
                    "(or that file, if you know the folder holds only a lawset build) and build "
                    "again"
                ) from None
            if self.marker.get("state") == "done":
                foreign = sorted(set(_build_area_files(out)) - set(self.marker.get("written", [])))
                if foreign:
                    shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
                    raise UsageError(
                        f"--out {out}: holds {len(foreign)} file(s) among the build's own outputs "
                        f"that lawset did not write ({shown}); a build would mix them into the "
                        "release or overwrite them. Move them out of the folder, or build into a "
                        "new --out"
                    )
            return
        if (out / WORK).is_dir():  # a build interrupted before the marker existed
            return
        raise UsageError(
            f"--out {out}: folder is not empty and holds no lawset build (no {MARKER}); lawset "
            "writes only into a new or empty folder or one of its own builds. Choose a new or "
            "empty folder"
        )

    def up_to_date(self, fingerprint: str) -> bool:
        """A finished build of the same sources, recipe and options, its files all present."""
        m = self.marker
        if not m or m.get("state") != "done" or m.get("fingerprint") != fingerprint:
            return False
        return all((self.out / rel).is_file() for rel in m.get("written", []))

    def changed(self, fingerprint: str) -> bool:
        """The folder holds a build (finished or not) of other sources, recipe or options."""
        return bool(self.marker) and self.marker.get("fingerprint") != fingerprint

    def begin(self, fingerprint: str, version: str) -> None:
        """Mark the folder as a lawset build in progress (keeps the earlier build's file list, so
        an interrupted start-over still knows which files are lawset's)."""
        self.out.mkdir(parents=True, exist_ok=True)
        written = list((self.marker or {}).get("written", []))
        if self.marker and self.marker.get("state") == "running":
            written = sorted(set(written) | set(_build_area_files(self.out)))
        self._write({"state": "running", "fingerprint": fingerprint, "lawset": version}, written)

    def clear_previous(self) -> int:
        """Delete the files an earlier build wrote (and only those); returns how many. Called
        just before the new release is written."""
        assert self.marker is not None or self.path.is_file()
        marker = json.loads(self.path.read_text("utf-8"))
        # while running, everything under the build's own paths is this build's or an earlier
        # build's: check() refused the folder if anything else was there when it started
        listed = set(marker.get("written", [])) | set(_build_area_files(self.out))
        removed = 0
        for rel in sorted(listed):
            p = self.out / rel
            if p.is_file() or p.is_symlink():
                p.unlink()
                removed += 1
        for d in BUILD_DIRS:
            _prune_empty(self.out / d)
        return removed

    def finish(self, fingerprint: str, version: str) -> list[str]:
        """Record the files this build wrote; the folder is now a finished build."""
        written = _build_area_files(self.out)
        self._write({"state": "done", "fingerprint": fingerprint, "lawset": version}, written)
        return written

    def _write(self, head: dict[str, Any], written: list[str]) -> None:
        data = {**head, "written": written}
        tmp = self.path.with_name(MARKER + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
        self.marker = data


def _prune_empty(root: Path) -> None:
    if not root.is_dir():
        return
    for dirpath, _dirnames, _filenames in sorted(os.walk(root), key=lambda t: -len(t[0])):
        p = Path(dirpath)
        try:
            if not any(p.iterdir()):
                p.rmdir()
        except OSError:
            pass


__all__ = ["MARKER", "OutputFolder"]
