"""Stage ``leakage check``: duplicates across the splits of the written release.

A check of the files as written, independent of the stages that wrote them: exact copies of a
user turn or a conversation, near duplicates (the dedup rule's MinHash and threshold) and groups
found in two splits (``builders/dedup.py``: ``check_leakage``). Stage 1 only: stage 2 rows are
stage 1 rows with the same splits. A failed check is reported, in ``reports/leakage.json`` and
the card; it does not stop the build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from ... import console
from ...recipe import Recipe
from ..dedup_phase import near_config


class LeakageCheck:
    name: ClassVar[str] = "leakage_check"
    status: ClassVar[str] = "leakage check (duplicates across splits)"

    def run(self, out: Path, recipe: Recipe) -> dict[str, Any]:
        from ...dedup import check_leakage

        leakage = check_leakage(
            out,
            configs=("stage1",),
            cfg=near_config(recipe),
            near_min_chars=recipe.dedup.near_min_chars,
        )
        (out / "reports" / "leakage.json").write_text(
            json.dumps(leakage, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if not leakage["passed"]:
            console.info(
                f"leakage check FAILED: {leakage['cross_split_exact']} exact and "
                f"{leakage['cross_split_near']} near duplicates across splits "
                f"(see {out}/reports/leakage.json)"
            )
        return leakage
