"""CAIL2018 subset (NiBin90/CAIL2018_Test): criminal cases with charges, articles and sentences.

``data/data_test.json`` is JSONL, one case per line::

    {"fact": "经审理查明：...", "meta": {"relevant_articles": [213], "accusation": ["假冒注册商标"],
     "punish_of_money": 0, "criminals": ["陈某某"],
     "term_of_imprisonment": {"death_penalty": false, "imprisonment": 6,
                              "life_imprisonment": false}}}

Decisions:

- Only ``data/*.json`` is read: ``accu.txt`` and ``law.txt`` are CAIL's label lists, not records.
  The charge list is embedded in :mod:`.charge_names` (``KNOWN_CHARGES``, the 202 names of
  ``accu.txt``) because other case sources need it to split charge lists such as
  ``犯故意伤害、抢劫罪``, and an adapter only sees its own source folder.
- CAIL writes charges without the trailing 罪 and with bracket groups for selective charges
  (``[窝藏、包庇]``, ``非法[持有、私藏][枪支、弹药]``): the brackets are removed and 罪 added, which
  gives the statutory charge name (``窝藏、包庇罪``, ``非法持有、私藏枪支、弹药罪``).
- ``imprisonment`` is in months (CAIL's convention); 0 means no fixed-term imprisonment or
  criminal detention was imposed (LawBench 3-4 keeps such cases as ``刑期:0个月``), so it is kept
  as ``term_months = 0``. Death and life sentences set their flags and leave ``term_months`` None.
- The file is called ``data_test`` but it is a third-party subset of CAIL2018 and not the official
  test split; the recipe decides the held-out policy (``none``: its facts were not found in LawBench).
- Source ids are the line numbers (CAIL has no case ids).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import CASE
from . import register_adapter
from .charge_names import charge_name
from .common import FileAdapter, RecordError, article_numbers, require, text_of


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RecordError("bad_field", f"{field}: expected a non-negative number, got {value!r}")
    if value != int(value):
        raise RecordError("bad_field", f"{field}: expected a whole number, got {value!r}")
    return int(value)


@register_adapter
class Cail2018(FileAdapter):
    """CAIL2018 subset: ``data/*.json`` JSONL cases → ``case`` records."""

    name = "cail2018"
    patterns = ("data/*.json",)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw)
        fact = text_of(raw, "fact")
        meta = raw.get("meta")
        if not isinstance(meta, dict):
            raise RecordError("missing_field", "field 'meta' is missing")
        accusation = meta.get("accusation")
        if not isinstance(accusation, list) or not accusation:
            raise RecordError("missing_field", "field 'meta.accusation' is missing or empty")
        articles = article_numbers(meta.get("relevant_articles"), "meta.relevant_articles")
        term = meta.get("term_of_imprisonment")
        if not isinstance(term, dict):
            raise RecordError("missing_field", "field 'meta.term_of_imprisonment' is missing")
        death = bool(term.get("death_penalty"))
        life = bool(term.get("life_imprisonment"))
        months = None if death or life else _int(term.get("imprisonment"), "imprisonment")
        fine = meta.get("punish_of_money")
        charges: dict[str, None] = {}
        for name in accusation:
            if not isinstance(name, str):
                raise RecordError("bad_charge", f"charge {name!r} is not a string")
            charges.setdefault(charge_name(name), None)
        yield CASE.make(
            f"{rel}#{where}",
            fact=fact,
            articles=articles,
            charges=list(charges),
            term_months=months,
            death_penalty=death,
            life_imprisonment=life,
            fine=None if fine is None else _int(fine, "punish_of_money"),
            doc_type="判决书",
        )
