"""CAIL2022: xxcq information extraction (drug-crime NER) and lblj argument sentences.

Files and decisions:

- ``xxcq/datasets/train.json`` (JSONL, 500 sentences): ``sentText`` with ``entityMentions``
  (``{start, end, text, label}``) → a ``ner`` record. ``step1_train.json`` annotates the same
  sentences with fewer entity types (no NT/Ns), so it is skipped (``duplicate_annotation``).
  Tags are mapped to Chinese type names (:data:`ENTITY_TYPES`); an unknown tag rejects the
  sentence (``unknown_entity_type``: a partial answer would teach the model to miss entities),
  and so does a sentence without entities (``no_entities``). ``types`` lists every type of the
  source so a task can name the full label set. ``doc_id`` is the judgment (``articleId``).
- ``xxcq/datasets/step1_test.json``: plain text, one sentence per line, no labels → skipped.
- ``lblj/data/stage_*/test_entry.jsonl``: a claim with five candidate defence statements but no
  answer (the organisers kept it) → skipped (``unlabelled``).
- ``lblj/data/stage_*/test_text.jsonl``: judgment sentences labelled with the side that says
  them (``position`` sc/bc), with 民事/刑事 and the cause (案由 or 罪名). The side is a real label,
  so each sentence becomes a two-option ``argument`` record: ``options`` A 诉方 / B 辩方 and the
  right letter; ``cause`` carries the cause. Both stages are CAIL test splits: the recipe holds
  them out (``held_out: test`` with ``held_out_files``). ``doc_id`` is ``<stage>/<text_id>``.

The lblj sentences name real parties (容季良, 林宏安…): the recipe sets ``real_names: true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from ..normalize import normalize_text
from ..records import ARGUMENT_CHOICE, ENTITY_SENTENCE
from . import register_adapter
from .common import FileAdapter, RecordError, require, text_of

#: xxcq tag -> Chinese type name, in the order answers list them
ENTITY_TYPES = {"Nh": "人名", "Ns": "地点", "NT": "时间", "NDR": "毒品", "NW": "毒品重量"}
#: the two sides of a judgment, as options of a position question
POSITIONS = {
    "sc": ("A", "诉方（原告、公诉机关或自诉人一方）"),
    "bc": ("B", "辩方（被告、被告人一方）"),
}


def ner_record(raw: dict[str, Any]) -> dict[str, Any]:
    """One xxcq sentence as a ``ner`` record (entities in sentence order, exact duplicates once).
    ``entities`` (a list of dicts) is beyond the ``normalize`` step, so their texts are normalized
    here (:func:`normalize_text` is idempotent: they stay equal to their mentions in the
    normalized sentence)."""
    require(raw, "articleId", "sentId")
    sentence = text_of(raw, "sentText")
    mentions = raw.get("entityMentions")
    if not isinstance(mentions, list):
        raise RecordError("bad_field", "entityMentions is not a list")
    found: list[tuple[int, str, str]] = []
    for m in mentions:
        if not isinstance(m, dict) or not isinstance(m.get("text"), str) or not m["text"].strip():
            raise RecordError("bad_field", f"entity mention without text: {m!r}")
        label = m.get("label")
        if label not in ENTITY_TYPES:
            raise RecordError("unknown_entity_type", f"entity label {label!r} is not known")
        start = m.get("start") if isinstance(m.get("start"), int) else len(sentence)
        found.append((start, ENTITY_TYPES[label], normalize_text(m["text"])))
    if not found:
        raise RecordError("no_entities", "sentence without entity annotations")
    entities: list[dict[str, str]] = []
    for _, type_, text in sorted(found):
        if {"type": type_, "text": text} not in entities:
            entities.append({"type": type_, "text": text})
    return ENTITY_SENTENCE.make(
        f"xxcq/{raw['articleId']}_{raw['sentId']}",
        doc_id=f"xxcq/{raw['articleId']}",
        sentence=sentence,
        entities=entities,
        types=list(ENTITY_TYPES.values()),
    )


def position_record(raw: dict[str, Any], stage: str) -> dict[str, Any]:
    """One lblj sentence as a two-option ``argument`` record: which side says it."""
    require(raw, "sentence_id", "text_id")
    sentence = text_of(raw, "sentence")
    position = raw.get("position")
    if position not in POSITIONS:
        raise RecordError("bad_answer", f"position {position!r} is neither sc nor bc")
    return ARGUMENT_CHOICE.make(
        f"{stage}/{raw['sentence_id']}",
        doc_id=f"{stage}/{raw['text_id']}",
        claim=sentence,
        options={letter: label for letter, label in POSITIONS.values()},
        answer=POSITIONS[position][0],
        category=str(raw.get("category") or ""),
        cause=str(raw.get("crime") or ""),
    )


@register_adapter
class Cail2022(FileAdapter):
    name = "cail2022"
    patterns = ("xxcq/datasets/*.json", "lblj/data/*/*.jsonl")
    skip: ClassVar[dict[str, tuple[str, str]]] = {
        "xxcq/datasets/step1_train.json": (
            "duplicate_annotation",
            "the same 500 sentences as train.json with fewer entity types (no NT/Ns); "
            "train.json is used",
        ),
        "xxcq/datasets/step1_test.json": (
            "unlabelled",
            "plain-text test sentences (one per line) without entity labels",
        ),
        "lblj/data/*/test_entry.jsonl": (
            "unlabelled",
            "test argument pairs without the answer (the organisers kept the gold labels)",
        ),
    }

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        if not isinstance(raw, dict):
            raise RecordError("not_an_object", f"expected an object, got {type(raw).__name__}")
        if rel.startswith("lblj/"):
            yield position_record(raw, Path(rel).parent.name)
        else:
            yield ner_record(raw)
