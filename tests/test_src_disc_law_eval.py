"""DISC-Law-Eval adapter: objective CSVs, few-shot examples and subjective QA; held out as test."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.tasks.exam import ExamCaseChoice, ExamKnowledgeChoice, ExamSubjective

HEADER = ["input", "output", "A", "B", "C", "D", "source", "multichoice"]


def csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_source(tmp_path: Path) -> Path:
    root = tmp_path / "DISC-Law-Eval"
    objective = root / "eval" / "datasets" / "objective"
    objective.mkdir(parents=True)
    (root / "eval" / "datasets" / "subjective").mkdir()
    (root / "eval" / "src" / "few_shot").mkdir(parents=True)
    src = "2018 national judical examination"
    (objective / "mcq_mult_nje.csv").write_text(
        csv_text(
            [
                HEADER,
                ["关于完善立法体制，下列说法正确的有？\n", "ABD", "a", "b", "c", "d", src, "True"],
                ["甲公司与乙签订合同，下列说法正确的有？\n", "BE", "a", "b", "c", "d", src, "True"],
                ["缺列的行\n", "A", "a", "b", src, "True"],
            ]
        ),
        encoding="utf-8",
    )
    (objective / "mcq_sing_lbk.csv").write_text(
        csv_text(
            [
                HEADER,
                [
                    "下列哪一项属于法律关系客体？\n",
                    "C",
                    "a",
                    "b",
                    "c",
                    "d",
                    "legal knowledge",
                    "False",
                ],
                ["单选题却有两个答案？\n", "AB", "a", "b", "c", "d", "legal knowledge", "False"],
                ["", "A", "a", "b", "c", "d", "legal knowledge", "False"],
            ]
        ),
        encoding="utf-8",
    )
    (root / "eval" / "src" / "few_shot" / "mcq_mult_examples.csv").write_text(
        csv_text(
            [
                ["input", "output"],
                ["丁将手枪交给崔某保管。关于本案，下列哪些选项是正确的？\nA.丁某构成盗窃罪\nB. 丁无罪\nC.丙无罪\nD.崔某构成非法持有枪支罪",
                 "A.丁某构成盗窃罪\nD.崔某构成非法持有枪支罪"],
                ["没有选项的题目", "A.x"],
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    (root / "eval" / "datasets" / "subjective" / "qa_short_answer.json").write_text(
        json.dumps(
            [
                {"input": "戴罪立功是什么意思", "output": "指犯罪分子有立功表现。", "id": 1},
                {"input": "没有答案", "output": "", "id": 2},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return root


def test_parse_and_rejects(tmp_path: Path) -> None:
    read = read_source("disc_law_eval", write_source(tmp_path))
    records, dropped, skipped = read.records, read.dropped, read.problems
    by_id = {r["source_id"]: r for r in records}
    mult = by_id["mcq_mult_nje#row 2"]
    assert mult["question"] == "关于完善立法体制，下列说法正确的有？"  # stray newline gone
    assert mult["answer"] == ["A", "B", "D"] and mult["options"]["D"] == "d"
    assert mult["subject"] == "国家统一法律职业资格考试" and mult["exam_type"] == "knowledge"
    assert by_id["mcq_sing_lbk#row 2"]["answer"] == ["C"]
    shot = by_id["mcq_mult_examples#row 2"]
    assert shot["question"] == "丁将手枪交给崔某保管。关于本案，下列哪些选项是正确的？"
    assert shot["options"]["B"] == "丁无罪" and shot["answer"] == ["A", "D"]
    assert shot["exam_type"] == "case"
    subj = by_id["qa_short_answer#1"]
    assert subj["kind"] == "subjective" and subj["points"] == ""
    assert subj["answer"] == "指犯罪分子有立功表现。"
    assert len(records) == 4 and skipped == {}
    assert dropped == {
        "answer_not_in_options": 1,
        "bad_csv_row": 1,
        "answer_count": 1,
        "missing_field": 2,
        "options_not_parsed": 1,
    }


def test_queries(tmp_path: Path) -> None:
    records = read_source("disc_law_eval", write_source(tmp_path)).records
    by_id = {r["source_id"]: r for r in records}
    (q,) = made(ExamKnowledgeChoice(), by_id["mcq_mult_nje#row 2"])
    assert q["messages"][1]["content"] == "正确答案：ABD"
    (q,) = made(ExamCaseChoice(), by_id["mcq_mult_examples#row 2"])
    assert q["messages"][1]["content"] == "正确答案：AD"
    (q,) = made(ExamSubjective(), by_id["qa_short_answer#1"])
    assert q["messages"][1]["content"] == "指犯罪分子有立功表现。"


def test_real_source_is_test_only(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "disc_law_eval",
        "path": "exam/DISC-Law-Eval",
        "category": "exam",
        "license": "Apache-2.0",
        "held_out": "test",
    }
    steps = ["exam_knowledge_choice", "exam_case_choice", "exam_subjective"]
    built = real_build(shared_raw, tmp_path, {"disc_law_eval": source}, steps, "exam", dedup=False)
    stats, rows = built.stats, built.rows()
    tasks = stats["counters"]["tasks"]
    assert tasks["exam_knowledge_choice"] + tasks["exam_case_choice"] >= 2563 + 18
    assert tasks["exam_case_choice"] >= 500 and tasks["exam_subjective"] == 300
    assert "read" not in stats["steps"]  # nothing rejected
    assert len(rows) >= 2800
    assert {r["split"] for r in rows} == {"test"}  # an evaluation benchmark never trains
