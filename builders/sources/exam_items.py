"""What the exam adapters (jec_qa, disc_law_eval, chatlaw_exam, lawyer_llama) and the exam tasks
share to read an exam item: its options (also options written inline in a question), its answer
letters, its split group and, for sources that do not label their items, whether it is a
knowledge or a case-analysis question (:func:`unlabelled_exam_item`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..records import EXAM_ITEM
from ..schema import stable_hash
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
