"""ChatLaw ELO_val adapter: inline options, full-text answers mapped to letters, test only."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.sources.chatlaw_exam import map_answer
from lawset.builders.tasks.exam import ExamCaseChoice, ExamKnowledgeChoice

W = "\u3000\u3000"
N = "\u00a0" * 4


def write_source(tmp_path: Path) -> Path:
    folder = tmp_path / "ChatLaw" / "data" / "ELO_val"
    folder.mkdir(parents=True)
    items = [
        {
            "question_number": 1,
            "question": f"关于民事法律关系，下列哪一选项是正确的？\n{W}A．只能自主设立\n{W}B．主体即自然人"
            f"\n{W}C．客体包括不作为\n{W}D．内容均由法律规定\n{W}二、多项选择题。每题2分。",
            "answer": ["C．客体包括不作为"],
        },
        {
            "question_number": 2,
            "question": f'甲店立有"假一罚十"木板，下列哪些选项正确？\n{W}A．"假一罚十"无效\n{W}B．乙可索赔'
            f"\n{W}C．甲可撤销\n{W}D．甲应赔偿\n{W}（一）\n{W}陈某向贺某借款20万元。请回答3-3题。",
            "answer": ["A．“假一罚十”无效", "D．甲应赔偿"],
        },
        {
            "question_number": 3,
            "question": f"关于贺某的抵押权，下列选项正确的是：\n{N}A．可以行使\n{N}B．不可以行使\n",
            "answer": ["B．不可以行使\u00a0"],
        },
        {
            "question_number": 4,
            "question": f"缺题干\n{W}C．第三项\n{W}D．第四项",
            "answer": ["C．第三项"],
        },
        {
            "question_number": 5,
            "question": f"下列说法正确的是：\n{W}A．一\n{W}B．二",
            "answer": ["A．另一道题的答案"],
        },
        {"question_number": 6, "question": "没有答案", "answer": []},
    ]
    (folder / "val_ NBE_2008_3.json").write_text(json.dumps(items, ensure_ascii=False), "utf-8")
    return tmp_path / "ChatLaw"


def test_parse_and_rejects(tmp_path: Path) -> None:
    read = read_source("chatlaw_exam", write_source(tmp_path))
    records, dropped = read.records, read.dropped
    by_id = {r["source_id"]: r for r in records}
    assert sorted(by_id) == ["val_NBE_2008_3#1", "val_NBE_2008_3#2", "val_NBE_2008_3#3"]
    one = by_id["val_NBE_2008_3#1"]
    assert one["question"] == "关于民事法律关系，下列哪一选项是正确的？"  # section heading cut
    assert one["options"]["C"] == "客体包括不作为" and one["answer"] == ["C"]
    assert one["exam_type"] == "knowledge"
    two = by_id["val_NBE_2008_3#2"]
    assert two["answer"] == ["A", "D"] and two["exam_type"] == "case"  # quote styles ignored
    three = by_id["val_NBE_2008_3#3"]  # NBSP indentation; the scenario of item 2's tail in front
    assert three["question"] == "陈某向贺某借款20万元。\n关于贺某的抵押权，下列选项正确的是："
    assert three["answer"] == ["B"]
    assert dropped == {"options_not_parsed": 1, "answer_not_mapped": 1, "missing_field": 1}


def test_map_answer_tolerates_small_typos_only() -> None:
    options = {"A": "被告人刘某的犯罪情节轻微，社会危害性不大", "B": "属于价值判断"}
    assert map_answer("A．被告人刘某的犯罪情节轻微，危害性不大", options) == "A"
    assert map_answer("属于价值判断", options) == "B"


def test_queries(tmp_path: Path) -> None:
    records = read_source("chatlaw_exam", write_source(tmp_path)).records
    by_id = {r["source_id"]: r for r in records}
    (q,) = made(ExamKnowledgeChoice(), by_id["val_NBE_2008_3#1"])
    assert q["messages"][1]["content"] == "正确答案：C"
    assert "二、多项选择题" not in q["messages"][0]["content"]
    (q,) = made(ExamCaseChoice(), by_id["val_NBE_2008_3#2"])
    assert q["messages"][1]["content"] == "正确答案：AD"


def test_real_source_is_test_only(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "chatlaw_exam",
        "path": "exam/ChatLaw",
        "category": "exam",
        "license": "AGPL-3.0",
        "held_out": "test",
    }
    steps = ["exam_knowledge_choice", "exam_case_choice"]
    built = real_build(shared_raw, tmp_path, {"chatlaw_exam": source}, steps, "exam", dedup=False)
    stats, rows = built.stats, built.rows()
    tasks = stats["counters"]["tasks"]
    assert tasks["exam_knowledge_choice"] + tasks["exam_case_choice"] >= 290
    assert tasks["exam_case_choice"] >= 100
    assert len(rows) >= 290 and {r["split"] for r in rows} == {"test"}
