"""Stage ``split``: the split of every released row, decided here and nowhere else.

A query's group decides (``hash(salt, group)`` against the recipe's fractions), so a group never
straddles two splits and never moves when other groups are added. Held-out evaluation material
goes to test, and so does every query that shares a group with it: its twins from other sources
(the same exam question in JEC-QA and ChatLaw, the same case), so no held-out item has a train
copy. Twins can sit in any shard, so the rule is applied once all shards have named their
held-out groups; the statute index is one train split.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ...schema import stable_hash

if TYPE_CHECKING:
    from ...recipe import Recipe
    from ..base import Record
    from .shards import ShardResult

SPLIT_ORDER = ("train", "validation", "test")


def split_of(group: str, recipe: Recipe) -> str:
    """Deterministic, group-aware split: a group's hash decides, so a group never straddles."""
    s = recipe.splits
    x = stable_hash(s.salt + "\x1f" + group) / 2**64
    if x < s.test:
        return "test"
    if x < s.test + s.validation:
        return "validation"
    return "train"


def query_split(
    group: str, held_out: bool, recipe: Recipe, held_out_groups: Set[str] = frozenset()
) -> str:
    """The split rule: test for held-out material and for the queries of a held-out group;
    otherwise the group's hash. Without ``held_out_groups`` (a shard, which sees only its own
    queries), the split as far as one record tells."""
    if held_out or group in held_out_groups:
        return "test"
    return split_of(group, recipe)


@dataclass(frozen=True)
class SplitDecision:
    split: str
    #: a query sent to test only because it shares a group with held-out material
    twin: bool = False


@dataclass(frozen=True)
class SplitRule:
    """The split of each row, given every shard's held-out groups."""

    recipe: Recipe
    held_out_groups: frozenset[str]

    def decide(self, sink: str, row: Record, held_out: bool) -> SplitDecision:
        if sink == "statutes":
            return SplitDecision("train")
        split = query_split(row["group"], held_out, self.recipe, self.held_out_groups)
        twin = not held_out and split == "test" and split_of(row["group"], self.recipe) != "test"
        return SplitDecision(split, twin)


class Split:
    """Collects the held-out groups the shards found into the rule the write stage applies."""

    name: ClassVar[str] = "split"

    def run(self, shards: Iterable[ShardResult], recipe: Recipe) -> SplitRule:
        groups = frozenset(g for s in shards for g in s.held_out_groups)
        return SplitRule(recipe, groups)
