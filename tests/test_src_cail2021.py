"""CAIL2021 lblj: argument CSV and focus-recognition JSON, fixture and real source."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, parse_file, real_build
from lawset.builders.tasks.understanding import ArgumentMining, DisputeFocus

CSV = (
    "id,text_id,sc,A,B,C,D,E,answer\n"
    "0,7,被告人康某用拳头打伤我的右眼,甲辩,乙辩,丙辩,被告人康某辩称：我没有打她,戊辩,4\n"
    '1,7,"判令被告人赔偿损失452312元，含逗号",甲,乙,丙,丁,戊,1\n'
    "2,8,诉称,甲,乙,丙,丁,戊,6\n"  # answer outside 1-5
    "3,8,诉称,甲,,丙,丁,戊,2\n"  # empty option
    "4,8,诉称,甲,乙,丙,丁,3\n"  # a column short
)

FOCUS = {
    "dataset": [
        {
            "文书ID": "ABC",
            "诉称段": "原告周某甲诉称：被告借款60万元未还。",
            "辩称段": "被告某公司辩称：借条上的公章不是被告公司的公章。",
            "裁判分析过程段": "本院认为，借条加盖了被告公章，被告应履行还款义务。",
            "争议焦点": ["C32"],
            "诉讼请求": [
                {"文书段落": "诉称段", "要素名称": "C32_B01", "oValue": "被告借款60万元未还"}
            ],
            "抗辩事由": [
                {"文书段落": "辩称段", "要素名称": "C32_C01", "oValue": "公章不是被告公司的公章"}
            ],
            "争议焦点子节点": [
                {
                    "文书段落": "裁判分析过程段",
                    "要素名称": "C32_D02",
                    "oValue": "被告应履行还款义务",
                },
                {"文书段落": "辩称段", "要素名称": "C32_D01", "oValue": "公章不是被告公司的公章"},
                {"文书段落": "辩称段", "要素名称": "C32_D01", "oValue": "公章不是被告公司的公章"},
            ],
        },
        {  # no 诉称段 (as two real documents), no sub-nodes: rejected
            "文书ID": "DEF",
            "辩称段": "被告辩称。",
            "裁判分析过程段": "本院认为。",
            "争议焦点": ["C01"],
            "诉讼请求": [],
            "抗辩事由": [],
            "争议焦点子节点": [],
        },
        "not an object",
    ]
}


#: what the pipeline adds to a parsed record before the task generator sees it
CASE = {"source": "cail2021", "license": "none stated"}


def test_argument_csv(tmp_path: Path) -> None:
    path = tmp_path / "SMP-CAIL2021-train.csv"
    path.write_text(CSV, encoding="utf-8")
    recs, rejects = parse_file(
        "cail2021", path, "lblj/Task1.1/baseline/data/SMP-CAIL2021-train.csv"
    )
    assert rejects == ["bad_answer", "missing_field", "bad_csv_row"]
    first, second = recs
    assert first["kind"] == "argument" and first["answer"] == "D"
    assert first["options"]["D"] == "被告人康某辩称：我没有打她" and first["category"] == ""
    assert first["source_id"] == "task1/0" and first["doc_id"] == "task1/7"
    assert second["claim"] == "判令被告人赔偿损失452312元，含逗号" and second["answer"] == "A"
    (q,) = made(ArgumentMining(), first, **CASE)
    user, answer = q["messages"][0]["content"], q["messages"][1]["content"]
    assert "被告人康某用拳头打伤我的右眼" in user and "D. 被告人康某辩称：我没有打她" in user
    assert answer.endswith("\n\n正确答案：D") and answer.count("正确答案") == 1
    # Both rows of judgment 7 share a group, hence a split.
    assert (
        made(ArgumentMining(), second, **CASE)[0]["group"] == q["group"] == "case:cail2021:task1/7"
    )


def test_focus_json(tmp_path: Path) -> None:
    path = tmp_path / "focus.json"
    path.write_text(json.dumps(FOCUS, ensure_ascii=False, indent=4), encoding="utf-8")
    recs, rejects = parse_file(
        "cail2021", path, "lblj/Task2.1/x/SMP-CAIL2021-focus_recognition-train.json"
    )
    assert rejects == ["no_focus", "not_an_object"]
    (rec,) = recs
    assert rec["kind"] == "focus" and rec["source_id"] == "task2/ABC"
    # distinct, in paragraph order: 辩称 before 裁判分析
    assert rec["focus"] == ["公章不是被告公司的公章", "被告应履行还款义务"]
    assert rec["claims"] == ["被告借款60万元未还"] and rec["defenses"] == ["公章不是被告公司的公章"]
    assert rec["text"].startswith("【诉称】原告周某甲诉称") and "\n【辩称】" in rec["text"]
    assert rec["focus_codes"] == ["C32"]
    (q,) = made(DisputeFocus(), rec, **CASE)
    answer = q["messages"][1]["content"]
    assert answer.startswith("诉讼请求：被告借款60万元未还\n抗辩事由：公章不是被告公司的公章\n")
    assert answer.splitlines()[-1] == "争议焦点：公章不是被告公司的公章；被告应履行还款义务"
    assert made(DisputeFocus(DisputeFocus.Params(max_chars=20)), rec, **CASE) == []


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "cail2021": {
        "adapter": "cail2021",
        "path": "cases/CAIL2021",
        "category": "cases",
        "license": "none stated",
        "upstream": "china-ai-law-challenge/CAIL2021",
        "commit": "4f87aecf7f0e7337d68225e2c5dbe78e19f8f1f3",
        "held_out": "none",
        "held_out_files": [],
        "real_names": True,
    }
}
TASKS = ["argument_mining", "dispute_focus"]


def test_real_cail2021(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases")
    stats = built.stats
    assert stats["steps"]["argument_mining"]["in"] == 2449  # every CSV row parses
    assert stats["steps"]["dispute_focus"]["in"] == 111
    tasks = stats["counters"]["tasks"]
    assert tasks["argument_mining"] == 2449 and tasks["dispute_focus"] >= 100
    assert "held_out_test" not in stats["counters"]  # training data
    assert stats["counters"]["pii"]["name"] > 100  # the focus JSON holds real names
