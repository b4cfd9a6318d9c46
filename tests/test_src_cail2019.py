"""CAIL2019 reading comprehension: fixture with the source's quirks, and the real source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import made, parse_file, real_build
from lawset.builders.tasks.understanding import UNANSWERABLE, ReadingComprehension

CONTEXT = "经审理查明:原告曹0与被告张x1原系夫妻关系，因夫妻感情破裂，双方于2010年协议离婚。"


def squad(qas: list[dict]) -> dict:
    return {
        "version": "1.0",
        "data": [
            {
                "caseid": "1",
                "domain": "civil",
                "paragraphs": [{"context": CONTEXT, "casename": "离婚纠纷", "qas": qas}],
            }
        ],
    }


QAS = [
    {  # two annotators agree on the shorter span: it wins
        "id": "1_1",
        "question": "原告曹0与被告张x1因何离婚？",
        "is_impossible": "false",
        "answers": [
            {"text": "因夫妻感情破裂", "answer_start": 25},
            {"text": "夫妻感情破裂", "answer_start": 26},
            {"text": "夫妻感情破裂", "answer_start": 26},
        ],
    },
    {
        "id": "1_2",
        "question": "双方是否协议离婚？",
        "is_impossible": "false",
        "answers": [{"text": "YES", "answer_start": -1}] * 3,
    },
    {
        "id": "1_3",
        "question": "离婚后孩子由谁抚养？",
        "is_impossible": "true",
        "answers": [{"text": "", "answer_start": -1}] * 3,
    },
    {"id": "1_4", "question": "何时离婚？", "is_impossible": "false", "answers": []},
    {"id": "1_5", "question": "何时结婚？", "is_impossible": "maybe", "answers": []},
    {"id": "1_6", "is_impossible": "false", "answers": [{"text": "x", "answer_start": 0}]},
]


def parse_all(path: Path) -> tuple[list[dict], list[str]]:
    return parse_file("cail2019", path, f"阅读理解/data/{path.name}")


@pytest.fixture()
def dev_file(tmp_path: Path) -> Path:
    path = tmp_path / "dev_ground_truth.json"
    path.write_text(json.dumps(squad(QAS), ensure_ascii=False), encoding="utf-8")
    return path


def test_parse_answers_yes_no_unanswerable_and_rejects(dev_file: Path) -> None:
    recs, rejects = parse_all(dev_file)
    assert rejects == ["missing_answer", "bad_field", "missing_field"]
    first, yes, none = recs
    assert first["source_id"] == "dev/1_1" and first["doc_id"] == "dev/1"
    assert first["answers"] == ["夫妻感情破裂", "因夫妻感情破裂"]
    assert first["impossible"] is False and first["context"] == CONTEXT
    assert yes["answers"] == ["是"]
    assert none["answers"] == [] and none["impossible"] is True


def test_test_split_ids_do_not_collide_with_dev(tmp_path: Path) -> None:
    path = tmp_path / "test_ground_truth.json"
    path.write_text(json.dumps(squad(QAS[:1]), ensure_ascii=False), encoding="utf-8")
    (rec,) = parse_all(path)[0]
    assert rec["source_id"] == "test/1_1" and rec["doc_id"] == "test/1"


#: what the pipeline adds to a parsed question before the task generator sees it
READING = {"kind": "reading", "source": "cail2019", "license": "none stated"}


def test_reading_queries_answer_lines(dev_file: Path) -> None:
    first, yes, none = parse_all(dev_file)[0]
    (q,) = made(ReadingComprehension(), first, **READING)
    assert q["messages"][1]["content"] == "回答：夫妻感情破裂"
    assert CONTEXT in q["messages"][0]["content"] and "因何离婚" in q["messages"][0]["content"]
    assert q["group"] == "case:cail2019:dev/1" and q["level"] == "understanding"
    assert made(ReadingComprehension(), yes, **READING)[0]["messages"][1]["content"] == "回答：是"
    (q,) = made(ReadingComprehension(), none, **READING)
    assert q["messages"][1]["content"] == f"回答：{UNANSWERABLE}"
    assert UNANSWERABLE in q["messages"][0]["content"]  # every phrasing announces the phrase
    assert (
        made(ReadingComprehension(ReadingComprehension.Params(max_chars=10)), first, **READING)
        == []
    )


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "cail2019": {
        "adapter": "cail2019",
        "path": "cases/CAIL2019",
        "category": "cases",
        "license": "none stated",
        "upstream": "china-ai-law-challenge/CAIL2019",
        "commit": "010ebcedb4a1faf0ae25576254d134fa518e4830",
        "held_out": "test",
        "held_out_files": ["阅读理解/data/test_ground_truth.json"],
        "real_names": False,
    }
}
TASKS = ["reading_comprehension"]


def test_real_cail2019(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases")
    stats = built.stats
    assert stats["steps"]["reading_comprehension"]["in"] == 12000  # 6,000 QA per file
    assert stats["counters"]["tasks"]["reading_comprehension"] >= 11500
    assert stats["counters"]["held_out_test"]["cail2019"] == 6000
    rows = [
        (split, r)
        for split in ("train", "validation", "test")
        for f in (built.out / "data" / "stage1").glob(f"{split}-*.parquet")
        for r in pq.read_table(f).to_pylist()
    ]
    assert all(split == "test" for split, r in rows if r["source_id"].startswith("test/"))
    answers = [r["messages"][-1]["content"] for _, r in rows]
    assert all(a.startswith("回答：") for a in answers)
    assert sum(a == f"回答：{UNANSWERABLE}" for a in answers) > 2500  # 1,420 + 1,462 upstream
    assert sum(a in ("回答：是", "回答：否") for a in answers) > 1000
