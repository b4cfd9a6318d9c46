"""LeCaRD and LeCaRDv2 query cases: charges, duplicate ids across files, rejects, real names
masked, and a real build (evaluation queries: test only)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.sources.lecardv2 import charges_of
from lawset.builders.steps import MaskPii
from lawset.builders.tasks.application import ChargePrediction


def write_jsonl(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_lecard_parse_mask_and_charge_task(tmp_path: Path) -> None:
    root = tmp_path / "LeCaRD"
    fact = "2018年1月15日，被告人莫新国酒后驾驶小型轿车，经检验，被告人莫新国血液中乙醇含量为201.1毫克。"
    write_jsonl(
        root / "data" / "query" / "query.json",
        [
            {"path": "a/b.json", "ridx": 5156, "q": fact, "crime": ["危险驾驶罪"]},
            {"path": "a/c.json", "ridx": 17, "q": "被告人王某盗窃。", "crime": []},
            {"path": "a/d.json", "ridx": 18, "q": "", "crime": ["盗窃罪"]},
            {"path": "a/e.json", "q": "被告人王某盗窃。", "crime": ["盗窃罪"]},
            {"path": "a/f.json", "ridx": 19, "q": "被告人王某盗窃。", "crime": "盗窃罪"},
        ],
    )
    write_jsonl(root / "data" / "label" / "golden_labels.json", [{"5156": [1, 2]}])
    read = read_source(
        "lecard",
        root,
        name="lecard",
        category="cases",
        license="MIT",
        held_out="test",
        real_names=True,
    )
    records, ctx = read.records, read.ctx
    assert ctx.stats.steps["read"]["dropped"] == {"missing_field": 2, "bad_field": 1}
    first, no_charge = records
    assert first["source_id"] == "5156" and first["charges"] == ["危险驾驶罪"]
    assert no_charge["charges"] == []
    masked = [r for b in MaskPii().run([records], Context(0)) for r in b]
    assert "莫新国" not in masked[0]["fact"] and masked[0]["fact"].count("莫某") == 2
    out = [r for b in ChargePrediction().run([masked], Context(0)) for r in b]
    (q,) = [r for r in out if r["kind"] == "query"]  # a case with no charge makes no query
    assert q["messages"][1]["content"] == "罪名：危险驾驶罪"
    assert "莫新国" not in q["messages"][0]["content"] and q["_held_out"] == "test"


def test_lecardv2_charges_from_the_head() -> None:
    assert charges_of("䬦某东犯故意伤害、抢劫罪案的刑事判决书海南省第二中级人民法院刑事判决书") == [
        "故意伤害罪",
        "抢劫罪",
    ]
    assert charges_of(
        "韩飞飞寻衅滋事、妨害公务二审刑事判决书...指控原审被告人韩飞飞犯寻衅滋事罪、妨害公务罪一案"
    ) == [
        "寻衅滋事罪",
        "妨害公务罪",
    ]
    assert charges_of("张某甲犯窝藏、包庇罪一审刑事判决书") == ["窝藏、包庇罪"]
    assert charges_of("检察院指控的原审被告人徐某犯赌博罪一案") == ["赌博罪"]
    assert charges_of(
        "起诉书指控被告人王某某、邹某某犯非法拘禁罪于2018年11月19日向本院提起公诉"
    ) == ["非法拘禁罪"]
    assert charges_of("自诉人刘某以被告人陆永权犯拒不执行判决、裁定罪，向本院提起控诉") == [
        "拒不执行判决、裁定罪"
    ]
    assert charges_of("周亮亮、凌靖一审刑事判决书：指控罪名：寻衅滋事、危险驾驶。") == [
        "寻衅滋事罪",
        "危险驾驶罪",
    ]
    assert charges_of("邓某，因涉嫌诈骗罪，于2017年11月3日被刑事拘留") == ["诈骗罪"]
    # 2010年因犯盗窃罪被判刑: a prior conviction in the biography is not the case's charge.
    assert charges_of("被告人李某，男。2010年因犯盗窃罪被判处有期徒刑一年。") == []


def test_lecardv2_duplicates_and_rejects(tmp_path: Path) -> None:
    root = tmp_path / "LeCaRDv2"
    head = "刘某犯盗窃罪一审刑事判决书某某县人民法院刑事判决书（2018）某刑初1号："
    row = {
        "id": 1,
        "query": head + "经审理查明：被告人刘某盗窃。",
        "fact": "经审理查明：被告人刘某盗窃。",
    }
    write_jsonl(
        root / "query" / "controversial_query.json",
        [row, {"id": 2, "query": "审理", "fact": ""}, "{bad"],
    )
    write_jsonl(
        root / "query" / "test_query.json",
        [
            {**row, "fact": "经审理查明：另一份。"},  # same id as in the earlier file
            {"id": 3, "query": "被告单位某公司犯非法经营罪一案", "fact": "某公司非法经营。"},
            {"id": 3, "query": "重复", "fact": "重复。"},  # same id earlier in this file
            {"query": "无编号", "fact": "无编号。"},
        ],
    )
    write_jsonl(root / "label" / "test_relevence.trec", ["1\t0\t22\t3"])
    read = read_source(
        "lecardv2",
        root,
        name="lecardv2",
        category="cases",
        license="MIT",
        held_out="test",
        real_names=True,
    )
    records, ctx = read.records, read.ctx
    assert ctx.stats.steps["read"]["dropped"] == {
        "missing_field": 2,
        "bad_json": 1,
        "duplicate_id": 2,
    }
    assert [(r["source_id"], r["source_file"]) for r in records] == [
        ("1", "query/controversial_query.json"),
        ("3", "query/test_query.json"),
    ]
    first, second = records
    assert first["fact"] == "经审理查明：被告人刘某盗窃。" and first["charges"] == ["盗窃罪"]
    assert first["title"] == "刘某犯盗窃罪一审刑事判决书"
    assert second["charges"] == ["非法经营罪"] and second["title"] == ""


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "lecard": {
        "adapter": "lecard",
        "path": "cases/LeCaRD",
        "category": "cases",
        "license": "MIT",
        "upstream": "myx666/LeCaRD",
        "commit": "b1a4b72b2050a4aa643e6360d5ff3a6b1fd221e3",
        "held_out": "test",
        "held_out_files": [],
        "real_names": True,
    },
    "lecardv2": {
        "adapter": "lecardv2",
        "path": "cases/LeCaRDv2",
        "category": "cases",
        "license": "MIT",
        "upstream": "THUIR/LeCaRDv2",
        "commit": "3326485a6c41f8aeda15502fea24e658f8fab746",
        "held_out": "test",
        "held_out_files": [],
        "real_names": True,
    },
}
TASKS = ["article_prediction", "charge_prediction", "prison_term", "case_judgment"]


def test_real_lecard_and_lecardv2(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases")
    stats = built.stats
    assert stats["steps"]["read"]["dropped"] == {"duplicate_id": 40}  # 360 rows, 320 ids
    assert stats["steps"]["charge_prediction"]["in"] == 107 + 320
    rows = stats["rows_by_source_task"]
    assert rows["lecard"] == {"charge_prediction": 106}  # one query names no charge
    assert rows["lecardv2"]["charge_prediction"] >= 300
    assert stats["counters"]["held_out_test"] == {
        "lecard": 106,
        "lecardv2": rows["lecardv2"]["charge_prediction"],
    }
    table = [
        pq.read_table(f).to_pylist()
        for f in sorted((built.out / "data" / "stage1").glob("*.parquet"))
    ]
    queries = [q for t in table for q in t]
    assert {f.name.split("-")[0] for f in (built.out / "data" / "stage1").glob("*.parquet")} == {
        "test"
    }
    # No real defendant name of LeCaRD's first query survives unmasked.
    first = json.loads(
        (shared_raw / "cases/LeCaRD/data/query/query.json").read_text("utf-8").split("\n")[0]
    )
    assert "被告人莫新国" in first["q"]
    (q,) = [q for q in queries if q["source"] == "lecard" and q["source_id"] == str(first["ridx"])]
    text = "".join(m["content"] for m in q["messages"])
    assert "莫新国" not in text and "被告人莫某" in text
    assert not any("莫新国" in m["content"] for q in queries for m in q["messages"])
