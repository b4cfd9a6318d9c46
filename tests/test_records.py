"""Record kinds (builders/records.py): a made record matches its declaration, every way a field can
be wrong is a reason (and, at an adapter, a reject that keeps the raw record while the build goes
on), and docs/sources.md shows the kinds as declared."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, read_jsonl
from lawset.builders.pipeline.base import Context
from lawset.builders.recipe import SourceConfig
from lawset.builders.records import (
    CASE,
    CONSULTATION,
    ENTITY_SENTENCE,
    EXAM_ITEM,
    GENERAL_INSTRUCTION,
    KINDS,
    invalid,
    kinds_markdown,
)
from lawset.builders.sources.common import FileAdapter

#: what FileAdapter adds to every record of a file
FROM_RECIPE = {
    "source": "demo",
    "source_file": "a.jsonl",
    "license": "MIT",
    "_simplified": True,
    "_held_out": "none",
    "_real_names": False,
}


def exam_item(**fields: Any) -> dict[str, Any]:
    made = {
        "question": "甲与乙订立合同，下列说法正确的是？",
        "options": {"A": "合同成立", "B": "合同无效"},
        "answer": ["A"],
        "exam_type": "case",
        **fields,
    }
    return {**FROM_RECIPE, **EXAM_ITEM.make("1", **made)}


def test_a_made_record_has_every_field_and_matches_its_kind() -> None:
    rec = exam_item()
    assert invalid(rec) is None
    assert rec["kind"] == "exam" and rec["_text_fields"] == EXAM_ITEM.text_fields
    assert (rec["explanation"], rec["subject"]) == ("", "")  # left out: the declared defaults

    case = {**FROM_RECIPE, **CASE.make("7", fact="经审理查明……", charges=["盗窃罪"])}
    assert invalid(case) is None
    assert case["category"] == "刑事" and case["term_months"] is None and case["laws"] == []
    other = CASE.make("8")
    assert other["articles"] == [] and other["articles"] is not case["articles"]  # fresh list


def test_make_normalizes_labels_and_derives_private_fields() -> None:
    case = CASE.make("1", charges=["盗窃罪\u3000"], laws=["《刑法》第ＡＢ条"])
    assert case["charges"] == ["盗窃罪"] and case["laws"] == ["《刑法》第AB条"]
    history = [{"role": "user", "content": "能离婚吗？"}, {"role": "assistant", "content": "能。"}]
    advice = CONSULTATION.make(
        "1", question="财产怎么分？", answer="平分。", topic="consultation", history=history
    )
    assert advice["_history_text"] == ["能离婚吗？", "能。"]
    assert invalid({**FROM_RECIPE, **advice}) is None


def test_make_refuses_what_the_kind_does_not_declare() -> None:
    with pytest.raises(TypeError, match=r"not fields of a case record: \['charge'\]"):
        CASE.make("1", charge=["盗窃罪"])
    with pytest.raises(TypeError, match="exam records need 'options'"):
        EXAM_ITEM.make("1", question="？", answer=["A"], exam_type="case")


def test_an_adapter_may_mask_other_text_fields() -> None:
    rec = CASE.make("1", text_fields=("fact",), fact="案情")
    assert rec["_text_fields"] == ("fact",) and invalid({**FROM_RECIPE, **rec}) is None


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        (
            {"question": 3},
            "record_bad_type",
            "exam record field 'question' is not str: 3",
        ),
        (
            {"answer": "A"},
            "record_bad_type",
            "exam record field 'answer' is not list[str]: 'A'",
        ),
        (
            {"answer": ["A", 2]},
            "record_bad_type",
            "exam record field 'answer' is not list[str]: ['A', 2]",
        ),
        (
            {"options": {"A": None}},
            "record_bad_type",
            "exam record field 'options' is not dict[str, str]: {'A': None}",
        ),
        (
            {"exam_type": "essay"},
            "record_bad_type",
            "exam record field 'exam_type' is not 'knowledge' | 'case': 'essay'",
        ),
        (
            {"_held_out": "train"},
            "record_bad_type",
            "exam record field '_held_out' is not 'none' | 'test' | 'exclude': 'train'",
        ),
        (
            {"_text_fields": ["question"]},
            "record_bad_type",
            "exam record field '_text_fields' is not tuple[str, ...]: ['question']",
        ),
        (
            {"_simplified": 1},
            "record_bad_type",
            "exam record field '_simplified' is not bool: 1",
        ),
        (
            {"subject": None},
            "record_bad_type",
            "exam record field 'subject' is not str: None",
        ),
        (
            {"difficulty": 3},
            "record_unknown_field",
            "exam records have no field 'difficulty'",
        ),
        (
            {"kind": "essay"},
            "record_unknown_kind",
            "no record kind 'essay'",
        ),
    ],
)
def test_each_kind_of_wrong_field_has_its_reason(
    change: dict[str, Any], reason: str, message: str
) -> None:
    assert invalid({**exam_item(), **change}) == (reason, message)


def test_a_missing_field_and_the_optional_private_fields() -> None:
    rec = exam_item()
    del rec["explanation"]
    assert invalid(rec) == ("record_missing_field", "exam record without field 'explanation'")
    rec = exam_item()
    del rec["_held_out"], rec["_real_names"]  # not set for statutes (they are never held out)
    assert invalid(rec) is None


def test_numbers_are_not_booleans_and_nested_records_are_exact() -> None:
    case = {**FROM_RECIPE, **CASE.make("1")}
    assert invalid({**case, "term_months": True})[0] == "record_bad_type"
    assert invalid({**case, "term_months": 7}) is None
    assert invalid({**case, "death_penalty": 0})[0] == "record_bad_type"
    assert invalid({**case, "articles": [264, "67"]})[0] == "record_bad_type"
    long = invalid({**case, "fact": ["事实" * 50]})
    assert long is not None and long[1].endswith("...") and len(long[1]) < 140

    made = ENTITY_SENTENCE.make(
        "1", doc_id="xxcq/1", sentence="张某贩卖毒品", entities=[], types=["人名"]
    )
    ner = {**FROM_RECIPE, **made}
    assert invalid({**ner, "entities": [{"type": "人名", "text": "张某"}]}) is None
    bad = {**ner, "entities": [{"type": "人名", "text": "张某", "start": 0}]}
    assert invalid(bad) == (
        "record_bad_type",
        "ner record field 'entities' is not list[Entity]: "
        "[{'type': '人名', 'text': '张某', 'start': 0}]",
    )


def test_every_kind_declares_its_fields_with_a_meaning() -> None:
    for name, kind in KINDS.items():
        assert kind.name == name
        assert all(f.meaning for f in kind.meaning.values()), name
        assert set(kind.text_fields) <= set(kind.meaning), name


class _Demo(FileAdapter):
    """A JSONL source whose parse makes whatever the line says, right or wrong."""

    name = "demo_records"
    patterns = ("*.jsonl",)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        yield {
            **GENERAL_INSTRUCTION.make(str(raw["id"]), instruction="说明", input="", output="好"),
            **raw["fields"],
        }


def test_a_record_that_does_not_match_is_rejected_at_the_adapter(tmp_path: Path) -> None:
    lines = [
        {"id": 1, "fields": {}},
        {"id": 2, "fields": {"output": ["好"]}},
        {"id": 3, "fields": {"score": 0.5}},
        {"id": 4, "fields": {}},
    ]
    root = tmp_path / "demo"
    root.mkdir()
    (root / "a.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), "utf-8")
    cfg = SourceConfig(adapter="alpaca", path="demo", category="general", license="MIT")
    adapter = _Demo()
    ctx = Context(0, tmp_path / "rejects.jsonl")
    plan = adapter.plan("demo", cfg, root, None)
    got = [r for u in plan.units for r in adapter.read("demo", cfg, root, u, ctx)]
    ctx.close()
    assert [r["source_id"] for r in got] == ["1", "4"]
    assert ctx.stats.to_dict()["steps"]["read"]["dropped"] == {
        "record_bad_type": 1,
        "record_unknown_field": 1,
    }
    bad_type, unknown = read_jsonl(tmp_path / "rejects.jsonl")
    assert bad_type["message"] == (
        "a.jsonl (line 2): instruction record field 'output' is not str: ['好']"
    )
    assert bad_type["raw"] == lines[1] and bad_type["where"] == "line 2"
    assert unknown["message"] == "a.jsonl (line 3): instruction records have no field 'score'"


def test_the_documentation_shows_the_kinds_as_declared() -> None:
    doc = (REPO / "docs" / "sources.md").read_text("utf-8")
    start = "<!-- kinds: python -m lawset.builders.records -->\n"
    end = "<!-- /kinds -->"
    assert start in doc and end in doc
    shown = doc.split(start, 1)[1].split(end, 1)[0]
    assert shown == "\n" + kinds_markdown() + "\n", (
        "docs/sources.md is out of date: paste the output of python -m lawset.builders.records"
    )
