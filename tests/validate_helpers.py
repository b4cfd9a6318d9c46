"""Helpers for the ``lawset validate`` tests: copy a built release and break it with pyarrow.

A *mutation* changes the rows of one parquet file (read as Python dicts, written back with the
file's own schema) or a report, and returns the id of the row it broke, so a test can check that
``validation.json`` names that row among the failing ids of the broken expectation.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from lawset.builders.schema import stable_hash

Row = dict[str, Any]


def copy_release(src: Path, dst: Path) -> Path:
    """A copy of a release without its earlier validation output."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("validation"))
    return dst


def reseal(root: Path) -> None:
    """Record the current sha256, size and rows of every data file in ``manifest.json``, as a
    build that wrote the broken rows would (``lawset validate`` checks the files against the
    manifest before any expectation; the scenarios test the expectations)."""
    path = root / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    for f in manifest["files"]:
        data = (root / f["path"]).read_bytes()
        f["sha256"] = hashlib.sha256(data).hexdigest()
        f["bytes"] = len(data)
        f["rows"] = pq.ParquetFile(root / f["path"]).metadata.num_rows
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def data_file(root: Path, config: str, split: str) -> Path:
    files = sorted((root / "data" / config).glob(f"{split}-*.parquet"))
    assert len(files) == 1, f"expected one {config}/{split} file, found {files}"
    return files[0]


def read_rows(path: Path) -> tuple[list[Row], pa.Schema]:
    table = pq.read_table(path)
    return table.to_pylist(), table.schema


def write_rows(path: Path, rows: list[Row], schema: pa.Schema) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def new_id(seed: str) -> str:
    """A fresh 32-hex-digit id (the release's id format)."""
    return hashlib.md5(seed.encode("utf-8")).hexdigest()


class Rows:
    """The rows of one data file, edited in memory and written back by :meth:`save`.

    :meth:`pick` hands out each row once, so the mutations of one scenario never share a row.
    """

    def __init__(self, root: Path, config: str, split: str) -> None:
        self.path = data_file(root, config, split)
        self.rows, self.schema = read_rows(self.path)
        self.used: set[int] = set()

    def pick(self, where: Callable[[Row], bool]) -> Row:
        for k, row in enumerate(self.rows):
            if k not in self.used and where(row):
                self.used.add(k)
                return row
        raise AssertionError(f"no unused row left in {self.path.name} matching the condition")

    def task(self, name: str) -> Row:
        return self.pick(lambda r: r["task"] == name)

    def save(self) -> None:
        write_rows(self.path, self.rows, self.schema)


def last_answer(row: Row) -> dict[str, str]:
    return [m for m in row["messages"] if m["role"] == "assistant"][-1]


def first_user(row: Row) -> dict[str, str]:
    return next(m for m in row["messages"] if m["role"] == "user")


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def smallest_hash_row(rows: list[Row], where: Callable[[Row], bool]) -> Row:
    """The row the validator's deterministic samples take first (smallest id hash)."""
    return min((r for r in rows if where(r)), key=lambda r: stable_hash(str(r["id"])))


def near_sample_ids(rows: list[Row], k: int) -> set[str]:
    """Ids of the rows the near-duplicate spot check samples from a split (k smallest hashes)."""
    return {str(r["id"]) for r in sorted(rows, key=lambda r: stable_hash(str(r["id"])))[:k]}


def failed_checks(summary: dict) -> dict[tuple[str, str], list[str]]:
    """(suite, check) -> failing ids, for every expectation that failed."""
    return {
        (e["suite"], e["check"]): e["failing_ids"]
        for e in summary["expectations"]
        if not e["passed"]
    }
