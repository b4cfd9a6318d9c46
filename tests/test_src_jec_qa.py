"""JEC-QA (CAIL2020 sfks) adapter: answered items only, bad gold rejected, the textbook skipped."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.tasks.exam import ExamCaseChoice, ExamKnowledgeChoice

OPTS = {"A": "犯罪的预备阶段", "B": "犯罪的实行阶段", "C": "实行完毕后", "D": "既遂后"}


def item(**kw) -> str:
    rec = {"answer": ["B"], "id": "1_1", "option_list": OPTS, "statement": "犯罪中止可以发生在:"}
    rec.update(kw)
    return json.dumps(rec, ensure_ascii=False)


def write_source(tmp_path: Path) -> Path:
    root = tmp_path / "CAIL2020-sfks-JEC-QA"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "reference_book" / "刑法").mkdir(parents=True)
    lines = [
        item(subject="刑法", type="0"),  # good, with subject
        item(id="1_2", answer=["D", "A"], type="0"),  # multi-answer, no subject
        item(id="1_3", statement="甲将乙打伤，甲的行为属于?", type="1"),  # case analysis
        "",
        item(id="4_772", answer=[], type="0"),  # no gold
        item(id="2_186", answer=["B", "。"], type="0"),  # letter outside the options
        item(id="2_187", answer=["B"], type="7"),  # unknown type
        item(id="2_188", option_list={"A": "x", "C": "y"}, type="0"),  # options not A, B...
        '{"id": "9", "statement": ',  # truncated line
        json.dumps({"id": "9_1", "option_list": OPTS, "answer": ["A"]}),  # no statement
    ]
    (root / "data" / "raw" / "0_train.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "data" / "raw" / "0_test.json").write_text(item(answer=None) + "\n", encoding="utf-8")
    (root / "data" / "reference_book" / "刑法" / "第一章.txt").write_text(
        '["刑法", "第一章"]', encoding="utf-8"
    )
    return root


def test_parse_rejects_and_skips(tmp_path: Path) -> None:
    read = read_source("jec_qa", write_source(tmp_path))
    records, dropped, skipped = read.records, read.dropped, read.problems
    assert [r["source_id"] for r in records] == ["1_1", "1_2", "1_3"]
    first, multi, case = records
    assert first["kind"] == "exam" and first["subject"] == "刑法"
    assert first["question"] == "犯罪中止可以发生在:" and first["options"] == OPTS
    assert first["answer"] == ["B"] and first["exam_type"] == "knowledge"
    assert first["explanation"] == ""
    assert multi["answer"] == ["A", "D"] and multi["subject"] == ""
    assert case["exam_type"] == "case"
    assert dropped == {
        "missing_answer": 1,
        "answer_not_in_options": 1,
        "bad_type": 1,
        "bad_options": 1,
        "bad_json": 1,
        "missing_field": 1,
    }
    assert skipped == {
        "data/raw/0_test.json": "no_answers",
        "data/reference_book/刑法/第一章.txt": "unclear_copyright",
    }


def test_queries(tmp_path: Path) -> None:
    records = read_source("jec_qa", write_source(tmp_path)).records
    records = [{**r, "_held_out": "none"} for r in records]
    (q,) = made(ExamKnowledgeChoice(), records[1])
    assert q["messages"][1]["content"] == "正确答案：AD"
    assert "A. 犯罪的预备阶段" in q["messages"][0]["content"]
    (q,) = made(ExamCaseChoice(), records[2])
    assert q["messages"][1]["content"] == "正确答案：B" and q["level"] == "application"


def test_real_source(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "jec_qa",
        "path": "exam/CAIL2020-sfks-JEC-QA",
        "category": "exam",
        "license": "none stated",
    }
    built = real_build(
        shared_raw, tmp_path, {"jec_qa": source}, ["exam_knowledge_choice"], "exam", dedup=False
    )
    stats, rows = built.stats, built.rows()
    read = stats["steps"]["read"]["dropped"]
    assert read["no_answers"] == 2 and read["unclear_copyright"] >= 200
    assert read["answer_not_in_options"] >= 1 and read["missing_answer"] >= 1
    assert stats["counters"]["tasks"]["exam_knowledge_choice"] >= 7700
    assert len(rows) >= 7600
    assert all(r["messages"][-1]["content"].split("\n")[-1].startswith("正确答案：") for r in rows)
    assert {r["split"] for r in rows} == {"train", "validation", "test"}
