"""The release's stats and rejects: the channel the stages after the shards drop rows through.

Steps drop a record with ``Context.reject`` inside a shard; the stages after the shards (dedup,
mix) drop a row of the merged runs with :meth:`ReleaseContext.reject`, which follows the same
contract: the drop is counted and the record kept, with its reason, in
``reports/rejects/<stage>.jsonl``. A row's drops are counted in the ledger of its sink,
``write_<sink>`` in ``stats.json`` (rows in from the shards, rows out to parquet, and the reason
for each row left out), and ``dedup`` keeps an entry of its own, which the card prints. A
dropped row is kept once: stage 2 rows are stage 1 rows, dropped for the same reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

from ..base import Record, Stats
from ..options import BuildOptions
from ..outdir import OutputFolder
from ..work import WorkFolder
from .plan import BuildPlan
from .shards import ShardResult


@dataclass(frozen=True)
class Drop:
    """Why a stage leaves a row out of the release."""

    #: the stage that drops it (its rejects file)
    stage: str
    reason: str
    #: further fields of the reject line (e.g. the id a duplicate was dropped for)
    detail: dict[str, Any] = field(default_factory=dict)


class RowFilter(Protocol):
    """A stage's decision applied to each row of a query sink, in merge (key) order."""

    name: str

    def verdict(self, row: Record) -> Drop | None:
        """None to keep the row, else why it is dropped."""
        ...


class RejectSink:
    """``reports/rejects/<step>.jsonl``: every dropped record or unusable file, with its reason."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, IO[str]] = {}

    def write_line(self, step: str, line: str) -> None:
        if step not in self.files:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.files[step] = open(self.folder / f"{step}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self.files[step].write(line if line.endswith("\n") else line + "\n")

    def write(self, row: dict[str, Any]) -> None:
        self.write_line(row["step"], json.dumps(row, ensure_ascii=False, sort_keys=True))

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class ReleaseContext:
    """What a stage after the shards may touch: the build's stats and its rejects folder."""

    #: stages with an entry of their own in stats.json beside the sinks' ledgers: dedup, whose
    #: entry the card prints. ``dedup_exact`` and ``mix_general`` drops are counted in the ledgers
    #: only, as before this stage layout (stats.json stays byte-identical).
    OWN_ENTRY: ClassVar[tuple[str, ...]] = ("dedup",)

    def __init__(self, stats: Stats, rejects: RejectSink) -> None:
        self.stats = stats
        self.rejects = rejects

    @classmethod
    def open(
        cls, opts: BuildOptions, plan: BuildPlan, work: WorkFolder, shards: list[ShardResult]
    ) -> ReleaseContext:
        """The shards' stats and rejects and the plan's unusable files, gathered into the
        release's reports, after the files of an earlier build in the folder are deleted."""
        stats = Stats()
        for s in shards:
            stats.merge(s.stats)
        for p in plan.problems:
            stats.drop("read", p.reason)
        OutputFolder(opts.out).clear_previous()  # only the files an earlier build wrote
        rejects = RejectSink(opts.out / "reports" / "rejects")
        for p in plan.problems:
            rejects.write(
                {
                    "step": "read",
                    "reason": p.reason,
                    "source": p.source,
                    "file": p.file,
                    "message": p.message,
                }
            )
        for s in shards:
            path = work.shard_folder(s.shard) / "rejects.jsonl"
            if path.exists():
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        rejects.write_line(json.loads(line)["step"], line)
        return cls(stats, rejects)

    def reject(self, sink: str, row: Record, drop: Drop) -> None:
        """Count a dropped row in its sink's ledger; keep a stage 1 row with its reason."""
        self.stats.drop(f"write_{sink}", drop.reason)
        if sink != "stage1":
            return
        if drop.stage in self.OWN_ENTRY:
            self.stats.drop(drop.stage, drop.reason)
        self.rejects.write(
            {
                "step": drop.stage,
                "reason": drop.reason,
                **drop.detail,
                "record": {k: v for k, v in row.items() if not k.startswith("__")},
            }
        )

    def close(self) -> None:
        self.rejects.close()
