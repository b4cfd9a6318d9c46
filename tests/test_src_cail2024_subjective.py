"""CAIL2024 司法主观题 sample adapter: scenario + sub-question, reference answer, test only."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.tasks.exam import ExamSubjective


def write_source(tmp_path: Path) -> Path:
    folder = tmp_path / "CAIL2024-sfzgtks" / "sfzgtks"
    folder.mkdir(parents=True)
    base = {"big_ques": "小王制作病毒链接……", "score": 4}
    lines = [
        {**base, "id": "0_1_0", "small_ques": "犯罪地如何确定？", "ground_answer": ".服务器所在地。",
         "score_point": "【关键词1:服务器所在地(0.5分)】"},
        {**base, "id": "0_1_1", "small_ques": "电子数据如何审查？", "ground_answer": "审查合法性。"},
        {**base, "id": "0_1_2", "small_ques": "没有答案？", "ground_answer": ""},
    ]  # fmt: skip
    text = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{broken\n"
    (folder / "test_data.json").write_text(text, encoding="utf-8")
    return tmp_path / "CAIL2024-sfzgtks"


def test_parse_rejects_and_query(tmp_path: Path) -> None:
    read = read_source("cail2024_subjective", write_source(tmp_path))
    records, dropped = read.records, read.dropped
    first, second = records
    assert first["kind"] == "subjective" and first["source_id"] == "0_1_0"
    assert first["question"] == "小王制作病毒链接……\n\n犯罪地如何确定？"
    assert first["answer"] == "服务器所在地。"  # the stray leading "." is gone
    assert first["points"] == "【关键词1:服务器所在地(0.5分)】" and second["points"] == ""
    assert dropped == {"missing_field": 1, "bad_json": 1}
    q1, q2 = made(ExamSubjective(), first)[0], made(ExamSubjective(), second)[0]
    assert q1["messages"][1]["content"] == "服务器所在地。"
    assert q1["group"] == q2["group"]  # sub-questions of one scenario share a split


def test_real_source_is_test_only(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "cail2024_subjective",
        "path": "exam/CAIL2024-sfzgtks",
        "category": "exam",
        "license": "none stated",
        "held_out": "test",
    }
    built = real_build(
        shared_raw,
        tmp_path,
        {"cail2024_subjective": source},
        ["exam_subjective"],
        "exam",
        dedup=False,
    )
    stats, rows = built.stats, built.rows()
    assert stats["counters"]["tasks"]["exam_subjective"] == 6
    assert len(rows) == 6 and {r["split"] for r in rows} == {"test"}
