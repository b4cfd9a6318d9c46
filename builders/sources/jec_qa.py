"""Adapter for JEC-QA as redistributed for CAIL2020 司法考试 (exam/CAIL2020-sfks-JEC-QA).

``data/raw/0_train.json`` is JSONL: ``{"answer": ["B"], "id", "option_list": {A..D}, "statement",
"type": "0", "subject"?}``. ``type`` "0" is a knowledge question, "1" a case-analysis question;
``subject`` is missing on more than half of the items (``""`` then). Decisions:

- ``0_test.json`` and ``1_test.json`` carry no answers: skipped (``no_answers``), never guessed.
- ``data/reference_book/`` (the 法考 textbook, 215 chapter files) is matched only to be reported
  as skipped (``unclear_copyright``): it is commercial study material redistributed for research.
- An empty ``answer`` list is ``missing_answer``; a letter that is not an option key (the upstream
  data has ``["B", "。"]``) is ``answer_not_in_options``: such an item's gold is unreliable.

This module also holds the helpers every exam adapter shares (answer letters, inline options, the
knowledge/case heuristic and the cross-source question group), so that the same question from
several sources lands in one group whatever file it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..schema import stable_hash
from . import register_adapter
from .common import FileAdapter, RecordError, iter_jsonl, require, text_of

EXAM_TEXT_FIELDS = ("question", "options", "explanation", "subject")
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


def exam_record(
    *,
    source_id: str,
    question: str,
    options: dict[str, str],
    answer: list[str],
    exam_type: str,
    subject: str = "",
    explanation: str = "",
) -> dict[str, Any]:
    """One ``exam`` record with every field of the kind."""
    return {
        "source_id": source_id,
        "question": question,
        "options": options,
        "answer": answer,
        "explanation": explanation,
        "exam_type": exam_type,
        "subject": subject,
    }


@register_adapter
class JecQaAdapter(FileAdapter):
    name = "jec_qa"
    kind = "exam"
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
    text_fields = EXAM_TEXT_FIELDS

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        yield from iter_jsonl(path)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw, "id", "statement", "option_list")
        options = clean_options(raw["option_list"])
        letters = answer_letters(raw.get("answer") or [], options)
        kind = str(raw.get("type", "0")).strip()
        if kind not in ("0", "1"):
            raise RecordError("bad_type", f"type {kind!r} is neither 0 nor 1")
        subject = raw.get("subject")
        yield exam_record(
            source_id=str(raw["id"]),
            question=text_of(raw, "statement"),
            options=options,
            answer=letters,
            exam_type="knowledge" if kind == "0" else "case",
            subject=subject.strip() if isinstance(subject, str) else "",
        )
