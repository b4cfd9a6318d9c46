"""CAIL2022: xxcq NER and lblj side-of-argument sentences, fixture and real source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import run_lawset
from lawset.builders.pipeline.base import Context
from lawset.builders.recipe import SourceConfig
from lawset.builders.sources.cail2022 import Cail2022
from lawset.builders.sources.common import RecordError
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


def parse_file(root: Path, rel: str) -> tuple[list[dict], list[str]]:
    adapter = Cail2022()
    out, rejects = [], []
    for where, raw in adapter.records(root / rel):
        if isinstance(raw, RecordError):
            rejects.append(raw.reason)
            continue
        try:
            out.extend(adapter.parse(raw, rel, where))
        except RecordError as exc:
            rejects.append(exc.reason)
    return out, rejects


def made(step, rec: dict) -> list[dict]:
    rec = {**rec, "source": "cail2022", "license": "none stated"}
    return [r for batch in step.run([[rec]], Context(0)) for r in batch][1:]


def test_ner_records_and_answer(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "xxcq/datasets/train.json", NER_LINES, extra="{broken\n")
    recs, rejects = parse_file(tmp_path, "xxcq/datasets/train.json")
    assert rejects == ["no_entities", "unknown_entity_type", "bad_json"]
    (rec,) = recs
    assert rec["kind"] == "ner" and rec["source_id"] == "xxcq/2_20" and rec["doc_id"] == "xxcq/2"
    assert [e["text"] for e in rec["entities"]] == [
        "2014年8月7日早上7时", "徐某某", "林某某", "海洛因", "0.07克",
    ]  # fmt: skip
    (q,) = made(EntityExtraction(), rec)
    assert q["messages"][1]["content"] == (
        "人名:徐某某、林某某;时间:2014年8月7日早上7时;毒品:海洛因;毒品重量:0.07克"
    )
    assert "人名、地点、时间、毒品、毒品重量" in q["messages"][0]["content"]


def test_position_sentences_and_skips(tmp_path: Path) -> None:
    rel = "lblj/data/stage_2/test_text.jsonl"
    write_jsonl(tmp_path / rel, POSITION_LINES)
    recs, rejects = parse_file(tmp_path, rel)
    assert rejects == ["bad_answer"]
    (rec,) = recs
    assert (
        rec["kind"] == "argument" and rec["answer"] == "B" and sorted(rec["options"]) == ["A", "B"]
    )
    assert rec["source_id"] == "stage_2/541" and rec["doc_id"] == "stage_2/31"
    assert rec["category"] == "刑事" and rec["cause"] == "交通肇事罪"
    (q,) = made(ArgumentMining(), rec)
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


RECIPE = """\
version: 1
name: test-cail2022
sources:
  laws:
    adapter: lawrefbook
    path: laws/LawRefBook-Laws
    category: laws
    license: "none stated"
  cail2022:
    adapter: cail2022
    path: cases/CAIL2022
    category: cases
    license: "none stated"
    upstream: china-ai-law-challenge/CAIL2022
    commit: 2151a06cac096ce17dd75db11e71228795fc1767
    held_out: test
    held_out_files: ["lblj/data/*/*.jsonl"]
    real_names: true
steps:
  - name: normalize
  - name: held_out
  - name: mask_pii
  - name: argument_mining
  - name: entity_extraction
  - name: citations
  - name: quality_scores
  - name: text_length
execution: {shards: 4}
# Adapter and task counts: dedup (tested in test_dedup.py) would remove a few repeats.
dedup: {exact_user_turn: false, near: false}
"""


def test_real_cail2022(shared_raw: Path, tmp_path: Path) -> None:
    recipe, out = tmp_path / "recipe.yaml", tmp_path / "out"
    recipe.write_text(RECIPE, encoding="utf-8")
    run_lawset(
        "build", "--sources", shared_raw, "--out", out, "--recipe", recipe,
        "--only", "cases", "--no-progress",
    )  # fmt: skip
    stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
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
        for f in (out / "data" / "stage1").glob(f"{split}-*.parquet")
        for r in pq.read_table(f).to_pylist()
    ]
    lblj = [split for split, r in rows if r["source_id"].startswith("stage_")]
    assert len(lblj) > 7000 and set(lblj) == {"test"}
    ner = [r for _, r in rows if r["task"] == "entity_extraction"]
    assert len(ner) >= 490 and all(":" in r["messages"][-1]["content"] for r in ner)
    assert any(r["messages"][-1]["content"].startswith("人名:") for r in ner)
