"""What the exam adapters (jec_qa, disc_law_eval, chatlaw_exam) share to read an exam item:
its options, its answer letters and, for sources that do not label their items, whether it is a
knowledge or a case-analysis question (:func:`unlabelled_exam_item`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..records import EXAM_ITEM
from .common import RecordError

LETTERS = "ABCDEFGH"

#: A question names parties (甲、乙, 张某, 某公司): a case-analysis question. Measured: 1.3% of
#: JEC-QA's knowledge items (type 0) match, 71% of its case items (type 1) and 90% of LawBench 3-6.
_CASE_MARKER = re.compile(r"[甲乙丙丁戊己庚辛](?![类级等醛烷基肝午])|某(?!些|种|一|项|个|方面|类)")


def exam_type_of(question: str) -> str:
    """``case`` when the question tells a story with parties, else ``knowledge`` (for sources
    that do not label their items)."""
    return "case" if _CASE_MARKER.search(question) else "knowledge"


def answer_letters(answer: Iterable[str] | str, options: Mapping[str, str]) -> list[str]:
    """The gold letters, upper-case, sorted and unique; every one must be an option key."""
    items = list(answer) if not isinstance(answer, str) else list(answer.replace(",", ""))
    letters = sorted({str(a).strip().upper() for a in items if str(a).strip()})
    if not letters:
        raise RecordError("missing_answer", "the item has no answer")
    bad = [a for a in letters if a not in options]
    if bad:
        raise RecordError(
            "answer_not_in_options",
            f"answer {''.join(bad)!r} is not among the options {''.join(sorted(options))}",
        )
    return letters


def clean_options(raw: Any) -> dict[str, str]:
    """Options as ``{letter: text}`` with consecutive letters from A; empty texts are errors."""
    if not isinstance(raw, dict) or not raw:
        raise RecordError("missing_field", "field 'options' is missing or empty")
    options = {str(k).strip().upper(): str(v).strip() for k, v in raw.items()}
    keys = sorted(options)
    if keys != list(LETTERS[: len(keys)]):
        raise RecordError("bad_options", f"option keys {''.join(keys)} are not A, B, C...")
    if any(not v for v in options.values()):
        raise RecordError("empty_option", "an option has no text")
    return options


def unlabelled_exam_item(
    source_id: str,
    question: str,
    options: dict[str, str],
    chosen: Iterable[str],
    subject: str = "",
) -> dict[str, Any]:
    """The ``exam`` record of an item whose source does not say if it is a knowledge or a case
    question (guessed from the stem); ``chosen``: the gold letters, checked against the options."""
    return EXAM_ITEM.make(
        source_id,
        question=question,
        options=options,
        answer=answer_letters(chosen, options),
        exam_type=exam_type_of(question),
        subject=subject,
    )
