"""CAIL2019 reading comprehension (CJRC): SQuAD-style judgment paragraphs with questions.

Files: ``阅读理解/data/dev_ground_truth.json`` and ``test_ground_truth.json`` (the train file was
not mirrored). One ``reading`` record per question. Decisions:

- ``caseid`` and the question ids restart in each file, so ``source_id`` is ``<split>/<qa id>``
  (``dev/1_1``) and ``doc_id`` is ``<split>/<caseid>``: every question about one document shares
  it (the task generators use it for the split group).
- Each question has three annotator answers; the distinct texts are kept, most frequent first,
  so ``answers[0]`` is the majority answer. Yes/no questions are written ``YES``/``NO`` with
  ``answer_start`` -1 upstream; they become ``是``/``否``.
- ``is_impossible`` is a string (``"true"``/``"false"``); an unanswerable question has
  ``answers == []`` and ``impossible`` True. An answerable question with no non-empty answer is
  rejected (``missing_answer``); any other ``is_impossible`` value is ``bad_field``.
- ``test_ground_truth.json`` is the CAIL test split: the recipe holds it out (``held_out: test``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..records import READING_QUESTION
from . import register_adapter
from .common import FileAdapter, RecordError, load_json, require, text_of

YES_NO = {"YES": "是", "NO": "否"}


def parse_flag(value: Any) -> bool:
    """``is_impossible`` as a bool: upstream writes the strings ``"true"``/``"false"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RecordError("bad_field", f"is_impossible is {value!r}, expected 'true' or 'false'")


def answer_texts(answers: Any) -> list[str]:
    """Distinct non-empty answer texts, most frequent first (ties: first given first)."""
    if not isinstance(answers, list):
        raise RecordError("bad_field", "answers is not a list")
    texts = []
    for a in answers:
        text = a.get("text") if isinstance(a, dict) else None
        if isinstance(text, str) and text.strip():
            text = text.strip()
            texts.append(YES_NO.get(text, text))
    counts = Counter(texts)
    order = {t: i for i, t in reversed(list(enumerate(texts)))}
    return sorted(counts, key=lambda t: (-counts[t], order[t]))


@register_adapter
class Cail2019(FileAdapter):
    name = "cail2019"
    patterns = ("阅读理解/data/*_ground_truth.json",)

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        data, _ = load_json(path)
        docs = data.get("data") if isinstance(data, dict) else None
        if not isinstance(docs, list):
            yield "file", RecordError("bad_format", "no top-level 'data' list")
            return
        for d, doc in enumerate(docs):
            if not isinstance(doc, dict) or not isinstance(doc.get("paragraphs"), list):
                yield f"data[{d}]", RecordError("bad_format", "document without paragraphs")
                continue
            caseid = str(doc.get("caseid") or d)
            for p, para in enumerate(doc["paragraphs"]):
                qas = para.get("qas") if isinstance(para, dict) else None
                if not isinstance(qas, list) or not qas:
                    yield f"case {caseid} p{p}", RecordError("missing_field", "no qas")
                    continue
                for n, qa in enumerate(qas):
                    raw = {
                        "caseid": caseid,
                        "domain": doc.get("domain", ""),
                        "casename": para.get("casename", ""),
                        "context": para.get("context"),
                        "qa": qa,
                    }
                    yield f"case {caseid} qa {n}", raw

    def parse(self, raw: dict[str, Any], rel: str, where: str) -> Iterable[dict[str, Any]]:
        split = Path(rel).name.removesuffix("_ground_truth.json")
        context = text_of(raw, "context")
        qa = raw["qa"]
        require(qa, "id", "question")
        question = text_of(qa, "question")
        impossible = parse_flag(qa.get("is_impossible", "false"))
        answers = [] if impossible else answer_texts(qa.get("answers"))
        if not impossible and not answers:
            raise RecordError("missing_answer", "answerable question without an answer text")
        yield READING_QUESTION.make(
            f"{split}/{qa['id']}",
            doc_id=f"{split}/{raw['caseid']}",
            context=context,
            question=question,
            answers=answers,
            impossible=impossible,
            domain=str(raw.get("domain") or ""),
        )
