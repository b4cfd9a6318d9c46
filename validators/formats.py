"""The machine-parseable final answer line of every task, as regular expressions.

Each pattern is matched with ``re.search`` against the *end* of the last assistant message (the
last :data:`TAIL_CHARS` characters, see :func:`answer_tail`), so every pattern starts at a line
start (``(?:\\A|\\n)``) and ends at ``\\Z``. The table follows ``docs/sources.md`` and the task
modules under ``builders/tasks/``.

Two kinds of task:

- ``ALWAYS``: every answer of the task ends in its line (the generator's ``structured`` is
  always true). Checked in every config.
- ``PER_ROW``: the generator decides per query (a consultation answer is structured only when it
  cites retrieved articles; a LexEval item only when its answer is letters; a judgment only when
  it has a 罪名 or 刑期 line). Stage 1 holds both forms, so these are checked only in stage 2,
  which takes structured answers only (``stage2.require_structured``).

Unstructured tasks (``general_instruction``, ``exam_subjective``) have no pattern and must never
reach stage 2.
"""

from __future__ import annotations

import re

#: how many trailing characters of an answer the format check looks at; longer final lines
#: (a 法条 line naming dozens of articles) are still matched because patterns may start at \A
TAIL_CHARS = 600

_NUM = "[零〇一二两三四五六七八九十百千万]+"
_LABEL = rf"第{_NUM}条(?:之[一二三四五六七八九十]+)?"
_BOOK = r"《[^《》\n]+》"
_REF = rf"{_BOOK}{_LABEL}"
_START = r"(?:\A|\n)"

ALWAYS: dict[str, str] = {
    # memorization (statutes): 法条：《中华人民共和国刑法》第二百六十四条
    "article_recitation": rf"{_START}法条：{_REF}\Z",
    "article_identification": rf"{_START}法条：{_REF}\Z",
    "article_fill_in": rf"{_START}法条：{_REF}\Z",
    "article_items": rf"{_START}法条：{_REF}\Z",
    "article_chapter": rf"{_START}法条：{_REF}\Z",
    # memorization (charges): 法条：《刑法》第一百一十四条、第一百一十五条 / 罪名：X罪、Y罪
    "charge_article": rf"{_START}法条：{_REF}(?:、{_LABEL})*\Z",
    "article_charges": rf"{_START}罪名：[^\n]+罪\Z",
    # exam and argument choices: 正确答案：B / 正确答案：ACD
    "exam_knowledge_choice": rf"{_START}正确答案：[A-H]+\Z",
    "exam_case_choice": rf"{_START}正确答案：[A-H]+\Z",
    "argument_mining": rf"{_START}正确答案：[A-E]\Z",
    # understanding
    "reading_comprehension": rf"{_START}回答：[^\n]+\Z",
    "case_element_qa": rf"{_START}回答：[^\n]+\Z",
    "dispute_focus": rf"{_START}争议焦点：[^\n]+\Z",
    "entity_extraction": r"\A[^:;\n]+:[^;\n]+(?:;[^:;\n]+:[^;\n]+)*\Z",
    "document_type": rf"{_START}文书类型：[\u4e00-\u9fff]+书\Z",
    "case_cause": rf"{_START}案由：[^、\n]+(?:、[^、\n]+)*\Z",
    # application
    "article_prediction": r"\A法条：刑法第\d+条(?:、刑法第\d+条)*\Z",
    "charge_prediction": rf"{_START}罪名：[^、\n]+(?:、[^、\n]+)*\Z",
    "prison_term": rf"{_START}刑期：(?:\d+个月|无期徒刑|死刑)\Z",
    "prison_term_with_articles": rf"{_START}刑期：(?:\d+个月|无期徒刑|死刑)\Z",
    "scenario_article": rf"{_START}法条：{_REF}(?:、{_REF})*\Z",
}

PER_ROW: dict[str, str] = {
    "consultation": rf"{_START}法律依据：{_REF}(?:、{_REF})*\Z",
    "consultation_dialogue": rf"{_START}法律依据：{_REF}(?:、{_REF})*\Z",
    "case_judgment": rf"{_START}(?:罪名：[^\n]+\Z|(?:罪名：[^\n]+\n)?刑期：(?:\d+个月|无期徒刑|死刑)\Z)",
    "benchmark_item": rf"{_START}正确答案：[A-H]+\Z",
}

#: tasks whose answers quote statute text verbatim: references inside the quoted text keep the
#: status the law itself gives them (a quoted article may name a since-repealed law) and are
#: never rewritten by the ``citations`` step (``_quoted_statute`` in the task modules)
QUOTED_STATUTE_TASKS = frozenset(
    {
        "article_recitation",
        "article_identification",
        "article_fill_in",
        "article_items",
        "article_chapter",
        "scenario_article",
    }
)


def answer_format(task: str, config: str) -> str | None:
    """The pattern an answer of ``task`` must match in ``config``, or None (not checked)."""
    if task in ALWAYS:
        return ALWAYS[task]
    if config == "stage2":
        return PER_ROW.get(task)
    return None


def answer_tail(answer: str) -> str:
    """The end of an answer the format patterns look at (whitespace at the end stripped)."""
    return answer.rstrip()[-TAIL_CHARS:]


def matches(task: str, config: str, answer: str) -> bool | None:
    """Whether ``answer`` ends in ``task``'s line (None when the task is not checked)."""
    pattern = answer_format(task, config)
    if pattern is None:
        return None
    return re.search(pattern, answer_tail(answer)) is not None
