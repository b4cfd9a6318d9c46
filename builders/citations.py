"""Citations: find the statute articles an answer names, and check them against the statute index.

:func:`find_citations` reads ``《中华人民共和国刑法》第二百六十四条``, ``刑法第264条``,
``中华人民共和国刑法(2015)第二百三十四条`` and lists such as ``《刑法》第264条、第67条第一款`` (a bare
``第N条`` after a separator inherits the law before it). :class:`StatuteCatalog` is the compact key
index of the statutes the build reads (law titles, versions, article numbers, a hash of each
article's text; never the texts): it resolves an alias to the canonical title (刑法 → 中华人民共和国刑法)
and says whether the cited article exists, in which version, and whether the law is in force.

Statuses: ``current`` (the article exists in the latest version of a law in force), ``superseded``
(it exists only in an older version, or the citation names an older version), ``repealed`` (the
law was repealed as a whole, e.g. 合同法 by the Civil Code), ``mapped`` (a repealed or superseded
citation rewritten to the current provision), ``unknown_article`` (the law is known, the article is
not: usually a hallucinated number) and ``unknown_law``. ``verified`` means the article was found.
"""

from __future__ import annotations

import csv
import pickle
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .normalize import normalize_text
from .numerals import cn_to_int, int_to_cn
from .schema import stable_hash

if TYPE_CHECKING:
    from .recipe import Recipe

PRC = "中华人民共和国"
_NUM = "零〇一二两三四五六七八九十百千0-9"
_CITE = re.compile(
    rf"(?:《(?P<book>[^《》\n]{{2,120}})》)?"
    rf"(?:[（(](?P<ver>\d{{4}})(?:年)?(?:[^（）()\n]{{0,6}})?[）)])?"
    rf"第(?P<num>[{_NUM}]+)条(?:之(?P<sub>[一二三四五六七八九十]+))?"
    rf"(?P<tail>(?:第[{_NUM}]+[款项])*)"
)
_PLACEHOLDER = re.compile(r"第[XxＸ×＊*某]+条")
_JOINER = re.compile(
    rf"^(?:\s|、|，|,|；|和|及|以及|或者|或|与|至|到|（[一二三四五六七八九十]+）|第[{_NUM}]+[款项])*$"
)
_SELF_REFERENCE = (
    "本法",
    "该法",
    "本条例",
    "本规定",
    "本解释",
    "本办法",
    "本决定",
    "本细则",
    "同法",
)
#: Short names that are not a suffix of the title (suffixes such as 刑法 are derived).
EXTRA_ALIASES = {
    "民诉法": "中华人民共和国民事诉讼法",
    "刑诉法": "中华人民共和国刑事诉讼法",
    "行诉法": "中华人民共和国行政诉讼法",
    "民事诉讼法解释": "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释",
    "民诉法解释": "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释",
}


@dataclass(frozen=True)
class Cited:
    """One article reference as written in a text."""

    law: str | None  # as written (alias or title); None when no law is named
    article: int
    sub: int
    version: str  # a year when the citation names one, e.g. "2015"
    cited_as: str
    start: int
    end: int


def find_citations(text: str) -> tuple[list[Cited], int]:
    """Article references in ``text`` and the number of placeholder references (``第X条``).

    References with no law named (``第十条``, ``本法第十条``) are not returned: they cite the text
    itself, or nothing checkable.
    """
    out: list[Cited] = []
    prev: Cited | None = None
    for m in _CITE.finditer(text):
        try:
            article = cn_to_int(m.group("num"))
            sub = cn_to_int(m.group("sub")) if m.group("sub") else 0
        except ValueError:
            continue
        law = m.group("book")
        start = m.start()
        if law is None:
            law, start = _law_before(text, m.start())
        if law is None and prev is not None and _JOINER.match(text[prev.end : m.start()]):
            law = prev.law
        if law is None or law in _SELF_REFERENCE:
            prev = None
            continue
        law = law.replace("〈", "《").replace("〉", "》")
        cited = Cited(
            law, article, sub, m.group("ver") or "", text[start : m.end()], start, m.end()
        )
        out.append(cited)
        prev = cited
    return out, len(_PLACEHOLDER.findall(text))


_ALIAS_HEAD = re.compile(r"[\u4e00-\u9fff（）()《》〈〉]{2,60}$")
_VERSION_END = re.compile(r"[（(]\d{4}[^（）()]{0,8}[）)]$")


def _law_before(text: str, pos: int) -> tuple[str | None, int]:
    """A law name written right before ``pos`` without book-title marks (刑法第264条), and where
    it starts. The longest name the statute index knows wins (中华人民共和国刑法 over 刑法)."""
    lo = max(0, pos - 60)
    head = text[lo:pos]
    v = _VERSION_END.search(head)
    core = head[: v.start()] if v else head
    m = _ALIAS_HEAD.search(core)
    if m is None:
        return None, pos
    span = m.group()
    for k in range(len(span), 1, -1):
        cand = span[-k:]
        if _looks_like_law(cand):
            return cand, lo + len(core) - k
    return None, pos


_KNOWN: set[str] = set()  # filled by StatuteCatalog.activate(): the aliases of the index


def _looks_like_law(name: str) -> bool:
    if _KNOWN:
        return name in _KNOWN
    return name.startswith(PRC) and name.endswith("法")


_HAN = re.compile(r"[\u4e00-\u9fff]")
#: characters that may stand right before a law's short name in a mention (根据合同法, 中华人民共和国合同法)
_MENTION_LEAD = set("据照按依反用于和及与或的是在即国")


@dataclass
class LawEntry:
    latest: str
    #: version -> {(article, sub): hash of the article text}
    versions: dict[str, dict[tuple[int, int], int]] = field(default_factory=dict)
    repealed_on: str = ""
    repealed_by: str = ""


@dataclass
class StatuteCatalog:
    laws: dict[str, LawEntry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    #: (regex pattern, repealed_on, repealed_by) from the recipe's ``mark_repealed`` step
    repealed: list[tuple[str, str, str]] = field(default_factory=list)
    #: (old law, article, sub) -> (new law, article, sub): the known Civil Code correspondences
    successor: dict[tuple[str, int, int], tuple[str, int, int]] = field(default_factory=dict)

    # -- building -------------------------------------------------------------------------
    def add(self, law: str, version: str, is_latest: bool, article: int, sub: int, text: str):
        entry = self.laws.get(law)
        if entry is None:
            entry = self.laws[law] = LawEntry(latest="")
        if is_latest:
            entry.latest = version
        entry.versions.setdefault(version, {})[(article, sub)] = stable_hash(text.strip())

    def finish(self) -> StatuteCatalog:
        for law, entry in self.laws.items():
            for pattern, on, by in self.repealed:
                if re.search(pattern, law):
                    entry.repealed_on, entry.repealed_by = on, by
                    break
            for alias in _aliases(law):
                self.aliases.setdefault(alias, law)
        for alias, law in EXTRA_ALIASES.items():
            if law in self.laws:
                self.aliases.setdefault(alias, law)
        return self

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self, protocol=5))

    @staticmethod
    def load(path: Path) -> StatuteCatalog:
        return pickle.loads(path.read_bytes())

    def activate(self) -> None:
        """Let :func:`find_citations` recognise un-bracketed law names of this index."""
        _KNOWN.clear()
        _KNOWN.update(self.aliases)
        for name in self.repealed_names():
            _KNOWN.update({name, PRC + name})

    def repealed_names(self) -> list[str]:
        """Short names of the laws the recipe's repeal rules name (合同法, 民法通则, ...)."""
        names: set[str] = set()
        for pattern, _on, _by in self.repealed:
            names.update(re.findall(r"[\u4e00-\u9fff]{2,}", pattern.replace(PRC, "")))
        return sorted(names, key=lambda n: (-len(n), n))

    def repealed_mentions(self, text: str) -> list[str]:
        """Repealed laws a text names as law (《合同法》, 根据婚姻法规定), article or not.

        A name inside a longer law name (劳动合同法, 经济合同法) is not a mention.
        """
        found = []
        for name in self.repealed_names():
            for m in re.finditer(re.escape(name), text):
                before = text[m.start() - 1] if m.start() else ""
                if before and _HAN.match(before) and before not in _MENTION_LEAD:
                    continue
                found.append(name)
                break
        return found

    # -- resolving ------------------------------------------------------------------------
    def canonical(self, name: str) -> str | None:
        name = name.strip().replace("(", "（").replace(")", "）")
        for cand in (name, name.replace("（", "(").replace("）", ")")):
            if cand in self.aliases:
                return self.aliases[cand]
        return None

    def _repealed_rule(self, law: str) -> tuple[str, str] | None:
        for pattern, on, by in self.repealed:
            if re.search(pattern, law):
                return on, by
        return None

    def resolve(self, cited: Cited) -> dict[str, Any]:
        base = {"article": cited.article, "sub": cited.sub, "cited_as": cited.cited_as}
        law = self.canonical(cited.law or "")
        if law is None:
            full = cited.law if (cited.law or "").startswith(PRC) else PRC + (cited.law or "")
            status = "repealed" if self._repealed_rule(full) else "unknown_law"
            name = full if status == "repealed" else cited.law or ""
            return {**base, "law": name, "version": "", "verified": False, "status": status}
        entry = self.laws[law]
        key = (cited.article, cited.sub)
        latest = entry.versions.get(entry.latest, {})
        holding = sorted(v for v, arts in entry.versions.items() if key in arts)
        if cited.version and cited.version < entry.latest[:4]:
            # The citation names an older version ("刑法(2015)"): the version then in force.
            older = [v for v in entry.versions if v[:4] <= cited.version]
            version = max(older) if older else cited.version
            found = key in entry.versions.get(version, {}) or (not older and key in latest)
            status = "superseded"
            if not found:
                return {
                    **base,
                    "law": law,
                    "version": version,
                    "verified": False,
                    "status": "unknown_article",
                }
        elif key in latest:
            status, version = "current", entry.latest
        elif holding:
            status, version = "superseded", holding[-1]
        else:
            return {
                **base,
                "law": law,
                "version": "",
                "verified": False,
                "status": "unknown_article",
            }
        if entry.repealed_on:
            status = "repealed"
        return {**base, "law": law, "version": version, "verified": True, "status": status}

    def current_provision(self, c: dict[str, Any]) -> dict[str, Any] | None:
        """The provision in force that replaced a repealed or superseded citation, if known."""
        key = (c["law"], c["article"], c["sub"])
        if key in self.successor:
            law, article, sub = self.successor[key]
            entry = self.laws.get(law)
            if entry is None or (article, sub) not in entry.versions.get(entry.latest, {}):
                return None
            return {
                "law": law,
                "article": article,
                "sub": sub,
                "version": entry.latest,
                "verified": True,
                "status": "mapped",
            }
        entry = self.laws.get(c["law"])
        if c["status"] != "superseded" or entry is None or entry.repealed_on:
            return None
        text_hash = entry.versions.get(c["version"], {}).get((c["article"], c["sub"]))
        same = [k for k, h in entry.versions.get(entry.latest, {}).items() if h == text_hash]
        if len(same) != 1:
            return None  # the text changed (or is ambiguous): no safe mapping
        article, sub = same[0]
        return {
            "law": c["law"],
            "article": article,
            "sub": sub,
            "version": entry.latest,
            "verified": True,
            "status": "mapped",
        }


def _aliases(law: str) -> Iterable[str]:
    yield law
    if law.startswith(PRC) and len(law) > len(PRC) + 1:
        yield law[len(PRC) :]


def book_title(law: str) -> str:
    """《law》, with book-title marks inside the title turned into 〈〉 as Chinese typography does."""
    return "《" + law.replace("《", "〈").replace("》", "〉") + "》"


def render(law: str, article: int, sub: int) -> str:
    """《law》第N条(之M), the way lawset's answers cite."""
    return f"{book_title(law)}第{int_to_cn(article)}条" + (f"之{int_to_cn(sub)}" if sub else "")


#: an article label as lawset's answers write it (第二百六十四条, 第十条之一), as a pattern
LABEL_PATTERN = r"第[零〇一二两三四五六七八九十百千万]+条(?:之[一二三四五六七八九十]+)?"
#: a reference as :func:`render` writes it (《中华人民共和国刑法》第二百六十四条), as a pattern
REFERENCE_PATTERN = rf"《[^《》\n]+》{LABEL_PATTERN}"


def repeal_rules(recipe: Recipe) -> list[tuple[str, str, str]]:
    """(title pattern, repealed on, repealed by) of every law the recipe marks repealed as a
    whole, from the steps that provide ``repeal_rules`` (``mark_repealed``)."""
    return [
        rule for s in recipe.steps_providing("repeal_rules") for rule in s.build().repeal_rules()
    ]


def load_successors() -> dict[tuple[str, int, int], tuple[str, int, int]]:
    """The shipped Civil Code correspondence table (builders/data/civil_code_map.tsv)."""
    text = resources.files("lawset.builders").joinpath("data/civil_code_map.tsv").read_text("utf-8")
    rows = [
        r for r in csv.reader(text.splitlines(), delimiter="\t") if r and not r[0].startswith("#")
    ]
    out = {}
    for old_law, old_article, new_law, new_article, *_ in rows[1:]:  # rows[0]: header
        out[(old_law, int(old_article), 0)] = (new_law, int(new_article), 0)
    return out


def build_catalog(recipe: Recipe, sources_root: Path) -> StatuteCatalog:
    """Read every statute source of the recipe (whatever ``--only`` selects) into a catalog."""
    from .sources import statute_articles

    catalog = StatuteCatalog(repealed=repeal_rules(recipe), successor=load_successors())
    for rec, simplified in statute_articles(recipe, sources_root):
        catalog.add(
            normalize_text(rec["law"], simplified),
            rec["version"],
            rec["is_latest"],
            rec["article"],
            rec["sub"],
            normalize_text(rec["text"], simplified),
        )
    return catalog.finish()
