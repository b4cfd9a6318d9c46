"""CAIL2022: xxcq NER and lblj side-of-argument sentences, fixture and real source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import made, parse_file, real_build
from lawset.builders.recipe import SourceConfig
from lawset.builders.sources.cail2022 import Cail2022
from lawset.builders.tasks.understanding import ArgumentMining, EntityExtraction

SENT = "2014年8月7日早上7时许，吸毒人员徐某某来到林某某的养猪场购买海洛因０.０７克。"


def mention(text: str, label: str) -> dict:
    start = SENT.index(text)
    return {"start": start, "end": start + len(text), "text": text, "label": label}


NER_LINES = [
    {
        "articleId": 2,
        "sentId": 20,
        "sentText": SENT,
        # out of order, one repeated: entities come out in sentence order, once each
        "entityMentions": [
            mention("林某某", "Nh"),
            mention("徐某某", "Nh"),
            mention("2014年8月7日早上7时", "NT"),
            mention("海洛因", "NDR"),
            mention("０.０７克", "NW"),
            mention("林某某", "Nh"),
        ],
        "relationMentions": [],
    },
    {"articleId": 2, "sentId": 21, "sentText": "无实体。", "entityMentions": []},
    {"articleId": 3, "sentId": 1, "sentText": SENT, "entityMentions": [mention("林某某", "Nx")]},
]

POSITION_LINES = [
    {
        "sentence_id": 541, "text_id": 31, "category": "刑事", "chapter": 2,
        "crime": "交通肇事罪", "position": "bc", "sentence": "附带民事赔偿几千块我愿意赔。",
    },
    {
        "sentence_id": 542, "text_id": 31, "category": "刑事", "chapter": 2,
        "crime": "交通肇事罪", "position": "xx", "sentence": "不明。",
    },
]  # fmt: skip


def write_jsonl(path: Path, rows: list, extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=True) for r in rows]  # \uXXXX escapes as upstream
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


#: what the pipeline adds to a parsed record before the task generator sees it
CASE = {"source": "cail2022", "license": "none stated"}


def test_ner_records_and_answer(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "xxcq/datasets/train.json", NER_LINES, extra="{broken\n")
    recs, rejects = parse_file(
        "cail2022", tmp_path / "xxcq/datasets/train.json", "xxcq/datasets/train.json"
    )
    assert rejects == ["no_entities", "unknown_entity_type", "bad_json"]
    (rec,) = recs
    assert rec["kind"] == "ner" and rec["source_id"] == "xxcq/2_20" and rec["doc_id"] == "xxcq/2"
    assert [e["text"] for e in rec["entities"]] == [
        "2014年8月7日早上7时", "徐某某", "林某某", "海洛因", "0.07克",
    ]  # fmt: skip
    (q,) = made(EntityExtraction(), rec, **CASE)
    assert q["messages"][1]["content"] == (
        "人名:徐某某、林某某;时间:2014年8月7日早上7时;毒品:海洛因;毒品重量:0.07克"
    )
    assert "人名、地点、时间、毒品、毒品重量" in q["messages"][0]["content"]


def test_position_sentences_and_skips(tmp_path: Path) -> None:
    rel = "lblj/data/stage_2/test_text.jsonl"
    write_jsonl(tmp_path / rel, POSITION_LINES)
    recs, rejects = parse_file("cail2022", tmp_path / rel, rel)
    assert rejects == ["bad_answer"]
    (rec,) = recs
    assert (
        rec["kind"] == "argument" and rec["answer"] == "B" and sorted(rec["options"]) == ["A", "B"]
    )
    assert rec["source_id"] == "stage_2/541" and rec["doc_id"] == "stage_2/31"
    assert rec["category"] == "刑事" and rec["cause"] == "交通肇事罪"
    (q,) = made(ArgumentMining(), rec, **CASE)
    assert "附带民事赔偿几千块我愿意赔。" in q["messages"][0]["content"]
    assert "交通肇事罪" in q["messages"][0]["content"]
    assert q["messages"][1]["content"].endswith("\n\n正确答案：B")
    # Unusable files are reported by the plan, never read.
    (tmp_path / "xxcq/datasets").mkdir(parents=True)
    for name in ("step1_train.json", "step1_test.json"):
        (tmp_path / "xxcq/datasets" / name).write_text("x\n", encoding="utf-8")
    write_jsonl(tmp_path / "lblj/data/stage_1/test_entry.jsonl", [{"id": 1}])
    write_jsonl(tmp_path / "xxcq/datasets/train.json", NER_LINES[:1])
    cfg = SourceConfig(
        adapter="cail2022", path="cases/CAIL2022", category="cases", license="none stated"
    )
    plan = Cail2022().plan("cail2022", cfg, tmp_path, None)
    assert [u["file"] for u in plan.units] == [rel, "xxcq/datasets/train.json"]
    assert sorted((p.file, p.reason) for p in plan.problems) == [
        ("lblj/data/stage_1/test_entry.jsonl", "unlabelled"),
        ("xxcq/datasets/step1_test.json", "unlabelled"),
        ("xxcq/datasets/step1_train.json", "duplicate_annotation"),
    ]


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "cail2022": {
        "adapter": "cail2022",
        "path": "cases/CAIL2022",
        "category": "cases",
        "license": "none stated",
        "upstream": "china-ai-law-challenge/CAIL2022",
        "commit": "2151a06cac096ce17dd75db11e71228795fc1767",
        "held_out": "test",
        "held_out_files": ["lblj/data/*/*.jsonl"],
        "real_names": True,
    }
}
TASKS = ["argument_mining", "entity_extraction"]


def test_real_cail2022(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases", dedup=False)
    stats = built.stats
    assert stats["steps"]["read"]["dropped"] == {"duplicate_annotation": 1, "unlabelled": 2}
    tasks = stats["counters"]["tasks"]
    assert tasks["entity_extraction"] == 500
    assert tasks["argument_mining"] == 2639 + 5237  # every lblj sentence
    # every lblj query goes to test, but the 7 sentences with upstream mojibake (U+FFFD)
    broken = stats["steps"]["text_length"]["dropped"].get("replacement_char", 0)
    assert broken == 7
    assert stats["counters"]["held_out_test"]["cail2022"] == 2639 + 5237 - broken
    rows = [
        (split, r)
        for split in ("train", "validation", "test")
        for f in (built.out / "data" / "stage1").glob(f"{split}-*.parquet")
        for r in pq.read_table(f).to_pylist()
    ]
    lblj = [split for split, r in rows if r["source_id"].startswith("stage_")]
    assert len(lblj) > 7000 and set(lblj) == {"test"}
    ner = [r for _, r in rows if r["task"] == "entity_extraction"]
    assert len(ner) >= 490 and all(":" in r["messages"][-1]["content"] for r in ner)
    assert any(r["messages"][-1]["content"].startswith("人名:") for r in ner)
