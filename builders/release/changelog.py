"""``releases/CHANGELOG.md``: per config and split, the rows added, removed and changed against
the previous release, counted by id from the previous tag's parquet files, plus the task mix and
source changes; one ``## vX.Y.Z`` section per release, newest first."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import console
from .datarepo import DataRepo
from .versions import RELEASES

CHANGELOG = "CHANGELOG.md"
CHANGELOG_HEADER = (
    "# Changelog\n\n"
    "Written by `lawset release`, newest first. Rows are compared by id (a content hash) per "
    "config and split: *changed* rows keep their id but differ in another field.\n"
)


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
    """Rows added, removed, changed (same id, other content) and unchanged between two
    :func:`id_digests`."""
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
    """Sources added and removed since the previous release, and those whose upstream commit
    changed."""
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
