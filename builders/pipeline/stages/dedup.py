"""Stage ``dedup``: one copy of each query across all shards and sources.

Two decisions, applied to each query sink as its runs are merged:

- ``dedup_exact``: an id met again (the same conversation made twice) is dropped; the first in
  shard order stays.
- ``dedup``: exact copies of the user turn and near duplicates (MinHash LSH, confirmed by true
  Jaccard) across groups, found over every shard's dedup features by the executor
  (``dedup_phase.py`` locally, ``ray_dedup.py`` on Ray: the same drops); which copy stays is the
  recipe's ``dedup`` rule (held-out material first, then quality, source priority, id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..base import Record
from ..dedup_phase import FEATURES
from ..work import WorkFolder
from .release import Drop
from .shards import ShardResult

if TYPE_CHECKING:
    from ...recipe import Recipe
    from ..executor import Executor


class FirstOfId:
    """Keeps the first row of each id in merge order (one per sink: merged runs are by id)."""

    name: ClassVar[str] = "dedup_exact"

    def __init__(self) -> None:
        self.previous: str | None = None

    def verdict(self, row: Record) -> Drop | None:
        if row["id"] == self.previous:
            return Drop(self.name, "duplicate_id")
        self.previous = row["id"]
        return None


@dataclass(frozen=True)
class Duplicates:
    """The queries a copy replaces: id -> {"reason", "kept", "jaccard"}."""

    drops: dict[str, dict[str, Any]]
    name: ClassVar[str] = "dedup"

    def verdict(self, row: Record) -> Drop | None:
        dup = self.drops.get(row["id"])
        if dup is None:
            return None
        return Drop(self.name, dup["reason"], {"kept": dup["kept"], "jaccard": dup["jaccard"]})


class Dedup:
    """Finds the duplicates among every shard's stage 1 queries, on the executor."""

    name: ClassVar[str] = "dedup"
    status: ClassVar[str] = "dedup (exact and near duplicates across all sources)"

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def run(self, shards: list[ShardResult], work: WorkFolder, recipe: Recipe) -> Duplicates:
        folders = [work.shard_folder(s.shard) for s in shards]
        return Duplicates(
            self.executor.find_duplicates(
                [d / FEATURES for d in folders],
                [
                    d / name
                    for d, s in zip(folders, shards, strict=True)
                    for name in s.runs["stage1"]
                ],
                recipe,
            )
        )
