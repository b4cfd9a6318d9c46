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

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..records import EXAM_ITEM
from ..schema import stable_hash
from . import register_adapter
from .common import FileAdapter, RecordError, require, text_of
from .exam_items import LETTERS, answer_letters, clean_options

_OPTION_LINE = re.compile(r"^[\s\u3000\u00a0]*([A-H])\s*[．.、:：]\s*(.*\S)?[\s\u3000\u00a0]*$")


def split_inline_options(text: str, trailing: bool = False) -> tuple[str, dict[str, str], str]:
    """A question whose options are lines ``A．...`` (``A.``, ``A:``; indented with full-width
    ``　　``, NBSP or ASCII spaces) → (stem, options, trailing text).

    Options must be A, B, C... in order, one per line. With ``trailing=True`` the first line after
    the options that is not an option ends them and is returned with the rest (ChatLaw's files
    carry the next section's heading or scenario there); otherwise such a line is an error.
    Raises ``options_not_parsed``.
    """
    lines = text.strip().split("\n")
    first = next((i for i, line in enumerate(lines) if _OPTION_LINE.match(line)), None)
    if first is None or first == 0:
        raise RecordError("options_not_parsed", "no option lines (A．...) after the question stem")
    stem = "\n".join(lines[:first]).strip()
    options: dict[str, str] = {}
    rest = ""
    for n, line in enumerate(lines[first:], start=first):
        if not line.strip(" \u3000\u00a0\t"):
            continue
        m = _OPTION_LINE.match(line)
        if m is None and trailing and len(options) >= 2:
            rest = "\n".join(lines[n:]).strip()
            break
        if m is None or m.group(1) != LETTERS[len(options)] or not m.group(2):
            raise RecordError("options_not_parsed", f"unexpected option line {line.strip()!r}")
        options[m.group(1)] = m.group(2).strip(" \u3000\u00a0")
    if len(options) < 2:
        raise RecordError("options_not_parsed", "fewer than two options")
    return stem, options, rest


_NOT_TEXT = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")


def exam_group(question: str, options: Mapping[str, str] | None = None) -> str:
    """The split group of an exam question: a hash of its stem without punctuation or spaces.

    Equal stems share a group across files and sources (JEC-QA repeats 194 statements, and
    lawyer-llama re-asks JEC-QA stems). Short generic stems (下列说法正确的是) also hash the
    option texts, so unrelated questions are not lumped together.
    """
    key = _NOT_TEXT.sub("", question)
    if len(key) < 20 and options:
        key += "|" + "|".join(_NOT_TEXT.sub("", options[k]) for k in sorted(options))
    return f"exam:{stable_hash(key):016x}"


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
