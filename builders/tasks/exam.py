"""Exam tasks: choice questions (LawBench 1-2 and 3-6), subjective case analysis, benchmark items.

Choice answers end with LawBench's line ``正确答案：B`` (several letters for multiple choice:
``正确答案：ACD``), after the explanation when the source has one. Without an explanation the
answer is the line alone: restating the chosen options would put other option letters and
Latin letters of option texts (A公司) into the answer, which LawBench's rule-based scorer reads as
a second choice. The prompt never says how many options are right (multi-answer items exist).

Every question of every source gets the group of its stem (:func:`exam_group`), so the same
question asked in several sources, or repeated in one, lands in one split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from ..normalize import normalize_text
from ..pipeline.base import Context, Record, TaskGenerator, final_line, register_step
from ..records import BENCHMARK_ITEM, EXAM_ITEM, SUBJECTIVE_QUESTION, kinds
from ..sources.common import RecordError
from ..sources.exam_items import exam_group, split_inline_options

ANSWER_LINE = "正确答案：{letters}"
#: the choice line LawBench's rule-based scorer reads
CHOICE_LINE = final_line("正确答案：[A-H]+")


def answer_line(letters: Iterable[str]) -> str:
    return ANSWER_LINE.format(letters="".join(sorted(letters)))


def options_block(record: Record) -> tuple[str, dict[str, str]]:
    """The options as ``A. text`` lines, normalized like every other text field (the normalize
    step leaves dict fields alone; mask_pii does mask them)."""
    simplified = record.get("_simplified", True)
    options = {k: normalize_text(v, simplified) for k, v in sorted(record["options"].items())}
    return "\n".join(f"{k}. {v}" for k, v in options.items()), options


class ExamChoiceTask(TaskGenerator):
    """A choice question of one ``exam_type``, asked in one of several phrasings."""

    applies_to = kinds(EXAM_ITEM)
    exam_type: ClassVar[str] = ""
    answer_line = CHOICE_LINE
    answer_chars = (6, 8000)

    def selects(self, record: Record) -> bool:
        return record.get("exam_type") == self.exam_type

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        block, options = options_block(record)
        letters = "、".join(options)
        user = self.phrase(record, question=record["question"], options=block, letters=letters)
        line = answer_line(record["answer"])
        explanation = record.get("explanation", "").strip()
        answer = f"{explanation}\n\n{line}" if explanation else line
        yield self.query(record, user, answer, group=exam_group(record["question"], options))


@register_step
class ExamKnowledgeChoice(ExamChoiceTask):
    """Knowledge questions of the judicial exam (LawBench 1-2 style)."""

    name = "exam_knowledge_choice"
    level = "memorization"
    lawbench = ("1-2",)
    exam_type = "knowledge"
    phrasings = (
        "{question}\n{options}\n请从{letters}中选出正确答案。",
        "以下是一道法律考试选择题，请选出正确选项（可能不止一个）。\n{question}\n{options}",
        "请运用法律知识回答下面的选择题。\n{question}\n{options}",
        "{question}\n{options}",
        "法律知识问答：{question}\n{options}\n请给出正确答案。",
    )


@register_step
class ExamCaseChoice(ExamChoiceTask):
    """Case-analysis questions of the judicial exam (LawBench 3-6 style)."""

    name = "exam_case_choice"
    level = "application"
    lawbench = ("3-6",)
    exam_type = "case"
    phrasings = (
        "请分析下列案例，从{letters}中选出正确答案。\n{question}\n{options}",
        "{question}\n{options}\n请根据案情和相关法律规定作答。",
        "以下是一道司法考试案例分析题，请选出正确选项（可能不止一个）。\n{question}\n{options}",
        "{question}\n{options}",
    )


@register_step
class ExamSubjective(TaskGenerator):
    """Subjective questions answered with the source's reference answer (case analysis, legal
    reasoning). The answers are free text, so the task is unstructured."""

    name = "exam_subjective"
    applies_to = kinds(SUBJECTIVE_QUESTION)
    level = "application"
    structured = "never"
    phrasings = (
        "{question}",
        "请运用相关法律知识回答下列问题。\n{question}",
        "请作答：\n{question}",
        "以下是一道法律主观题，请结合法律规定进行分析。\n{question}",
    )

    def group(self, record: Record) -> str:
        return record.get("_group") or f"subjective:{record['source']}:{record['source_id']}"

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        yield self.query(record, self.phrase(record, question=record["question"]), record["answer"])


#: LexEval task ids → levels: 1_x concepts and articles (memorization), 2_x extraction and
#: 6_x ethics (understanding), 3_x prediction, 4_x document checking and 5_x generation
#: (application).
BENCHMARK_LEVELS = {
    "1": "memorization",
    "2": "understanding",
    "3": "application",
    "4": "application",
    "5": "application",
    "6": "understanding",
}
_LETTERS = re.compile(r"^[A-H]+$")


def benchmark_level(task_id: str) -> str:
    return BENCHMARK_LEVELS.get(task_id.split("_", 1)[0], "application")


@register_step
class BenchmarkItem(TaskGenerator):
    """A LexEval item as it is (only when a recipe does not exclude LexEval): the benchmark's own
    instruction and input; letter answers become ``正确答案：ABD`` (structured), free-text
    answers (5_3 translation, 5_4 essays) pass through unstructured."""

    name = "benchmark_item"
    applies_to = kinds(BENCHMARK_ITEM)
    level = "application"  # per item: see BENCHMARK_LEVELS
    structured = "per_query"
    answer_line = CHOICE_LINE
    phrasings = (
        "{instruction}\n{input}",
        "{input}\n\n{instruction}",
        "任务说明：{instruction}\n\n{input}",
    )

    @classmethod
    def levels(cls) -> tuple[str, ...]:
        return tuple(sorted({cls.level, *BENCHMARK_LEVELS.values()}))

    def phrase_key(self, record: Record) -> tuple[str, ...]:
        return (record["source_id"],)

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        user = self.phrase(record, instruction=record["instruction"], input=record["input"])
        raw = record["answer"].strip()
        choice = bool(_LETTERS.match(raw))
        try:
            stem, options, _ = split_inline_options(record["input"], trailing=True)
        except RecordError:
            stem, options = record["input"], {}
        yield self.query(
            record,
            user,
            answer_line(raw) if choice else raw,
            group=exam_group(stem, options),
            level=benchmark_level(record["task_id"]),
            structured=choice,
        )
