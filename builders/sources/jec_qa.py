"""Adapter for JEC-QA as redistributed for CAIL2020 司法考试 (exam/CAIL2020-sfks-JEC-QA).

``data/raw/0_train.json`` is JSONL: ``{"answer": ["B"], "id", "option_list": {A..D}, "statement",
"type": "0", "subject"?}``. ``type`` "0" is a knowledge question, "1" a case-analysis question;
``subject`` is missing on more than half of the items (``""`` then). Decisions:

- ``0_test.json`` and ``1_test.json`` carry no answers: skipped (``no_answers``), never guessed.
- ``data/reference_book/`` (the 法考 textbook, 215 chapter files) is matched only to be reported
  as skipped (``unclear_copyright``): it is commercial study material redistributed for research.
- An empty ``answer`` list is ``missing_answer``; a letter that is not an option key (the upstream
  data has ``["B", "。"]``) is ``answer_not_in_options``: such an item's gold is unreliable.

This module also holds two helpers the task generators use on exam questions (inline options,
the cross-source question group, so that the same question from several sources lands in one
group whatever file it came from); the other exam adapters read items with :mod:`.exam_items`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import EXAM_ITEM
from . import register_adapter
from .common import FileAdapter, RecordError, require, text_of
from .exam_items import answer_letters, clean_options


@register_adapter
class JecQaAdapter(FileAdapter):
    name = "jec_qa"
    patterns = ("data/raw/*.json", "data/reference_book/**/*.txt")
    skip = {
        "data/raw/*_test.json": (
            "no_answers",
            "test split without answers (CAIL2020 hides the gold); not usable for training",
        ),
        "data/reference_book/*": (
            "unclear_copyright",
            "法考 reference textbook: commercial study material redistributed for research; "
            "use for retrieval or grounding only after a rights review",
        ),
    }

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw, "id", "statement", "option_list")
        options = clean_options(raw["option_list"])
        letters = answer_letters(raw.get("answer") or [], options)
        kind = str(raw.get("type", "0")).strip()
        if kind not in ("0", "1"):
            raise RecordError("bad_type", f"type {kind!r} is neither 0 nor 1")
        subject = raw.get("subject")
        yield EXAM_ITEM.make(
            str(raw["id"]),
            question=text_of(raw, "statement"),
            options=options,
            answer=letters,
            exam_type="knowledge" if kind == "0" else "case",
            subject=subject.strip() if isinstance(subject, str) else "",
        )
