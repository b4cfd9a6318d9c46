"""Stage ``card``: the dataset card ``README.md``, written once, last.

Rendered (``cards/render.py``) from the manifest, the summary and the recipe once everything it
reports is known: the leakage check's result included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...recipe import Recipe


class Card:
    name: ClassVar[str] = "card"

    def run(
        self, out: Path, manifest: dict[str, Any], summary: dict[str, Any], recipe: Recipe
    ) -> None:
        from ....cards.render import render_card

        (out / "README.md").write_text(render_card(manifest, summary, recipe), encoding="utf-8")
