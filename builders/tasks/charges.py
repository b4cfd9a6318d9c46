"""Memorization tasks from the criminal charge catalogue (``charge`` records).

- ``charge_article``: where is charge X defined? The answer names every article (and 款) the
  catalogue gives and ends with the memorization citation line
  ``法条：《中华人民共和国刑法》第一百一十四条、第一百一十五条`` (articles only, Chinese numerals).
- ``article_charges``: which charges does 刑法第N条 define? Grouped per article by the adapter (each
  article is owned by its first charge record, so it is asked once), answered ``罪名：X罪、Y罪``.

Queries about one article share the group of the memorization tasks on that article
(``statute:中华人民共和国刑法/第N条``), so a charge question and the recitation of its article land
in the same split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..citations import LABEL_PATTERN, REFERENCE_PATTERN, book_title
from ..numerals import article_label, parse_article_label
from ..pipeline.base import Context, Record, TaskGenerator, final_line, register_step
from ..records import CHARGE, kinds
from ..schema import statute_group

_LABEL = re.compile(r"第[^条第]+条(?:之[一二三四五六七八九十]+)?")


def _articles(record: Record) -> list[str]:
    """The article labels (without 款) of a charge's provisions, in order, deduplicated."""
    out: list[str] = []
    for provision in record["provisions"]:
        m = _LABEL.match(provision)
        if m and m.group() not in out:
            out.append(m.group())
    return out or [article_label(record["article"], record["sub"])]


class ChargeTask(TaskGenerator):
    """A question on the charge catalogue; a query about an article gets that article's group
    (``group=`` at each query: one charge record speaks of several articles)."""

    applies_to = kinds(CHARGE)
    level = "memorization"


@register_step
class ChargeArticle(ChargeTask):
    """X罪规定在刑法第几条？ (one query per charge)."""

    name = "charge_article"
    answer_line = final_line(f"法条：{REFERENCE_PATTERN}(?:、{LABEL_PATTERN})*")
    phrasings = (
        "{charge}规定在刑法第几条？",
        "{book}中，{charge}规定在哪一条？",
        "{charge}的法律依据是刑法的哪一条？",
        "请指出{charge}在{book}中对应的条文。",
        "哪一条法律规定了{charge}？",
    )

    def phrase_key(self, record: Record) -> tuple[str, ...]:
        return (record["source_id"], record["charge"])

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        book = book_title(record["law"])
        labels = _articles(record)
        user = self.phrase(record, charge=record["charge"], book=book)
        where = "、".join(record["provisions"])
        answer = f"{record['charge']}规定在{book}{where}"
        if record["chapter"]:
            answer += f"，属于刑法分则{record['chapter'].replace(' > ', '，')}"
        answer += f"。\n\n法条：{book}{'、'.join(labels)}"
        yield self.query(record, user, answer, group=statute_group(record["law"], labels[0]))


@register_step
class ArticleCharges(ChargeTask):
    """刑法第N条规定了哪些罪名？ (one query per article, all its charges)."""

    name = "article_charges"
    answer_line = final_line(r"罪名：[^\n]+罪")
    answer_chars = (8, 600)
    phrasings = (
        "{book}{label}规定了哪些罪名？",
        "刑法第{arabic}涉及哪些罪名？",
        "请列出{book}{label}规定的全部罪名。",
        "依据刑法{label}定罪的罪名有哪些？",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        book = book_title(record["law"])
        for label, charges in record.get("_article_charges", []):
            number, sub = parse_article_label(label)
            arabic = f"{number}条" + (label[label.index("之") :] if sub else "")
            user = self.phrase(record, key=(label,), book=book, label=label, arabic=arabic)
            listed = "、".join(charges)
            if len(charges) == 1:
                body = f"{book}{label}规定的罪名是{listed}。"
            else:
                body = f"{book}{label}涉及{len(charges)}个罪名：{listed}。"
            yield self.query(
                record, user, f"{body}\n\n罪名：{listed}", group=statute_group(record["law"], label)
            )
