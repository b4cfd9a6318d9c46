"""Consultation tasks: legal advice (LawBench 3-8), dialogues, and scenario → article (LawBench 3-2).

Consultation records (lawyer-llama, ChatLaw demo) hold an LLM-written answer and, for some, the
statute articles retrieved for the question (``laws``: ``《民法典》第一千零七十六条：text``). Only
the articles the answer itself cites are named as its legal basis: the retrieval also returned
articles the answer did not use, and listing those would claim a basis the answer never argued.
References are written in full (``《中华人民共和国民法典》第一千零七十六条``): a short name that is
a national law (``民法典``, ``刑法``) gets the ``中华人民共和国`` prefix, as LawBench's gold does.

All queries about one consultation share a group keyed by its first user turn, so a question
asked in several files (zixun_gpt4 and legal_counsel_with_article_v2 overlap) lands in one split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar, NamedTuple

from pydantic import Field

from ..citations import REFERENCE_PATTERN, book_title
from ..pipeline.base import Context, Record, StepParams, TaskGenerator, final_line, register_step
from ..records import CONSULTATION, kinds
from ..schema import stable_hash

PRC = "中华人民共和国"
_LAW_STRING = re.compile(
    r"^\s*《(?P<law>[^《》]{2,80})》\s*(?P<label>第[零〇一二两三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)"
    r"\s*[：:]?\s*(?P<text>.*)$",
    re.DOTALL,
)
#: Names that are not national laws of the NPC: they keep their name as written.
_NOT_NATIONAL = re.compile(r"条例|规定|办法|解释|决定|细则|规则|意见|通知|省|市|自治区")
_NOT_TEXT = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")
BASIS_LINE = "法律依据：{refs}"
ARTICLE_LINE = "法条：{refs}"


class LawRef(NamedTuple):
    law: str  # full title, e.g. 中华人民共和国民法典
    label: str  # 第一千零七十六条
    text: str  # the article text as the source quotes it ("" if none)

    @property
    def cited(self) -> str:
        return f"{book_title(self.law)}{self.label}"


def full_law_name(name: str) -> str:
    """``民法典`` → ``中华人民共和国民法典``; regulations, interpretations and local rules as written."""
    name = name.strip()
    if name.startswith(PRC) or _NOT_NATIONAL.search(name) or not name.endswith(("法", "法典")):
        return name
    return PRC + name


def law_ref(law: str) -> LawRef | None:
    """The law and article a ``laws`` string names (``《民法典》第一千零七十六条：...``)."""
    m = _LAW_STRING.match(law)
    if m is None:
        return None
    return LawRef(full_law_name(m.group("law")), m.group("label"), m.group("text").strip())


def cited_refs(record: Record, answers: Iterable[str]) -> list[LawRef]:
    """The record's ``laws`` that the answer text cites by article number, in the record's order,
    without repeats."""
    text = "\n".join(answers)
    out: list[LawRef] = []
    for law in record.get("laws") or []:
        ref = law_ref(law)
        if ref is None or ref in out or ref.label not in text:
            continue
        out.append(ref)
    return out


def history_of(record: Record) -> list[dict[str, str]]:
    """The earlier turns, with the normalized and masked contents from ``_history_text`` (the
    normalize step cannot reach inside the dicts of ``history``)."""
    turns = record.get("history") or []
    texts = record.get("_history_text")
    if isinstance(texts, list) and len(texts) == len(turns):
        return [{"role": t["role"], "content": c} for t, c in zip(turns, texts, strict=True)]
    return [{"role": t["role"], "content": t["content"]} for t in turns]


class ConsultationTask(TaskGenerator):
    """A task on a consultation record. All queries about one consultation share a group keyed
    by its first user turn."""

    applies_to = kinds(CONSULTATION)
    level = "application"

    def group(self, record: Record) -> str:
        first = next((t["content"] for t in history_of(record) if t["role"] == "user"), None)
        key = _NOT_TEXT.sub("", first if first is not None else record["question"])
        return record.get("_group") or f"consultation:{stable_hash(key):016x}"


class ConsultationParams(StepParams):
    legal_basis: bool = Field(
        True,
        description="end answers whose text cites the record's retrieved articles with a "
        "'法律依据：《...》第N条' line (the structured form)",
    )


class _AdviceTask(ConsultationTask):
    """The lawyer's answer to a consultation (single-turn, or the last turn of a dialogue),
    structured when it ends in the ``法律依据：`` line."""

    Params = ConsultationParams
    dialogue: ClassVar[bool] = False
    structured = "per_query"
    answer_line = final_line(f"法律依据：{REFERENCE_PATTERN}(?:、{REFERENCE_PATTERN})*")
    phrasings = (
        "{question}",
        "我想咨询一个法律问题：{question}",
        "请以专业律师的身份解答下面的法律咨询。\n{question}",
        "{question}\n请结合相关法律规定给出建议。",
    )
    #: the phrasings of records whose topic is not a consultation (exam questions, legal Q&A)
    other_phrasings: ClassVar[tuple[str, ...]] = (
        "{question}",
        "请回答下面的法律问题。\n{question}",
        "请运用法律知识分析并回答：\n{question}",
    )

    def selects(self, record: Record) -> bool:
        return bool(record.get("history")) == self.dialogue

    def phrasings_for(self, record: Record) -> tuple[str, ...]:
        return self.phrasings if record.get("topic") == "consultation" else self.other_phrasings

    def with_basis(self, record: Record, answer: str, answers: list[str]) -> tuple[str, bool]:
        refs = cited_refs(record, answers) if self.params.legal_basis else []
        if not refs:
            return answer, False
        line = BASIS_LINE.format(refs="、".join(r.cited for r in refs))
        return f"{answer}\n\n{line}", True


@register_step
class Consultation(_AdviceTask):
    """A single-turn consultation (LawBench 3-8): the answer, then ``法律依据：`` when the answer
    cites the retrieved articles. Answers are LLM-written prose: structured only with that line."""

    name = "consultation"
    lawbench = ("3-8",)

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        answer, structured = self.with_basis(record, record["answer"], [record["answer"]])
        user = self.phrase(record, question=record["question"])
        yield self.query(record, user, answer, structured=structured)


@register_step
class ConsultationDialogue(_AdviceTask):
    """A multi-turn consultation: the earlier turns, then the last question and its answer; the
    last answer ends with ``法律依据：`` for the retrieved articles any lawyer turn cited."""

    name = "consultation_dialogue"
    dialogue = True

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        turns = history_of(record)
        said = [t["content"] for t in turns if t["role"] == "assistant"] + [record["answer"]]
        answer, structured = self.with_basis(record, record["answer"], said)
        first = {"role": "user", "content": self.phrase(record, question=turns[0]["content"])}
        history = [first, *(dict(t) for t in turns[1:])]
        yield self.query(record, record["question"], answer, history=history, structured=structured)


class ScenarioArticleParams(StepParams):
    max_articles: int = Field(3, ge=1, description="scenarios citing more articles make no task")
    max_article_chars: int = Field(
        1500, ge=1, description="articles longer than this are not quoted (no task)"
    )


@register_step
class ScenarioArticle(ConsultationTask):
    """Scenario → applicable article(s) with their text (LawBench 3-2), from consultations whose
    answer cites retrieved articles: the client's (first) question is the scenario, the answer
    quotes each cited article and ends ``法条：《中华人民共和国民法典》第一千零七十九条``."""

    name = "scenario_article"
    lawbench = ("3-2",)
    quotes_statute = True
    answer_line = final_line(f"法条：{REFERENCE_PATTERN}(?:、{REFERENCE_PATTERN})*")
    Params = ScenarioArticleParams
    phrasings = (
        "场景：{scenario}\n请根据上述场景给出适用的法律依据，并写出法条内容。",
        "{scenario}\n这种情况适用哪条法律规定？请引用法条原文。",
        "请根据以下场景指出相关法条并引用其内容：\n{scenario}",
        "场景：{scenario}\n根据哪条法律规定处理？",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if not record.get("laws"):
            return
        turns = history_of(record)
        said = [t["content"] for t in turns if t["role"] == "assistant"] + [record["answer"]]
        refs = [r for r in cited_refs(record, said) if r.text]
        if not refs:
            ctx.stats.count("skipped", f"{self.name}:no_cited_article")
            return
        p = self.params
        if len(refs) > p.max_articles or any(len(r.text) > p.max_article_chars for r in refs):
            ctx.stats.count("skipped", f"{self.name}:too_long")
            return
        scenario = turns[0]["content"] if turns else record["question"]
        body = "\n".join(f"根据{r.cited}：{r.text}" for r in refs)
        answer = f"{body}\n\n{ARTICLE_LINE.format(refs='、'.join(r.cited for r in refs))}"
        yield self.query(record, self.phrase(record, scenario=scenario), answer)
