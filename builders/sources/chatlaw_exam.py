"""Adapter for ChatLaw's ELO evaluation questions (exam/ChatLaw, ``data/ELO_val/val_ NBE_*.json``).

Each file is a JSON array of ``{"question_number", "question", "answer"}`` from the national bar
exam (2008-2010). File names contain a space (``val_ NBE_2008_3.json``): the glob matches them and
paths are only ever joined, never split on spaces. The options are inlined in ``question`` as
lines ``A．...`` indented with full-width ``　　`` (2008, 2009) or NBSP/ASCII spaces (2010), and
``answer`` lists the chosen options' full text (``["C．民事法律关系的客体包括不作为"]``).

Quirks handled:

- Text after the last option belongs to the paper, not the question: section headings
  (``二、多项选择题...``), the paper's title, or the shared scenario of the next questions
  (``（一）陈某向贺某借款... 请回答91-93题。``). It is cut off; a scenario that names the questions
  it serves is put in front of those questions' stems.
- Answers are mapped back to letters: the leading letter when the text after it is that option's
  text (spaces and quote styles ignored; a near-identical text, difflib ratio >= 0.9, counts, since
  the answers were copied with small typos), else the only option with that exact text. An answer
  that maps to no option (some items carry the answers of another question) is rejected
  (``answer_not_mapped``), as are questions whose options cannot be parsed
  (``options_not_parsed``: truncated items).

Knowledge vs case is guessed from the stem (:func:`exam_type_of`). The recipe holds the source
out as ``held_out: test``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import register_adapter
from .common import FileAdapter, FileError, RecordError, load_json, require
from .exam_items import split_inline_options, unlabelled_exam_item

_LEAD = re.compile(r"^[\s\u3000\u00a0]*([A-H])\s*[．.、:：]\s*")
_FOLD = str.maketrans({"“": '"', "”": '"', "＂": '"', "‘": "'", "’": "'"})
_SPACE = re.compile(r"[\s\u3000\u00a0]+")
_SERVES = re.compile(
    r"(?:根据上述[^。，]{0,6}，)?请回答(?:第)?(\d+)\s*[-－—–~～至]\s*(\d+)题[。.]?"
)
_SCENARIO_HEAD = re.compile(r"^[（(][一二三四五六七八九十]+[）)]\s*$")
MIN_RATIO = 0.9


def _fold(text: str) -> str:
    return _SPACE.sub("", text.translate(_FOLD))


def map_answer(text: str, options: dict[str, str]) -> str:
    """The letter of one full-text answer, or ``answer_not_mapped``."""
    m = _LEAD.match(text)
    if m and m.group(1) in options:
        said, letter = _fold(text[m.end() :]), m.group(1)
        ratios = {
            k: difflib.SequenceMatcher(None, said, _fold(v)).ratio() for k, v in options.items()
        }
        if said == _fold(options[letter]) or (
            ratios[letter] >= MIN_RATIO and max(ratios, key=ratios.__getitem__) == letter
        ):
            return letter
    hits = [k for k, v in options.items() if _fold(text) == _fold(v)]
    if len(hits) == 1:
        return hits[0]
    raise RecordError("answer_not_mapped", f"answer {text[:40]!r} matches no option")


def scenario_of(trailing: str) -> tuple[str, range] | None:
    """The shared scenario in the text after a question's options, and the question numbers it
    serves (``请回答91-93题``); None when the text is only a heading or the paper's title."""
    m = _SERVES.search(trailing)
    if m is None:
        return None
    lines = [line.strip(" \u3000\u00a0\t") for line in trailing.split("\n")]
    head = max((i for i, line in enumerate(lines) if _SCENARIO_HEAD.match(line)), default=-1)
    body = "\n".join(line for line in lines[head + 1 :] if line)
    return _SERVES.sub("", body).strip(), range(int(m.group(1)), int(m.group(2)) + 1)


@register_adapter
class ChatLawExamAdapter(FileAdapter):
    name = "chatlaw_exam"
    patterns = ("data/ELO_val/*.json",)

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        """Items in order, each with the scenario an earlier item's tail gave it (``_context``)."""
        data, _repaired = load_json(path)
        if not isinstance(data, list):
            raise FileError("bad_json", "expected a JSON array of questions")
        context: dict[int, str] = {}
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                yield f"item {i}", item
                continue
            number = item.get("question_number")
            item = {**item, "_context": context.get(number, "") if isinstance(number, int) else ""}
            try:
                _, _, tail = split_inline_options(str(item.get("question", "")), trailing=True)
            except RecordError:
                tail = ""
            found = scenario_of(tail) if tail else None
            if found is not None:
                context.update(dict.fromkeys(found[1], found[0]))
            yield f"item {i}", item

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw, "question", "answer")
        stem, options, _tail = split_inline_options(raw["question"], trailing=True)
        if raw.get("_context"):
            stem = f"{raw['_context']}\n{stem}"
        answers = raw["answer"] if isinstance(raw["answer"], list) else [raw["answer"]]
        letters = [map_answer(str(a), options) for a in answers]
        number = raw.get("question_number", where)
        source_id = f"{Path(rel).stem.replace(' ', '')}#{number}"
        yield unlabelled_exam_item(source_id, stem, options, letters, subject="国家司法考试")
