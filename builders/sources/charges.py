"""Adapter for the criminal charge catalogue (pengxiao-song/LaWGPT ``resources/criminal_charges.json``).

One JSON array of 483 entries ``{"id", "charge", "chapter", "level1", "level2"}``. ``chapter`` is
not a chapter but the charge's article reference in the Criminal Law, with Arabic numbers:
``刑法第102条``, ``刑法第103条第1款``, ``刑法第120条之一``, ``刑法第114条、第115条第1款`` (a charge
defined over two articles), ``刑法第128条第2款、第3款``, and four entries that drop the ``刑法``
(``第119条第2款``, all in the 刑法 chapter 危害公共安全罪). One entry (骗购外汇罪) cites a 全国人大常委会
决定, not the Criminal Law: ``not_criminal_law``. The real chapter grouping is ``level1`` (章) and
``level2`` (节), with member counts such as ``（54）`` that are cut.

A ``charge`` record per charge: ``charge``, ``law`` (中华人民共和国刑法), ``article`` and ``sub`` (the
first article cited: 120 and 1 for 第120条之一), ``chapter`` (``第二章 危害公共安全罪`` or ``第三章 …罪 >
第四节 …罪``) and ``provisions``: every article the entry cites, as labels with their 款
(``["第一百一十四条", "第一百一十五条第一款"]``).

Article → charges (the reverse task ``article_charges``) is decided here, where the whole catalogue
is seen at once: each charge record carries ``_article_charges``, a list of ``[label, charges]``
for the articles whose *first* listed charge it is (so every article is asked about exactly once),
where ``charges`` are all the charges whose entry cites that article, in catalogue order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..numerals import article_label, cn_to_int, int_to_cn
from ..records import CHARGE
from . import register_adapter
from .common import FileAdapter, FileError, RecordError, load_json

LAW = "中华人民共和国刑法"
_REF = re.compile(
    r"^(?:刑法)?第(?P<num>\d+)条(?:之(?P<sub>[一二三四五六七八九十]+))?"
    r"(?P<paras>(?:第\d+款)(?:、第\d+款)*)?"
    r"(?P<more>(?:、第\d+条(?:之[一二三四五六七八九十]+)?(?:第\d+款)?)*)$"
)
_ONE = re.compile(
    r"第(?P<num>\d+)条(?:之(?P<sub>[一二三四五六七八九十]+))?(?P<paras>(?:第\d+款)(?:、第\d+款)*)?"
)
_COUNT = re.compile(r"\s*[（(]\d+[）)]\s*$")


def parse_reference(ref: str) -> list[tuple[int, int, str]]:
    """``刑法第114条、第115条第1款`` → ``[(114, 0, "第一百一十四条"), (115, 0, "第一百一十五条第一款")]``.

    Raises ``ValueError`` for anything that is not a Criminal Law article reference.
    """
    ref = ref.strip()
    if not _REF.match(ref):
        raise ValueError(f"not a Criminal Law article reference: {ref!r}")
    out = []
    for m in _ONE.finditer(ref):
        number = int(m["num"])
        sub = cn_to_int(m["sub"]) if m["sub"] else 0
        paras = re.findall(r"\d+", m["paras"] or "")
        label = article_label(number, sub)
        if paras:
            label += "第" + "、第".join(f"{int_to_cn(int(p))}款" for p in paras)
        out.append((number, sub, label))
    return out


def chapter_of(level1: str, level2: str) -> str:
    """``第三章 …罪（110）`` + ``第四节 …罪(30)`` → ``第三章 …罪 > 第四节 …罪`` (counts cut)."""
    parts = [_COUNT.sub("", x).strip() for x in (level1, level2)]
    return " > ".join(p for p in parts if p)


def _check(raw: Any) -> tuple[str, list[tuple[int, int, str]]]:
    """The charge and its parsed article references, or :class:`RecordError`."""
    if not isinstance(raw, dict):
        raise RecordError("not_an_object", f"expected a JSON object, got {type(raw).__name__}")
    charge = raw.get("charge")
    if not isinstance(charge, str) or not charge.strip():
        raise RecordError("missing_field", "field 'charge' is missing or empty")
    charge = charge.strip()
    if not charge.endswith("罪"):
        raise RecordError("bad_charge", f"charge {charge!r} does not end in 罪")
    ref = raw.get("chapter")
    if not isinstance(ref, str) or not ref.strip():
        raise RecordError("missing_field", "field 'chapter' (the article) is missing or empty")
    try:
        return charge, parse_reference(ref)
    except ValueError as exc:
        raise RecordError("not_criminal_law", str(exc)) from None


@register_adapter
class ChargesAdapter(FileAdapter):
    """The LaWGPT charge catalogue: one ``charge`` record per charge."""

    name = "charges"
    patterns = ("resources/criminal_charges.json",)

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        data, _repaired = load_json(path)
        if not isinstance(data, list):
            raise FileError("not_a_json_array", f"expected a JSON array, got {type(data).__name__}")
        # article label (without 款) -> charges citing it, in catalogue order
        by_article: dict[str, list[str]] = defaultdict(list)
        owner: dict[str, int] = {}
        for i, raw in enumerate(data):
            try:
                charge, refs = _check(raw)
            except RecordError:
                continue  # rejected by parse, with its reason
            for number, sub, _label in refs:
                key = article_label(number, sub)
                if charge not in by_article[key]:
                    by_article[key].append(charge)
                owner.setdefault(key, i)
        for i, raw in enumerate(data):
            if isinstance(raw, dict):
                owned = [[key, by_article[key]] for key, j in owner.items() if j == i]
                raw = {**raw, "_article_charges": owned}
            yield f"item {i}", raw

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        charge, refs = _check(raw)
        number, sub, _ = refs[0]
        yield CHARGE.make(
            str(raw.get("id") or where),
            charge=charge,
            law=LAW,
            article=number,
            sub=sub,
            chapter=chapter_of(str(raw.get("level1") or ""), str(raw.get("level2") or "")),
            provisions=[label for _, _, label in refs],
            _article_charges=raw.get("_article_charges", []),
        )
