"""MLMN (gjdnju/MLMN): 故意伤害 and 交通肇事 cases with the articles their judgments cite.

Per crime folder (``data/hurt``, ``data/traffic``):

- ``penalty_corpus.json``: a JSON array of ``{"file_name": "440.xml", "paragraph": "...指控：...",
  "sentences": {...}, "articles": [0, 24, 1, 7], "decision": 9}``. These are the records.
- ``article_dict.txt``: ``<index>|<law>(<version year>)第N条:<text>``, what ``articles`` index.
- ``labeled_corpus.txt`` and ``law_qhj_dict.json``: sentence-level labels and article parses used
  to train MLMN's models. Not records; not read.

Decisions:

- ``articles`` are resolved through ``article_dict.txt``: 刑法 articles go into ``articles`` as
  numbers (``中华人民共和国刑法(2015)第二百三十四条`` → 234), every other cited article into
  ``laws`` as written minus the version year (``最高人民法院关于审理交通肇事刑事案件具体应用法律若干
  问题的解释第二条``). A 刑法 article with a 之 suffix (第十七条之一) is not a whole number and goes
  into ``laws`` too. An index missing from the dict rejects the record (``unknown_article_index``).
- ``decision``: upstream's README documents it as "the number of months of fixed-term
  imprisonment", and its ``label_reflect`` (train_tools.py) bins it into 5 classes only at training
  time, documenting 0 as 免予刑事处罚 and -1 as 拘役. So a positive whole number is
  ``term_months``; 0 (exempt from punishment, no imprisonment) is ``term_months = 0`` as CAIL
  writes it; -1 (拘役 of unrecorded length), -2 (undocumented), null and fractions (7.5) leave
  ``term_months`` None.
- The crime folder gives the charge: ``hurt`` → 故意伤害罪, ``traffic`` → 交通肇事罪.
- One judgment often gives two records (the procuratorate's 指控 paragraph and the court's
  经审理查明 paragraph share a ``file_name``); ``file_name`` is therefore not unique, the source id
  is ``<crime>/<file_name>#<position>``, and ``_group`` (``mlmn:<crime>/<file_name>``) keeps every
  query about one judgment in one split.
- Names are mostly masked upstream (马某某, 宋CC) but not always (被告人肖洋): ``real_names: true``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..numerals import cn_to_int
from ..records import CASE
from . import register_adapter
from .common import FileAdapter, FileError, RecordError, load_json, read_text, require, text_of

CRIMINAL_LAW = "中华人民共和国刑法"
CHARGES = {"hurt": "故意伤害罪", "traffic": "交通肇事罪"}
_ENTRY = re.compile(
    r"^(?P<law>[^()（）:：]+?)(?:[（(](?P<year>\d{4})[）)])?"
    r"(?P<label>第(?P<num>[零〇一二两三四五六七八九十百千0-9]+)条(?:之(?P<sub>[一二三四五六七八九十]+))?)"
)


def read_article_dict(path: Path) -> dict[int, tuple[str, int | None]]:
    """``index -> (law + 第N条 as written without the version, 刑法 article number or None)``."""
    out: dict[int, tuple[str, int | None]] = {}
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        index, sep, rest = line.partition("|")
        m = _ENTRY.match(rest.strip())
        if not sep or not index.strip().isdigit() or m is None:
            raise FileError("bad_article_dict", f"{path.name} line {n}: not '<index>|<law>第N条:'")
        name = m.group("law").strip() + m.group("label")
        number = None
        if m.group("law").strip() == CRIMINAL_LAW and not m.group("sub"):
            number = cn_to_int(m.group("num"))
        out[int(index)] = (name, number)
    return out


@register_adapter
class Mlmn(FileAdapter):
    """MLMN ``data/<crime>/penalty_corpus.json`` → ``case`` records."""

    name = "mlmn"
    patterns = ("data/*/penalty_corpus.json",)

    def __init__(self) -> None:
        #: crime folder -> its article dict, read once per file by :meth:`records`
        self._tables: dict[str, dict[int, tuple[str, int | None]]] = {}

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        crime = path.parent.name
        if crime not in CHARGES:
            raise FileError(
                "unknown_crime", f"crime folder {crime!r} is not one of {sorted(CHARGES)}"
            )
        dict_path = path.parent / "article_dict.txt"
        if not dict_path.is_file():
            raise FileError("missing_article_dict", f"{dict_path.name} is missing beside it")
        articles = read_article_dict(dict_path)
        data, _ = load_json(path)
        if not isinstance(data, list):
            raise FileError("bad_json", "expected a JSON array of cases")
        self._tables[crime] = articles
        for i, raw in enumerate(data):
            yield f"item {i}", raw

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw)
        crime = Path(rel).parent.name
        table = self._tables[crime]
        fact = text_of(raw, "paragraph")
        file_name = text_of(raw, "file_name")
        indices = raw.get("articles")
        if not isinstance(indices, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in indices
        ):
            raise RecordError("bad_field", f"articles: {indices!r}")
        numbers: dict[int, None] = {}
        laws: dict[str, None] = {}
        for i in indices:
            if i not in table:
                raise RecordError("unknown_article_index", f"article index {i} is not in the dict")
            name, number = table[i]
            if number is not None:
                numbers.setdefault(number, None)
            else:
                laws.setdefault(name, None)
        decision = raw.get("decision")
        months = None
        if isinstance(decision, (int, float)) and not isinstance(decision, bool):
            if decision >= 0 and decision == int(decision):
                months = int(decision)
        yield CASE.make(
            f"{crime}/{file_name}#{where.removeprefix('item ')}",
            _group=f"mlmn:{crime}/{file_name}",
            fact=fact,
            articles=list(numbers),
            laws=list(laws),
            charges=[CHARGES[crime]],
            term_months=months,
            doc_type="判决书",
        )
