"""JuDGE (illusion5556/JuDGE) test split: criminal cases with their full judgment documents.

``data/test.json`` is JSONL: ``{"text_id": "...", "text": " 公诉机关指控：...", "la": [266, 67, 23],
"fd": "上海市奉贤区人民法院 刑事判决书 ... 本院认为，... 判决如下： 被告人张3犯诈骗罪，判处有期徒刑七个月，
并处罚金人民币三万元。 ... 如不服本判决，..."}``. ``text`` is the fact, ``la`` the 刑法 article
numbers, ``fd`` the full document with paragraph breaks flattened to spaces.

What is read from the document, and the decisions behind it:

- ``opinion``: from ``本院认为`` up to ``判决如下`` (the court's reasoning, ending with the
  ``依照...之规定`` clause).
- The sentence (判决主文): from ``判决如下`` up to ``如不服本判决`` / ``本判决为终审判决`` / the
  judges' signatures / ``附：相关法律条文``. :func:`sentence_of` (builders/sources/judgments.py) gives it to task generators.
- ``charges``: every ``犯X罪`` in the sentence that follows a party (``被告人张3犯...``) or a
  separator (``；犯...``); ``与之前犯诈骗罪...并罚`` names an earlier conviction and is not taken.
- ``term_months``: only when the sentence concerns one defendant, since a case record has one
  term. With several counts the executed term after ``决定执行`` is taken; a single count gives
  its own penalty. 有期徒刑 and 拘役 count in months (days dropped: ``又十五天``), as CAIL counts
  them; 免予刑事处罚 and a fine alone (``犯盗窃罪，判处罚金...``) are 0, as in CAIL; 管制 (not
  custodial), a sentence that repeats a quashed one (``撤销...即判处有期徒刑七年``) and anything
  else ambiguous leave it None. 无期徒刑 and
  死刑 (including 死缓) set their flags.
- ``laws``: the articles of other laws named in the ``依照...之规定`` clause (刑诉法, judicial
  interpretations), ``articles``: ``la``.
- Defendants are anonymised (张3), but judges, clerks, lawyers and some parties keep their real
  names, so the recipe marks the source ``real_names: true``; it is a benchmark test split, so
  ``held_out: test``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..citations import find_citations
from ..numerals import cn_to_int, int_to_cn
from ..records import CASE
from . import register_adapter
from .charge_names import CHARGE_RUN, split_charges
from .common import FileAdapter, article_numbers, require, text_of
from .judgments import sentence_of

CRIMINAL_LAW = "中华人民共和国刑法"
_NUM = "零〇一二两三四五六七八九十百千万0-9"
_PARTY = r"(?:上诉人(?:（原审被告人）|\(原审被告人\))?|原审被告人|被告人|被告单位|罪犯)"
_CHARGE = re.compile(
    rf"(?:(?:{_PARTY}|[一二三四五六七八九十]+、)[^，,。；;：:犯（）()\s]{{1,30}}?|[；;，,]\s*|^\s*)"
    rf"犯(?P<run>{CHARGE_RUN})"
)
_DEFENDANT = re.compile(rf"{_PARTY}(?P<name>[^，,。；;：:犯（）()\s]{{1,12}}?)犯")
_PENALTY = re.compile(
    rf"(?P<kind>有期徒刑|拘役|管制)\s*(?:(?P<y>[{_NUM}]+)\s*年)?\s*(?:零\s*)?"
    rf"(?:(?P<m>[{_NUM}]+)\s*个?月)?"
    r"|(?P<life>无期徒刑)|(?P<death>死刑)|(?P<exempt>免予刑事处罚)"
)
_EXECUTED = re.compile(r"决定(?:合并)?执行")
_FINE_ONLY = re.compile(r"罪[，,]\s*(?:单处|判处)罚金")
_OPINION = re.compile(r"本院认为.*?(?=判决如下)", re.S)
_BASIS = re.compile(r"依照.*?(?:之规定|的规定|规定)", re.S)


def opinion_of(document: str) -> str:
    """``本院认为...`` up to ``判决如下`` (trailing punctuation removed), or ""."""
    m = _OPINION.search(document)
    return m.group().strip().rstrip("，,：:").strip() if m else ""


def charges_of(sentence: str) -> list[str]:
    """The charges a sentence convicts of, in order, each ending in 罪."""
    out: dict[str, None] = {}
    for m in _CHARGE.finditer(sentence):
        for c in split_charges(m.group("run")):
            out.setdefault(c, None)
    return list(out)


def _number(s: str | None) -> int:
    return cn_to_int(s) if s else 0


def penalty_of(sentence: str) -> dict[str, Any] | None:
    """``{term_months, death_penalty, life_imprisonment}`` of a one-defendant sentence, or None
    when it cannot be read unambiguously."""
    if len({m.group("name") for m in _DEFENDANT.finditer(sentence)}) > 1:
        return None
    executed = list(_EXECUTED.finditer(sentence))
    scope = sentence[executed[-1].end() :] if executed else sentence
    found = list(_PENALTY.finditer(scope))
    if executed:
        found = found[:1]
    if not found and _FINE_ONLY.search(sentence):
        return {"term_months": 0, "death_penalty": False, "life_imprisonment": False}
    main = [
        m for m in found if m.group("life") or m.group("death") or m.group("exempt") or _has_term(m)
    ]
    if len(main) != 1:
        return None
    m = main[0]
    if m.group("death"):
        return {"term_months": None, "death_penalty": True, "life_imprisonment": False}
    if m.group("life"):
        return {"term_months": None, "death_penalty": False, "life_imprisonment": True}
    if m.group("exempt"):
        return {"term_months": 0, "death_penalty": False, "life_imprisonment": False}
    if m.group("kind") == "管制":
        return None
    try:
        months = _number(m.group("y")) * 12 + _number(m.group("m"))
    except ValueError:
        return None
    return {"term_months": months, "death_penalty": False, "life_imprisonment": False}


def _has_term(m: re.Match[str]) -> bool:
    return bool(m.group("kind") and (m.group("y") or m.group("m")))


def other_laws(opinion: str) -> list[str]:
    """Articles of laws other than 刑法 named in the ``依照...之规定`` clause, as 《law》第N条."""
    out: dict[str, None] = {}
    for basis in _BASIS.findall(opinion):
        cited, _ = find_citations(basis)
        for c in cited:
            law = (c.law or "").strip()
            if law in ("刑法", CRIMINAL_LAW):
                continue
            label = f"第{int_to_cn(c.article)}条" + (f"之{int_to_cn(c.sub)}" if c.sub else "")
            out.setdefault(f"《{law}》{label}", None)
    return list(out)


def _title(document: str) -> tuple[str, str]:
    head = document[:120]
    m = re.search(r"(刑事|民事|行政)?\s*(判决书|裁定书|调解书)", head)
    if m is None:
        return "", ""
    return re.sub(r"\s+", "", head[: m.end()]), m.group(2)


@register_adapter
class Judge(FileAdapter):
    """JuDGE ``data/*.json`` JSONL → ``case`` records with the judgment's reasoning and sentence."""

    name = "judge"
    patterns = ("data/*.json",)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw)
        fact = text_of(raw, "text")
        document = raw.get("fd") if isinstance(raw.get("fd"), str) else ""
        articles = article_numbers(raw.get("la") or [], "la")
        sentence = sentence_of(document)
        opinion = opinion_of(document)
        penalty = penalty_of(sentence) if sentence else None
        title, doc_type = _title(document)
        yield CASE.make(
            str(raw.get("text_id") or f"{rel}#{where}"),
            fact=fact,
            articles=articles,
            laws=other_laws(opinion),
            charges=charges_of(sentence),
            opinion=opinion,
            judgment=document.strip(),
            title=title,
            doc_type=doc_type,
            **(penalty or {}),
        )
