"""LexEval adapter: every item parsed with its task id; the recipe excludes the benchmark."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.tasks.exam import BenchmarkItem

INSTR = "请阅读以下选择题给出正确选项，不要解释原因。请只给出答案的序号。\n"


def write_source(tmp_path: Path) -> Path:
    data = tmp_path / "LexEval" / "data"
    data.mkdir(parents=True)
    choice = {
        "instruction": INSTR,
        "input": "犯罪中止可以发生在:\nA: 预备阶段\nB: 实行阶段",
        "answer": "AB",
    }
    lines = [
        json.dumps(choice, ensure_ascii=False),
        json.dumps({**choice, "answer": ""}, ensure_ascii=False),  # empty gold (3_5 has three)
        "",
        "{not json",
    ]
    (data / "1_1.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    essay = {
        "instruction": "请翻译。\n",
        "input": "De Minimis Non Curat Lex",
        "answer": "法不闻细微",
    }
    (data / "5_3.json").write_text(json.dumps(essay, ensure_ascii=False) + "\n", encoding="utf-8")
    (data / "notes.json").write_text(json.dumps(essay) + "\n", encoding="utf-8")
    return tmp_path / "LexEval"


def test_parse_and_rejects(tmp_path: Path) -> None:
    read = read_source("lexeval", write_source(tmp_path))
    records, dropped = read.records, read.dropped
    assert [(r["task_id"], r["source_id"]) for r in records] == [("1_1", "1_1#1"), ("5_3", "5_3#1")]
    first = records[0]
    assert first["kind"] == "benchmark" and first["answer"] == "AB"
    assert first["instruction"] == INSTR.strip() and first["input"].startswith("犯罪中止")
    assert dropped == {"missing_field": 1, "bad_json": 1, "unknown_task": 1}
    (q,) = made(BenchmarkItem(), records[0])
    assert q["messages"][1]["content"] == "正确答案：AB" and q["level"] == "memorization"
    (q,) = made(BenchmarkItem(), records[1])
    assert q["messages"][1]["content"] == "法不闻细微" and q["_structured"] is False


def test_real_source_is_excluded_but_counted(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "lexeval",
        "path": "exam/LexEval",
        "category": "exam",
        "license": "MIT",
        "held_out": "exclude",
    }
    built = real_build(
        shared_raw, tmp_path, {"lexeval": source}, ["benchmark_item"], "exam", dedup=False
    )
    stats, rows = built.stats, built.rows()
    assert stats["steps"]["normalize"]["in"] >= 11600  # every item parsed
    assert stats["steps"]["held_out"]["dropped"]["held_out_excluded"] >= 11600
    assert stats["steps"]["read"]["dropped"] == {"missing_field": 3}
    assert stats["steps"]["benchmark_item"]["in"] == 0
    assert rows == []  # zero rows from LexEval
