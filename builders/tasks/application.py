"""Application-level tasks made from criminal cases (LawBench level 3: 3-1, 3-3, 3-4, 3-5).

Every task works on ``case`` records (cail2018, mlmn, judge, lecard, lecardv2, ...) and ends its
answer in the line LawBench scores by rule:

- ``article_prediction`` (3-1): ``法条：刑法第264条、刑法第67条`` (Arabic numbers, as LawBench's gold;
  the ``citations`` step resolves them against the statute index).
- ``charge_prediction`` (3-3): ``罪名：盗窃罪、诈骗罪``.
- ``prison_term`` (3-4) and ``prison_term_with_articles`` (3-5): ``刑期：N个月``, ``刑期：无期徒刑``
  or ``刑期：死刑``. 0 months is kept by default (``keep_zero_months``): CAIL writes 0 when no
  fixed-term imprisonment or criminal detention was imposed (fine only, exemption), and LawBench's
  3-4/3-5 gold keeps such cases as ``刑期:0个月`` (29 of 500 items); a case whose term is unknown
  (None, e.g. 拘役 of unrecorded length, several defendants) makes no query.
- ``case_judgment``: the court's reasoning (本院认为...) and its sentence (判决如下...), followed by
  ``罪名：...`` and ``刑期：...`` lines when the case has them; only then is it ``structured``.

Decisions: a fact longer than ``max_fact_chars`` makes no query (counted in the stats as
``skipped`` → ``<task>:fact_too_long``), since LawBench facts are short and long facts would be cut
by the ``text_length`` filter anyway. All queries about one case share the group
``case:<source>:<source_id>``, or the record's ``_group`` when an adapter sets one because several
records come from one judgment (MLMN), so a case never straddles splits. Phrasings are picked by
a stable hash of the task and the case, so builds are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from pydantic import Field

from ..pipeline.base import Context, Record, StepParams, TaskGenerator, final_line, register_step
from ..records import CASE, kinds
from ..sources.judgments import sentence_of

#: the sentence line of the prison-term tasks and of judgments
TERM_LINE = r"刑期：(?:\d+个月|无期徒刑|死刑)"


class CaseTaskParams(StepParams):
    max_fact_chars: int = Field(
        4000, ge=1, description="cases whose fact is longer make no query (stats: fact_too_long)"
    )


class PrisonTermParams(CaseTaskParams):
    keep_zero_months: bool = Field(
        True,
        description="make queries for cases with no imprisonment (刑期：0个月), as LawBench's gold "
        "keeps them; false skips them",
    )


def article_line(articles: list[int]) -> str:
    return "法条：" + "、".join(f"刑法第{a}条" for a in articles)


def charge_line(charges: list[str]) -> str:
    return "罪名：" + "、".join(charges)


def term_value(record: Record) -> str | None:
    """``N个月``, ``死刑`` or ``无期徒刑``; None when the sentence is unknown."""
    if record.get("death_penalty"):
        return "死刑"
    if record.get("life_imprisonment"):
        return "无期徒刑"
    months = record.get("term_months")
    return None if months is None else f"{months}个月"


class CaseTask(TaskGenerator):
    """A question on the facts of a criminal case."""

    applies_to = kinds(CASE)
    level = "application"
    Params: ClassVar[type[StepParams]] = CaseTaskParams

    def group(self, record: Record) -> str:
        """Every query about one case (or one judgment, when the adapter sets ``_group``)."""
        return record.get("_group") or f"case:{record['source']}:{record['source_id']}"

    def fact(self, record: Record, ctx: Context) -> str | None:
        """The fact to ask about, or None (counted) when it is empty or too long."""
        fact = (record.get("fact") or "").strip()
        if not fact:
            ctx.stats.count("skipped", f"{self.name}:no_fact")
            return None
        if len(fact) > self.params.max_fact_chars:
            ctx.stats.count("skipped", f"{self.name}:fact_too_long")
            return None
        return fact

    def has(self, record: Record, ctx: Context, label: str) -> bool:
        """Whether the case has the label (``articles``, ``charges``) the answer is made of; a
        case without it makes no query (counted as ``<task>:no_<label>``)."""
        if record.get(label):
            return True
        ctx.stats.count("skipped", f"{self.name}:no_{label}")
        return False


@register_step
class ArticlePrediction(CaseTask):
    """Which 刑法 articles apply to these facts? (LawBench 3-1); only cases with articles."""

    name = "article_prediction"
    lawbench = ("3-1",)
    #: the whole answer is the line, in Arabic numbers as LawBench's gold
    answer_line = r"\A法条：刑法第\d+条(?:、刑法第\d+条)*\Z"
    answer_chars = (7, 400)
    phrasings = (
        "根据下列案件事实，给出本案涉及的刑法法条。\n事实：{fact}",
        "请阅读以下案情，指出法院判决时应当适用的《中华人民共和国刑法》条文编号。\n{fact}",
        "事实：{fact}\n请问本案应当依据刑法哪些条文定罪量刑？",
        "作为一名刑事法官，请根据下面的案件事实列出所适用的刑法条文。\n案件事实：{fact}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        fact = self.fact(record, ctx) if self.has(record, ctx, "articles") else None
        if fact is not None:
            yield self.query(
                record, self.phrase(record, fact=fact), article_line(record["articles"])
            )


@register_step
class ChargePrediction(CaseTask):
    """What is the defendant guilty of? (LawBench 3-3); only cases with charges."""

    name = "charge_prediction"
    lawbench = ("3-3",)
    answer_line = final_line(r"罪名：[^、\n]+(?:、[^、\n]+)*")
    answer_chars = (4, 300)
    phrasings = (
        "请你模拟法官，根据下列事实给出被告人所犯的罪名。\n事实：{fact}",
        "以下是一起刑事案件的事实，请判断被告人构成何种犯罪。\n{fact}",
        "案件事实：{fact}\n根据上述事实，被告人的行为应当认定为什么罪？",
        "阅读下面的案情描述，给出本案的罪名。\n{fact}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        fact = self.fact(record, ctx) if self.has(record, ctx, "charges") else None
        if fact is not None:
            yield self.query(record, self.phrase(record, fact=fact), charge_line(record["charges"]))


class TermTask(CaseTask):
    Params: ClassVar[type[StepParams]] = PrisonTermParams
    answer_line = final_line(TERM_LINE)
    answer_chars = (5, 12)

    def term(self, record: Record, ctx: Context) -> str | None:
        value = term_value(record)
        if value is None:
            ctx.stats.count("skipped", f"{self.name}:unknown_term")
            return None
        if value == "0个月" and not self.params.keep_zero_months:
            ctx.stats.count("skipped", f"{self.name}:zero_months")
            return None
        return value


def charges_clause(record: Record) -> str:
    return f"\n罪名：{'、'.join(record['charges'])}" if record.get("charges") else ""


@register_step
class PrisonTerm(TermTask):
    """How long a sentence? From the facts (and charges, where known) only (LawBench 3-4)."""

    name = "prison_term"
    lawbench = ("3-4",)
    phrasings = (
        "根据下列事实和罪名预测判决刑期，以月为单位。\n事实：{fact}{charges}",
        "请根据以下案件事实，预测法院对被告人判处的刑期。\n{fact}{charges}",
        "案件事实：{fact}{charges}\n如果你是法官，会判处被告人多长的刑期？请以月数回答。",
        "阅读下面的刑事案件，估计被告人将被判处的刑期（按月计算；死刑或无期徒刑请直接写明）。\n"
        "{fact}{charges}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        term = self.term(record, ctx)
        if term is None:
            return
        fact = self.fact(record, ctx)
        if fact is None:
            return
        user = self.phrase(record, fact=fact, charges=charges_clause(record))
        yield self.query(record, user, f"刑期：{term}")


@register_step
class PrisonTermWithArticles(TermTask):
    """The sentence, given the facts and the 刑法 articles the court applied (LawBench 3-5)."""

    name = "prison_term_with_articles"
    lawbench = ("3-5",)
    phrasings = (
        "根据下列事实、罪名和刑法法条预测判决刑期，以月为单位。\n事实：{fact}{charges}\n法条：{articles}",
        "本案适用{articles}。请结合以下案件事实，预测被告人的刑期。\n{fact}{charges}",
        "案件事实：{fact}{charges}\n相关法条：{articles}\n请依据上述法条给出判处的刑期（按月计算）。",
        "已知法院适用的法条为{articles}，请根据案情估计刑期。\n案情：{fact}{charges}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        if not self.has(record, ctx, "articles"):
            return
        term = self.term(record, ctx)
        if term is None:
            return
        fact = self.fact(record, ctx)
        if fact is None:
            return
        articles = "、".join(f"刑法第{a}条" for a in record["articles"])
        user = self.phrase(record, fact=fact, charges=charges_clause(record), articles=articles)
        yield self.query(record, user, f"刑期：{term}")


@register_step
class CaseJudgment(CaseTask):
    """Reason about the facts as the court did and give its sentence; cases with an opinion or a
    judgment document. Structured (stage 2) only when a 罪名 or 刑期 line can close the answer."""

    name = "case_judgment"
    structured = "per_query"
    answer_line = rf"(?:\A|\n)(?:罪名：[^\n]+\Z|(?:罪名：[^\n]+\n)?{TERM_LINE}\Z)"
    phrasings = (
        "请根据以下案件事实，撰写法院的裁判理由并给出判决结果。\n{fact}",
        "案件事实：{fact}\n请你作为审理本案的法官，说明本院认为的理由，并作出判决。",
        "下面是一起刑事案件的审理查明事实。请分析被告人的行为构成何罪、有哪些量刑情节，并给出判决主文。\n{fact}",
        "根据下列事实，写出判决书中“本院认为”部分和判决结果。\n事实：{fact}",
    )

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        opinion = (record.get("opinion") or "").strip()
        sentence = sentence_of(record.get("judgment") or "")
        if not opinion and not sentence:
            ctx.stats.count("skipped", f"{self.name}:no_judgment")
            return
        fact = self.fact(record, ctx)
        if fact is None:
            return
        if opinion and sentence and opinion.endswith("规定"):
            answer = f"{opinion}，判决如下：\n{sentence}"  # 依照...之规定，判决如下：
        else:
            parts = [opinion if opinion.endswith("。") else opinion + "。"] if opinion else []
            parts += [f"判决如下：\n{sentence}"] if sentence else []
            answer = "\n\n".join(parts)
        lines = []
        if record.get("charges"):
            lines.append(charge_line(record["charges"]))
        term = term_value(record)
        if term is not None:
            lines.append(f"刑期：{term}")
        if lines:
            answer += "\n\n" + "\n".join(lines)
        yield self.query(record, self.phrase(record, fact=fact), answer, structured=bool(lines))
