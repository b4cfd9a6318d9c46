"""Stage ``mix``: general-domain queries sampled down to the recipe's share of stage 1.

The shards count stage 1 queries per domain, so the sample rate is known before the merge; a
general query stays when the hash of its id falls under the rate (the same rows every build).
A shortfall is reported in the card and stats, never padded with repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from ...schema import stable_hash
from ..base import Record
from .release import Drop
from .shards import ShardResult


@dataclass(frozen=True)
class GeneralMix:
    """The sample rate of general queries, from the stage 1 counts of legal and general ones."""

    ratio: float
    legal: int
    general: int
    name: ClassVar[str] = "mix_general"

    @cached_property
    def rate(self) -> float:
        want = self.ratio / (1 - self.ratio) * self.legal if self.ratio < 1 else self.general
        # With no legal queries (a general-only build) there is nothing to mix with: keep all.
        if self.general == 0 or self.legal == 0 or want >= self.general:
            return 1.0
        return want / self.general

    def verdict(self, row: Record) -> Drop | None:
        if row["domain"] != "general":
            return None
        p = self.rate
        if p >= 1.0 or stable_hash("mix\x1f" + row["id"]) / 2**64 < p:
            return None
        return Drop(self.name, "over_general_ratio")

    def report(self, kept: int) -> dict[str, Any]:
        """``general_mix`` in stats.json, given the general queries stage 1 kept."""
        total = self.legal + kept
        share = kept / total if total else 0.0
        out: dict[str, Any] = {
            "target_share": self.ratio,
            "general_available": self.general,
            "general_kept": kept,
            "sample_rate": round(self.rate, 6),
            "share": round(share, 4),
        }
        if self.general and share + 0.02 < self.ratio:
            out["note"] = (
                f"not enough general data for a {self.ratio:.0%} share: all {self.general:,} "
                f"general queries are in, {share:.1%} of stage 1"
            )
        return out


class Mix:
    """Sets the general sample rate from the shards' counts."""

    name: ClassVar[str] = "mix"

    def run(self, shards: list[ShardResult], ratio: float) -> GeneralMix:
        general = sum(s.queries_by_domain.get("general", 0) for s in shards)
        legal = sum(n for s in shards for d, n in s.queries_by_domain.items() if d != "general")
        return GeneralMix(ratio=ratio, legal=legal, general=general)
