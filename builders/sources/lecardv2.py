"""LeCaRDv2 (THUIR/LeCaRDv2) query cases: a judgment's head and facts.

``query/*.json`` files are JSONL: ``{"id": 667, "query": "䬦某东犯故意伤害、抢劫罪案的刑事判决书海南省
第二中级人民法院刑事判决书（2016）琼97刑终22号：...指控原审被告人...犯抢劫罪、故意伤害罪一案...",
"fact": "原判认定：..."}``.

Decisions:

- Only ``query/*.json`` is read; ``label/*.trec`` are relevance qrels, not records.
- ``test_query.json`` repeats ids of the controversial and procedural files (360 rows, 320 ids).
  The first occurrence in sorted file order is kept and every later one is rejected as
  ``duplicate_id``. Each file is its own work unit, so :meth:`records` reads the ids of the files
  sorted before it (cheap: a few MB) to know what was seen first.
- ``fact`` is the fact. The charges come from the head of ``query`` (the text before the fact),
  tried in this order: the title's ``X犯Y罪`` (``䬦某东犯故意伤害、抢劫罪案``), the procuratorate's
  ``指控(原审)被告人X犯Y罪``, a private prosecution's ``以被告人X犯Y罪``, ``被控Y罪`` or
  ``指控罪名：Y``, and last ``涉嫌Y罪``. A charge list with one 罪 is split only into known charges
  (:func:`split_charges`). A head naming no charge leaves ``charges`` empty.
- The head and fact carry **real names** of defendants, judges and lawyers: the recipe sets
  ``real_names: true``. The head becomes ``title`` (a text field, so it is masked too). These are
  LeCaRDv2's evaluation queries: ``held_out: test``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..records import CASE
from . import register_adapter
from .charge_names import CHARGE_RUN, split_charges
from .common import FileAdapter, RecordError, iter_jsonl, iter_lines, require, text_of

_PARTY = r"(?:原审被告人|被告人|被告单位|上诉人)"
_CHARGE_SOURCES = (
    re.compile(rf"^[^。，：:]{{0,60}}?犯(?P<run>{CHARGE_RUN})"),
    re.compile(rf"指控的?(?:原审)?{_PARTY}[^。；;]{{0,120}}?犯(?P<run>{CHARGE_RUN})"),
    re.compile(rf"以{_PARTY}[^。；;，,]{{1,40}}?犯(?P<run>{CHARGE_RUN})"),
    re.compile(rf"被控(?P<run>{CHARGE_RUN})"),
    re.compile(r"指控罪名[:：]\s*(?P<list>[^。；;\s]{2,80})"),
    re.compile(rf"涉嫌(?P<run>{CHARGE_RUN})"),
)
_TITLE = re.compile(r"^.{0,80}?刑事(?:附带民事)?(?:判决书|裁定书)")
HEAD_CHARS = 2000


def head_of(query: str, fact: str) -> str:
    """The part of ``query`` before the fact (the judgment's head), at most 2000 characters."""
    at = query.find(fact[:20]) if fact else -1
    return query[:at] if at > 0 else query[:HEAD_CHARS]


def charges_of(head: str) -> list[str]:
    """The charges a judgment's head names (first source that names any, see the module doc)."""
    for rx in _CHARGE_SOURCES:
        m = rx.search(head)
        if m is None:
            continue
        run = m.groupdict().get("run")
        if run is None:
            run = m.group("list").rstrip("罪") + "罪"
        charges = split_charges(run)
        if charges:
            return charges
    return []


def _ids(path: Path) -> set[str]:
    """The ids of an earlier file (its own bad lines are reported when that file is read)."""
    out = set()
    try:
        lines = list(iter_lines(path))
    except OSError:  # reported as unreadable with that file
        return out
    for _, line in lines:
        if isinstance(line, RecordError):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and obj.get("id") is not None:
            out.add(str(obj["id"]))
    return out


@register_adapter
class LecardV2(FileAdapter):
    """LeCaRDv2 ``query/*.json`` JSONL → ``case`` records; duplicate ids across files rejected."""

    name = "lecardv2"
    patterns = ("query/*.json",)

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        earlier: dict[str, str] = {}
        for other in sorted(path.parent.glob("*.json")):
            if other.name >= path.name:
                break
            for i in _ids(other):
                earlier.setdefault(i, other.name)
        seen: dict[str, str] = {}
        for where, raw in iter_jsonl(path):
            if isinstance(raw, dict) and raw.get("id") is not None:
                key = str(raw["id"])
                first = earlier.get(key) or seen.get(key)
                if first is not None:
                    raw = {**raw, "_duplicate_of": first}
                else:
                    seen[key] = f"{path.name} {where}"
            yield where, raw

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw)
        if raw.get("id") is None or str(raw["id"]).strip() == "":
            raise RecordError("missing_field", "field 'id' is missing")
        if "_duplicate_of" in raw:
            raise RecordError(
                "duplicate_id", f"id {raw['id']} was read first from {raw['_duplicate_of']}"
            )
        fact = text_of(raw, "fact")
        query = raw.get("query") if isinstance(raw.get("query"), str) else ""
        head = head_of(query, fact)
        title = _TITLE.match(head)
        yield CASE.make(
            str(raw["id"]),
            fact=fact,
            charges=charges_of(head),
            title="" if title is None else title.group().strip(),
            doc_type="裁定书" if title is not None and "裁定书" in title.group() else "判决书",
        )
