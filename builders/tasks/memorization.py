"""Memorization-level tasks made from the statute index (LawBench level 1).

Every answer ends with the same machine-parseable citation line, ``法条：《X》第N条``, and the cited
article is recorded in ``citations`` (verified: it comes from the index itself). The phrasing of a
question is picked by a stable hash of the article and task, so builds are deterministic and the
phrasings spread evenly over the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import Field

from ..citations import REFERENCE_PATTERN, book_title
from ..pipeline.base import Context, Record, StepParams, TaskGenerator, final_line, register_step
from ..records import ARTICLE, kinds
from ..schema import stable_hash, statute_group

CITATION_LINE = "法条：{book}{label}"


def citation_line(article: Record) -> str:
    return CITATION_LINE.format(book=book_title(article["law"]), label=article["label"])


def article_citation(article: Record) -> dict[str, Any]:
    return {
        "law": article["law"],
        "article": article["article"],
        "sub": article["sub"],
        "version": article["version"],
        "verified": True,
        "status": "current",
        "cited_as": citation_line(article)[len("法条：") :],
    }


class MemorizationTask(TaskGenerator):
    """A question about one statute article; the answer quotes the law and ends in its citation
    line, and every query about the article (any version, any task) shares its group."""

    applies_to = kinds(ARTICLE)
    level = "memorization"
    quotes_statute = True
    answer_line = final_line(f"法条：{REFERENCE_PATTERN}")

    def group(self, article: Record) -> str:
        return statute_group(article["law"], article["label"])

    def phrase_key(self, article: Record) -> tuple[str, ...]:
        return (article["id"],)

    def phrase(self, article: Record, key: tuple[str, ...] | None = None, **fields: str) -> str:
        return super().phrase(
            article, key, book=book_title(article["law"]), label=article["label"], **fields
        )

    def query(self, article: Record, user: str, answer: str, **kw: Any) -> Record:
        """The query, its answer closed by the article's citation line (and its citation)."""
        return super().query(
            article,
            user,
            f"{answer}\n\n{citation_line(article)}",
            citations=[article_citation(article)],
            **kw,
        )


class RecitationParams(StepParams):
    max_chars: int = Field(3000, ge=1, description="longer articles are not recited")


@register_step
class ArticleRecitation(MemorizationTask):
    """Give the text of 《X》第N条 (LawBench 1-1)."""

    name = "article_recitation"
    lawbench = ("1-1",)
    Params = RecitationParams
    phrasings = (
        "请写出{book}{label}的内容。",
        "{book}{label}是怎么规定的？",
        "请背诵{book}{label}的条文原文。",
        "我想了解{book}{label}的具体规定，请给出原文。",
        "{book}{label}的原文是什么？",
        "请完整复述{book}{label}。",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if len(record["text"]) > self.params.max_chars:
            return
        answer = f"{book_title(record['law'])}{record['label']}规定：\n{record['text']}"
        yield self.query(record, self.phrase(record), answer)


class IdentificationParams(StepParams):
    min_chars: int = Field(20, ge=1, description="shorter texts are too generic to identify")
    max_chars: int = Field(400, ge=1)


@register_step
class ArticleIdentification(MemorizationTask):
    """Which article of 《X》 says this? Only for texts that occur once in the law."""

    name = "article_identification"
    Params = IdentificationParams
    phrasings = (
        "以下条文出自{book}的哪一条？\n{text}",
        "{book}中规定“{text}”的是第几条？",
        "请指出下面这段规定在{book}中的条号：\n{text}",
        "“{text}”——这是{book}哪一条的内容？",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        text = record["text"]
        if not (self.params.min_chars <= len(text) <= self.params.max_chars):
            return
        if not record.get("_unique_text", False):
            ctx.stats.count("skipped", "article_identification:text_not_unique")
            return
        where = f"（{' '.join(record['path'])}）" if record["path"] else ""
        answer = f"这段内容出自{book_title(record['law'])}{record['label']}{where}。"
        yield self.query(record, self.phrase(record, text=text), answer)


class FillInParams(StepParams):
    min_span: int = Field(4, ge=1, description="shortest clause that may be blanked")
    max_span: int = Field(30, ge=1, description="longest clause that may be blanked")
    max_chars: int = Field(600, ge=1, description="longer articles make no fill-in")


_CLAUSE = re.compile(r"[^，；。：、！？\n]+")


@register_step
class ArticleFillIn(MemorizationTask):
    """Blank one clause of an article (picked by a stable hash) and ask for it."""

    name = "article_fill_in"
    Params = FillInParams
    phrasings = (
        "请补全{book}{label}中的空缺部分：\n{masked}",
        "填空：{book}{label}规定，“{masked}”",
        "下面是{book}{label}，其中一处被____替代，请写出缺失的内容。\n{masked}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        text, p = record["text"], self.params
        if len(text) > p.max_chars:
            return
        spans = [
            m
            for m in _CLAUSE.finditer(text)
            if p.min_span <= len(m.group()) <= p.max_span and text.count(m.group()) == 1
        ]
        if not spans:
            return
        m = spans[stable_hash(record["id"] + "\x1ffill") % len(spans)]
        masked = text[: m.start()] + "____" + text[m.end() :]
        answer = f"空缺处应为：{m.group()}\n\n完整条文：{text}"
        yield self.query(record, self.phrase(record, masked=masked), answer)


class ItemsParams(StepParams):
    min_items: int = Field(2, ge=1)


@register_step
class ArticleItems(MemorizationTask):
    """List the items （一）（二）… an article enumerates."""

    name = "article_items"
    Params = ItemsParams
    phrasings = (
        "{book}{label}列举了哪些情形？",
        "根据{book}{label}，具体包括哪几项？请逐项列出。",
        "请列出{book}{label}规定的各项内容。",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        items = record["items"]
        if len(items) < self.params.min_items:
            return
        lead = record["text"].split(items[0], 1)[0].strip()
        body = "\n".join(items)
        answer = f"{book_title(record['law'])}{record['label']}共列举{len(items)}项：\n{body}"
        if lead:
            answer = f"{lead}\n{body}"
        yield self.query(record, self.phrase(record), answer)


@register_step
class ArticleChapter(MemorizationTask):
    """Where in the law's structure (编/章/节) an article sits."""

    name = "article_chapter"
    phrasings = (
        "{book}{label}位于该法的哪一编、章、节？",
        "{book}{label}属于哪一章？",
        "请说明{book}{label}在法律结构中的位置。",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if not record["path"]:
            return
        where = " > ".join(record["path"])
        answer = f"{book_title(record['law'])}{record['label']}位于：{where}。"
        yield self.query(record, self.phrase(record), answer)
