"""Sorted runs: how a shard hands its records to the merge without holding the corpus in memory.

A shard buffers at most ``run_size`` records per sink, sorts them by ``__key`` and writes them as a
parquet "run"; the merge streams all runs of a sink in key order (a k-way merge), so memory stays
bounded by (number of runs) x (read batch) whatever the corpus size.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: the merge key: a query's id, a statute's (law, version, article, ordinal) in reading order
KEY = "__key"
#: held-out evaluation material (the split stage sends it, and its group, to test)
HELD_OUT = "__held_out"


def run_schema(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field(KEY, pa.string())).append(pa.field(HELD_OUT, pa.bool_()))


def write_parquet_atomic(path: Path, table: pa.Table, row_group_size: int = 10_000) -> None:
    """Write to a temporary name and rename, so a killed build never leaves a half file."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=row_group_size, compression="zstd")
    os.replace(tmp, path)


class RunWriter:
    """Buffers one sink's records for one shard and spills sorted runs."""

    def __init__(self, folder: Path, sink: str, schema: pa.Schema, run_size: int) -> None:
        self.folder, self.sink, self.run_size = folder, sink, run_size
        self.schema = run_schema(schema)
        self.buffer: list[dict[str, Any]] = []
        self.paths: list[Path] = []
        self.rows = 0

    def add(self, record: dict[str, Any]) -> None:
        self.buffer.append(record)
        if len(self.buffer) >= self.run_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        self.buffer.sort(key=lambda r: r[KEY])
        path = self.folder / f"{self.sink}-{len(self.paths):05d}.parquet"
        write_parquet_atomic(path, pa.Table.from_pylist(self.buffer, schema=self.schema))
        self.rows += len(self.buffer)
        self.paths.append(path)
        self.buffer = []


def _read_run(path: Path, batch_size: int) -> Iterator[dict[str, Any]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        yield from batch.to_pylist()


def merge_runs(paths: list[Path], batch_size: int = 2000) -> Iterator[dict[str, Any]]:
    """All records of the runs in ``__key`` order; ties keep the order of ``paths`` (stable)."""
    return heapq.merge(*(_read_run(p, batch_size) for p in paths), key=lambda r: r[KEY])
