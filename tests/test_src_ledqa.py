"""LeDQA element QA: fixture (with a planted real name), masking, and the real source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import parse_file, real_build
from lawset.builders.pii import find_names
from lawset.builders.pipeline.base import Context
from lawset.builders.records import ELEMENT_QUESTION
from lawset.builders.sources.ledqa import load_case_docs, party_names
from lawset.builders.steps import MaskPii
from lawset.builders.tasks.understanding import CaseElementQA

DOC = (
    "【一审法院查明】原告王小明与被告刘钢系朋友关系。2019年3月28日，李林向王小明出具《借款借据》，"
    "借款10万元。李林、徐小丽承认签署过相关文件。王小明于2019年6月起诉。证人何某出庭作证。"
)
SCHEMA = {
    "担保情况 - Guarantee situations": {"是否有担保？": "Is there a guarantee?"},
    "借款发放与还款 - Loan disbursement and repayment": {
        "借款是否交付？": "Is the loan disbursed?",
        "已经还款的部分，是本金还是利息？": "Is the repayment part principal or interest?",
    },
}


def make_tree(root: Path) -> Path:
    (root / "answer").mkdir(parents=True)
    (root / "CaseDocs.json").write_text(json.dumps({"11": DOC}, ensure_ascii=False), "utf-8")
    (root / "QuestionSchema.json").write_text(json.dumps(SCHEMA, ensure_ascii=False), "utf-8")
    answers = [
        {"question": 1, "answer": "不知道"},
        {"question": 2, "answer": "是"},
        {"question": 3, "answer": "本金及利息"},
        {"question": 49, "answer": "是"},  # outside the schema
        {"question": 2, "answer": ""},  # empty answer
    ]
    (root / "answer" / "11.json").write_text(json.dumps(answers, ensure_ascii=False), "utf-8")
    (root / "answer" / "99.json").write_text('[{"question": 1, "answer": "是"}]', "utf-8")
    return root


def source_record(rec: dict) -> dict:
    return {
        **rec,
        "kind": "element_qa",
        "source": "ledqa",
        "license": "none stated",
        "_real_names": True,
        "_text_fields": ELEMENT_QUESTION.text_fields,
    }


def test_parse_and_rejects(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "LeDQA")
    recs, rejects = parse_file("ledqa", root / "answer/11.json", "answer/11.json")
    assert rejects == ["unknown_question", "missing_field"]
    assert [(r["question"], r["answer"]) for r in recs] == [
        ("是否有担保？", "不知道"),
        ("借款是否交付？", "是"),
        ("已经还款的部分，是本金还是利息？", "本金及利息"),
    ]
    assert recs[0]["source_id"] == "11/q1" and recs[0]["doc_id"] == "11"
    assert recs[0]["category"] == "担保情况" and recs[0]["document"] == DOC
    assert parse_file("ledqa", root / "answer/99.json", "answer/99.json")[1] == ["missing_document"]


def test_party_names_found_without_role_words() -> None:
    # 李林 is only ever named bare (twice): the masker's role-word rule misses it, this finds it.
    # 刘钢 is named once, after 被告 (the masker finds it); 徐小丽, bare and once, is not found;
    # 何某 is already anonymised.
    assert party_names(DOC) == {"王小明", "李林"}
    assert "李林" not in find_names(DOC) and find_names(DOC) >= {"王小明", "刘钢"}


def test_names_masked_before_the_query_is_made(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "LeDQA")
    parsed = parse_file("ledqa", root / "answer/11.json", "answer/11.json")[0][2]
    rec = source_record(parsed)
    ctx = Context(0)
    masked = [r for batch in MaskPii().run([[rec]], ctx) for r in batch][0]
    (q,) = [r for batch in CaseElementQA().run([[masked]], ctx) for r in batch][1:]
    user = q["messages"][0]["content"]
    for name in ("王小明", "刘钢", "李林"):
        assert name not in user
    assert "原告王某与被告刘某" in user and "李某向王某出具" in user and "证人何某" in user
    assert q["messages"][1]["content"] == "回答：本金及利息"
    assert q["group"] == "case:ledqa:11" and q["task"] == "case_element_qa"
    assert ctx.stats.counters["pii"]["name"] >= 6
    # With real_names off the masker leaves names alone (the recipe's switch is respected).
    off = {**source_record(parsed), "_real_names": False}
    plain = [r for b in MaskPii().run([[off]], Context(0)) for r in b]
    assert "王小明" in plain[0]["document"]


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "ledqa": {
        "adapter": "ledqa",
        "path": "cases/LeDQA",
        "category": "cases",
        "license": "none stated",
        "upstream": "BulouLiu/LeDQA",
        "commit": "af03f5989f7c6ae69d75d6fde2b761d22b1204ee",
        "held_out": "none",
        "held_out_files": [],
        "real_names": True,
    }
}
TASKS = ["case_element_qa"]


def test_real_ledqa(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases")
    stats = built.stats
    assert stats["steps"]["case_element_qa"]["in"] == 4800  # 100 files x 48 answers
    assert stats["counters"]["tasks"]["case_element_qa"] >= 4700
    assert stats["counters"]["pii"]["name"] > 10000
    rows = [
        r
        for f in (built.out / "data" / "stage1").glob("*.parquet")
        for r in pq.read_table(f).to_pylist()
    ]
    answers = {r["messages"][-1]["content"] for r in rows}
    assert {"回答：是", "回答：否", "回答：不知道"} <= answers
    # The first real document names its parties bare (李林向刘钢出具…): none survives.
    docs, _ = load_case_docs(str(shared_raw / "cases" / "LeDQA"))
    first_id, first = next(iter(docs.items()))
    names = party_names(first) | find_names(first)
    assert {"李林", "刘钢"} <= names
    first_rows = [r for r in rows if r["source_id"].startswith(f"{first_id}/")]
    assert len(first_rows) == 48
    for r in first_rows:
        assert not any(n in r["messages"][0]["content"] for n in names)
