"""Understanding-level tasks (LawBench level 2) made from judgment passages.

| task | kind | final answer line |
| --- | --- | --- |
| ``reading_comprehension`` | reading | ``回答：<span>`` (unanswerable: ``回答：无法根据材料回答``) |
| ``argument_mining`` | argument | ``正确答案：C`` |
| ``dispute_focus`` | focus | ``争议焦点：甲；乙`` |
| ``entity_extraction`` | ner | ``人名:林某某、徐某某;毒品:海洛因`` |
| ``case_element_qa`` | element_qa | ``回答：是`` / ``回答：否`` / ``回答：不知道`` / ``回答：<span>`` |

Decisions:

- Every query about one document (a judgment, a LeDQA case) shares the group
  ``case:<source>:<doc_id>``, so questions on one text never straddle splits.
- Unanswerable reading questions always get the same answer, ``回答：无法根据材料回答``, and every
  phrasing says so up front: a fixed phrase is what a rule-based scorer can recognise, and the
  model learns to abstain rather than guess.
- ``argument`` records with five options (CAIL2021) ask for the defence statement that answers the
  claim (LawBench 2-8); records with two options (CAIL2022 lblj sentences) ask which side says
  the sentence. Both end in ``正确答案：X``.
- Entity answers group values by type, in the type order of the record's ``types``, values joined
  by ``、`` and types by ``;`` with ASCII ``:`` as LawBench 2-6's gold does.
- Passages longer than ``max_chars`` make no query (counted under ``skipped``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from ..pipeline.base import Context, Record, StepParams, TaskGenerator, final_line, register_step
from ..records import (
    ARGUMENT_CHOICE,
    DISPUTE_FOCUS,
    ELEMENT_QUESTION,
    ENTITY_SENTENCE,
    READING_QUESTION,
    kinds,
)

UNANSWERABLE = "无法根据材料回答"


class PassageParams(StepParams):
    max_chars: int = Field(6000, ge=1, description="passages longer than this make no query")


class UnderstandingTask(TaskGenerator):
    """A question on one passage of a document; everything made from one document (a judgment,
    a LeDQA case) lands in one split."""

    level = "understanding"
    Params = PassageParams
    #: the record field whose length ``max_chars`` bounds
    passage: str = ""

    def group(self, record: Record) -> str:
        return f"case:{record['source']}:{record.get('doc_id') or record['source_id']}"

    def phrase_key(self, record: Record) -> tuple[str, ...]:
        return (record["source_id"],)

    def too_long(self, record: Record, ctx: Context) -> bool:
        if len(record[self.passage]) > self.params.max_chars:
            ctx.stats.count("skipped", f"{self.name}:too_long")
            return True
        return False


@register_step
class ReadingComprehension(UnderstandingTask):
    """Answer a question on a judgment's 经审理查明 paragraph with a span (CAIL2019, LawBench 2-5)."""

    name = "reading_comprehension"
    applies_to = kinds(READING_QUESTION)
    lawbench = ("2-5",)
    answer_line = final_line(r"回答：[^\n]+")
    passage = "context"
    phrasings = (
        "请根据所给段落回答问题，回答尽可能简洁；如果段落中没有答案，请回答“{none}”。\n"
        "段落：{context}\n问题：{question}",
        "阅读下面的裁判文书片段，用原文中的词句回答问题（无法从材料中得出答案时回答“{none}”）。\n"
        "{context}\n\n问题：{question}",
        "材料：{context}\n\n根据上述材料，{question}\n请简要作答；材料未提及的，回答“{none}”。",
        "以下是一段案件事实：\n{context}\n请回答：{question}\n"
        "（答案应摘自材料；若材料不能回答，请说明“{none}”。）",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if self.too_long(record, ctx):
            return
        answers = record["answers"]
        span = UNANSWERABLE if record["impossible"] or not answers else answers[0]
        user = self.phrase(
            record, context=record["context"], question=record["question"], none=UNANSWERABLE
        )
        yield self.query(record, user, f"回答：{span}")


@register_step
class ArgumentMining(UnderstandingTask):
    """Pick the defence statement that answers a claim (LawBench 2-8), or the side of a sentence."""

    name = "argument_mining"
    applies_to = kinds(ARGUMENT_CHOICE)
    lawbench = ("2-8",)
    answer_line = final_line("正确答案：[A-E]")
    answer_chars = (6, 2000)
    passage = "claim"
    phrasings = (
        "请根据给定的诉方观点，从A、B、C、D、E五个辩方候选观点中选出与之形成争议观点对的一项。\n"
        "诉方观点：{claim}\n{options}",
        "下面是一条诉方（原告或公诉方）的观点和五条辩方观点，哪一条辩方观点是针对该诉方观点提出的？\n"
        "诉方：{claim}\n候选辩方观点：\n{options}",
        "{claim}\n——以上为诉方陈述。以下哪一项辩方陈述与其构成争议？\n{options}",
    )
    position_phrasings = (
        "下面这句话出自一份{case}的裁判文书，它是哪一方的陈述？\n“{claim}”\n{options}",
        "判断以下陈述属于诉方还是辩方。案件类型：{case}\n陈述：{claim}\n{options}",
        "在{case}中，有这样一句陈述：{claim}\n请问这是哪一方的观点？\n{options}",
    )

    def phrasings_for(self, record: Record) -> tuple[str, ...]:
        return self.position_phrasings if len(record["options"]) == 2 else self.phrasings

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if self.too_long(record, ctx):
            return
        options, letter = record["options"], record["answer"]
        listed = "\n".join(f"{k}. {v}" for k, v in sorted(options.items()))
        if len(options) == 2:
            category, cause = record.get("category") or "", record.get("cause") or ""
            case = f"{category}案件" if category else "案件"
            case += f"（{cause}）" if cause else ""
            user = self.phrase(record, claim=record["claim"], options=listed, case=case)
            answer = f"这句话是{options[letter]}的陈述。\n\n正确答案：{letter}"
        else:
            user = self.phrase(record, claim=record["claim"], options=listed)
            answer = (
                f"与诉方观点形成争议的辩方观点是{letter}：{options[letter]}\n\n正确答案：{letter}"
            )
        yield self.query(record, user, answer)


@register_step
class DisputeFocus(UnderstandingTask):
    """Name the points in dispute of a civil judgment from its 诉称/辩称/裁判分析 (CAIL2021)."""

    name = "dispute_focus"
    applies_to = kinds(DISPUTE_FOCUS)
    answer_line = final_line(r"争议焦点：[^\n]+")
    passage = "text"
    phrasings = (
        "请阅读以下裁判文书段落，归纳本案的争议焦点。\n{text}",
        "{text}\n\n根据上述诉辩意见和法院分析，本案当事人争议的焦点是什么？",
        "以下是一份民事判决书的诉称、辩称和裁判分析部分，请指出双方的争议焦点，并列出原告的诉讼请求和被告的抗辩事由（如有）。\n{text}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if self.too_long(record, ctx) or not record["focus"]:
            return
        lines = []
        if record["claims"]:
            lines.append("诉讼请求：" + "；".join(record["claims"]))
        if record["defenses"]:
            lines.append("抗辩事由：" + "；".join(record["defenses"]))
        lines.append("争议焦点涉及：")
        lines += [f"{i}. {f}" for i, f in enumerate(record["focus"], 1)]
        answer = "\n".join(lines) + "\n\n争议焦点：" + "；".join(record["focus"])
        yield self.query(record, self.phrase(record, text=record["text"]), answer)


@register_step
class EntityExtraction(UnderstandingTask):
    """Extract typed entities from a judgment sentence (CAIL2022 xxcq, LawBench 2-6 format)."""

    name = "entity_extraction"
    applies_to = kinds(ENTITY_SENTENCE)
    lawbench = ("2-6",)
    #: the whole answer is the line: ``人名:林某某、徐某某;毒品:海洛因``
    answer_line = r"\A[^:;\n]+:[^;\n]+(?:;[^:;\n]+:[^;\n]+)*\Z"
    answer_chars = (3, 3000)
    passage = "sentence"
    phrasings = (
        "依据给出的实体类型提取句子中的实体信息，实体类型包括：{types}。逐个列出实体信息。\n"
        "句子：{sentence}",
        "请从下面的裁判文书句子中抽取{types}等实体，按“类型:实体”的格式输出，多个实体用“、”分隔，"
        "不同类型用“;”分隔。\n{sentence}",
        "句子：{sentence}\n请识别其中的实体（类型：{types}），并逐类列出。",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if self.too_long(record, ctx) or not record["entities"]:
            return
        order = list(record.get("types") or [])
        by_type: dict[str, list[str]] = {}
        for e in record["entities"]:
            if e["type"] not in order:
                order.append(e["type"])
            values = by_type.setdefault(e["type"], [])
            if e["text"] not in values:
                values.append(e["text"])
        answer = ";".join(f"{t}:{'、'.join(by_type[t])}" for t in order if t in by_type)
        user = self.phrase(record, types="、".join(order), sentence=record["sentence"])
        yield self.query(record, user, answer)


@register_step
class CaseElementQA(UnderstandingTask):
    """Answer an element question about a case document: 是/否/不知道 or a short span (LeDQA)."""

    name = "case_element_qa"
    applies_to = kinds(ELEMENT_QUESTION)
    answer_line = final_line(r"回答：[^\n]+")
    passage = "document"
    phrasings = (
        "请阅读以下案件材料并回答问题。能从材料中确定的回答“是”或“否”（或给出简短答案），"
        "材料未涉及的回答“不知道”。\n材料：{document}\n问题：{question}",
        "{document}\n\n根据上述裁判文书内容，{question}（请回答是、否或不知道）",
        "案件材料如下：\n{document}\n请判断：{question}\n若材料没有提及，请回答“不知道”。",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if self.too_long(record, ctx):
            return
        user = self.phrase(record, document=record["document"], question=record["question"])
        yield self.query(record, user, f"回答：{record['answer']}")
