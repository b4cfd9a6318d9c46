"""Adapter for the CAIL2024 司法主观题 sample (exam/CAIL2024-sfzgtks, ``sfzgtks/test_data.json``).

JSONL ``{"id": "0_1_0", "big_ques", "small_ques", "ground_answer", "score", "score_point"}``: a
case scenario (大题), one sub-question, the reference answer, its score and the scoring points.
→ kind ``subjective``: ``question`` is the scenario and the sub-question, ``answer`` the reference
answer, ``points`` the scoring points (``【关键词1:...(0.5分)】``...), the score is dropped.

Six items of a CAIL test sample: the recipe holds them out (``held_out: test``). The sub-questions
of one scenario share a split group (``_group``: the id without the sub-question number).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import SUBJECTIVE_QUESTION
from . import register_adapter
from .common import FileAdapter, require, text_of


@register_adapter
class Cail2024SubjectiveAdapter(FileAdapter):
    name = "cail2024_subjective"
    patterns = ("sfzgtks/*.json",)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw, "id", "big_ques", "small_ques", "ground_answer")
        points = raw.get("score_point")
        ident = str(raw["id"])
        yield SUBJECTIVE_QUESTION.make(
            ident,
            question=f"{text_of(raw, 'big_ques')}\n\n{text_of(raw, 'small_ques')}",
            answer=text_of(raw, "ground_answer").lstrip(".．"),
            points=points.strip() if isinstance(points, str) else "",
            _group=f"subjective:cail2024_sfzgtks:{ident.rsplit('_', 1)[0]}",
        )
