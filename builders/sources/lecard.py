"""LeCaRD v1 (myx666/LeCaRD) query cases: a criminal fact and its charges.

``data/query/query.json`` is JSONL: ``{"path": "...", "ridx": 5156, "q": "2018年1月15日...被告人莫新国
酒后驾驶...", "crime": ["危险驾驶罪"]}``.

Decisions:

- Only ``data/query/*.json`` is read. ``data/label/*.json`` are relevance labels over candidate
  cases that are not in the mirror, so they hold no usable record.
- ``ridx`` is the source id; ``crime`` already ends in 罪 (``charge_name`` keeps that and removes
  stray brackets). A query with no charge is still a case (its fact is kept; no charge task is
  made from it).
- The facts carry **real defendant names** (被告人莫新国): the recipe sets ``real_names: true`` so
  ``mask_pii`` masks them before any task sees the fact. The queries are LeCaRD's evaluation
  queries: ``held_out: test``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import CASE
from . import register_adapter
from .charge_names import charge_name
from .common import FileAdapter, RecordError, require, text_of


@register_adapter
class Lecard(FileAdapter):
    """LeCaRD ``data/query/*.json`` JSONL → ``case`` records (fact and charges)."""

    name = "lecard"
    patterns = ("data/query/*.json",)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw)
        fact = text_of(raw, "q")
        crimes = raw.get("crime")
        if crimes is None:
            crimes = []
        if not isinstance(crimes, list) or not all(isinstance(c, str) for c in crimes):
            raise RecordError("bad_field", f"crime: expected a list of names, got {crimes!r}")
        ridx = raw.get("ridx")
        if isinstance(ridx, bool) or not isinstance(ridx, (int, str)) or str(ridx).strip() == "":
            raise RecordError("missing_field", "field 'ridx' is missing")
        charges = list(dict.fromkeys(charge_name(c) for c in crimes if c.strip()))
        yield CASE.make(str(ridx), fact=fact, charges=charges, doc_type="判决书")
