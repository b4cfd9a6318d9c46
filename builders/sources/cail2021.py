"""CAIL2021 论辩理解 (lblj): argument pairs (Task 1.1) and dispute-focus documents (Task 2.1).

- ``lblj/Task1.1/.../SMP-CAIL2021-train.csv`` (``id,text_id,sc,A,B,C,D,E,answer``): a claim of
  the plaintiff or prosecution side (``sc``), five candidate defence statements A–E and the number
  (1–5) of the one that answers it → an ``argument`` record with ``answer`` as a letter. The CSV
  has no category column, so ``category`` is ``""``. Rows with the wrong column count
  (``bad_csv_row``), an empty option (``missing_field``) or an answer outside 1–5
  (``bad_answer``) are rejected. The same claim recurs in several rows of one judgment
  (``text_id``), so ``doc_id`` is the judgment: all its rows share a split group.
- ``lblj/Task2.1/.../SMP-CAIL2021-focus_recognition-train.json`` (``{"dataset": [...]}``, 111
  civil judgments): 诉称段/辩称段/裁判分析过程段 (either of the first two may be absent) and
  annotations ``争议焦点`` (one opaque category code per document, ``C01``–``C34``, whose names
  were never published), ``诉讼请求``, ``抗辩事由`` and ``争议焦点子节点`` (lists of
  ``{文书段落, 要素名称, oValue, sentence}``). A code alone teaches nothing, so the ``focus`` list
  is the annotated sub-node spans (``oValue`` of ``争议焦点子节点``: the contested points as the
  parties and the court word them), distinct, in paragraph order 诉称 → 辩称 → 裁判分析; ``claims``
  and ``defenses`` are the ``oValue`` spans of ``诉讼请求`` and ``抗辩事由``. ``text`` joins the
  paragraphs under 【诉称】【辩称】【裁判分析】 headings. The category code is kept in
  ``focus_codes`` for reference. A document without sub-nodes is rejected (``no_focus``).

Both files are training data (the test sets were never released): no held-out part. The focus
JSON names real parties (原告孙世伟…), so the recipe sets ``real_names: true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..normalize import normalize_text
from ..records import ARGUMENT_CHOICE, DISPUTE_FOCUS
from . import register_adapter
from .common import FileAdapter, RecordError, iter_csv, load_json, require, text_of

LETTERS = "ABCDE"
#: paragraph key -> heading in ``text``, in document order
SECTIONS = {"诉称段": "【诉称】", "辩称段": "【辩称】", "裁判分析过程段": "【裁判分析】"}


def argument_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """One Task 1.1 CSV row as an ``argument`` record (answer 1–5 → A–E). ``options`` is a dict,
    which the ``normalize`` step cannot take: its values are normalized here
    (:func:`normalize_text` is idempotent, so claim and options end up folded alike)."""
    require(row, "id", "text_id")
    claim = text_of(row, "sc")
    options = {letter: normalize_text(text_of(row, letter)) for letter in LETTERS}
    answer = str(row.get("answer", "")).strip()
    if answer not in ("1", "2", "3", "4", "5"):
        raise RecordError("bad_answer", f"answer {answer!r} is not an option number 1-5")
    return ARGUMENT_CHOICE.make(
        f"task1/{row['id'].strip()}",
        doc_id=f"task1/{row['text_id'].strip()}",
        claim=claim,
        options=options,
        answer=LETTERS[int(answer) - 1],
        category="",
        cause="",
    )


def spans(items: Any, field: str) -> list[str]:
    """Distinct ``oValue`` spans of an annotation list, in paragraph then document order."""
    if not isinstance(items, list):
        raise RecordError("bad_field", f"{field} is not a list")
    order = list(SECTIONS)
    keyed = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise RecordError("bad_field", f"{field}[{i}] is not an object")
        value = item.get("oValue")
        if isinstance(value, str) and value.strip():
            section = item.get("文书段落")
            rank = order.index(section) if section in order else len(order)
            keyed.append((rank, i, value.strip()))
    out: list[str] = []
    for _, _, value in sorted(keyed):
        if value not in out:
            out.append(value)
    return out


def focus_from_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """One Task 2.1 document as a ``focus`` record."""
    doc_id = text_of(doc, "文书ID")
    parts = [
        f"{heading}{doc[key].strip()}"
        for key, heading in SECTIONS.items()
        if isinstance(doc.get(key), str) and doc[key].strip()
    ]
    if not parts:
        raise RecordError("missing_field", "no 诉称段, 辩称段 or 裁判分析过程段 text")
    focus = spans(doc.get("争议焦点子节点", []), "争议焦点子节点")
    if not focus:
        raise RecordError("no_focus", "no 争议焦点子节点 annotation")
    codes = doc.get("争议焦点", [])
    return DISPUTE_FOCUS.make(
        f"task2/{doc_id}",
        doc_id=f"task2/{doc_id}",
        text="\n".join(parts),
        focus=focus,
        claims=spans(doc.get("诉讼请求", []), "诉讼请求"),
        defenses=spans(doc.get("抗辩事由", []), "抗辩事由"),
        focus_codes=[str(c) for c in codes] if isinstance(codes, list) else [],
    )


@register_adapter
class Cail2021(FileAdapter):
    name = "cail2021"
    patterns = ("lblj/Task1.1/**/*.csv", "lblj/Task2.1/**/*focus_recognition*.json")

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        if path.suffix == ".csv":
            yield from iter_csv(path)
            return
        data, _ = load_json(path)
        docs = data.get("dataset") if isinstance(data, dict) else None
        if not isinstance(docs, list):
            yield "file", RecordError("bad_format", "no top-level 'dataset' list")
            return
        for n, doc in enumerate(docs):
            yield f"dataset[{n}]", doc

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        if not isinstance(raw, dict):
            raise RecordError("not_an_object", f"expected an object, got {type(raw).__name__}")
        if rel.endswith(".csv"):
            yield argument_from_row(raw)
        else:
            yield focus_from_doc(raw)
