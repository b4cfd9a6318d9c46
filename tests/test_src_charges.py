"""LaWGPT charge catalogue (``charges``): article references, rejects, charge ↔ article tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.sources.charges import chapter_of, parse_reference
from lawset.builders.steps import HeldOut, MaskPii, Normalize
from lawset.builders.tasks.charges import ArticleCharges, ChargeArticle

CH2 = "第二章 危害公共安全罪（54）"
ENTRIES = [
    {"id": 1, "charge": "背叛国家罪", "chapter": "刑法第102条", "level1": "第一章 危害国家安全罪（12）", "level2": ""},
    {"id": 13, "charge": "放火罪", "chapter": "刑法第114条、第115条第1款", "level1": CH2, "level2": ""},
    {"id": 14, "charge": "决水罪", "chapter": "刑法第114条、第115条第1款", "level1": CH2, "level2": ""},
    {"id": 18, "charge": "失火罪", "chapter": "刑法第115条第2款", "level1": CH2, "level2": ""},
    {"id": 27, "charge": "过失损坏交通工具罪", "chapter": "第119条第2款", "level1": CH2, "level2": ""},
    {"id": 32, "charge": "帮助恐怖活动罪", "chapter": "刑法第120条之一", "level1": CH2, "level2": ""},
    {
        "id": 131,
        "charge": "骗购外汇罪",
        "chapter": "《全国人大常委会关于惩治骗购外汇、逃汇和非法买卖外汇犯罪的决定》第1条",
        "level1": "第三章 破坏社会主义市场经济秩序罪（110）",
        "level2": "第四节 破坏金融管理秩序罪(30)",
    },
    {"id": 200, "charge": "", "chapter": "刑法第200条", "level1": "", "level2": ""},
    {"id": 201, "charge": "某某行为", "chapter": "刑法第201条", "level1": "", "level2": ""},
    "not an object",
]  # fmt: skip

CFG = {"path": "laws/LaWGPT-criminal-charges", "category": "laws", "license": "GPL-3.0"}


def run_fixture(tmp_path: Path, steps: list) -> tuple[list[dict], Context]:
    src = tmp_path / "raw" / "laws" / "LaWGPT-criminal-charges"
    (src / "resources").mkdir(parents=True)
    text = json.dumps(ENTRIES, ensure_ascii=False, indent=2)
    (src / "resources" / "criminal_charges.json").write_text(text, encoding="utf-8")
    (src / "LICENSE").write_text("GPL-3.0\n", encoding="utf-8")
    read = read_source(
        "charges",
        src,
        name="criminal_charges",
        steps=steps,
        rejects=tmp_path / "rejects.jsonl",
        **CFG,
    )
    assert read.files == ["resources/criminal_charges.json"]
    return read.records, read.ctx


def test_parse_and_rejects(tmp_path: Path) -> None:
    out, ctx = run_fixture(tmp_path, [])
    assert ctx.stats.steps["read"]["dropped"] == {
        "not_criminal_law": 1,
        "missing_field": 1,
        "bad_charge": 1,
        "not_an_object": 1,
    }
    by_charge = {r["charge"]: r for r in out}
    assert list(by_charge) == [
        "背叛国家罪",
        "放火罪",
        "决水罪",
        "失火罪",
        "过失损坏交通工具罪",
        "帮助恐怖活动罪",
    ]
    fire = by_charge["放火罪"]
    assert fire["kind"] == "charge" and fire["law"] == "中华人民共和国刑法"
    assert (fire["article"], fire["sub"]) == (114, 0)
    assert fire["provisions"] == ["第一百一十四条", "第一百一十五条第一款"]
    assert fire["chapter"] == "第二章 危害公共安全罪"
    assert fire["source_id"] == "13" and fire["license"] == "GPL-3.0"
    assert (by_charge["帮助恐怖活动罪"]["article"], by_charge["帮助恐怖活动罪"]["sub"]) == (120, 1)
    assert by_charge["过失损坏交通工具罪"]["provisions"] == ["第一百一十九条第二款"]
    # Each article is owned by its first charge and lists every charge that cites it.
    assert fire["_article_charges"] == [
        ["第一百一十四条", ["放火罪", "决水罪"]],
        ["第一百一十五条", ["放火罪", "决水罪", "失火罪"]],
    ]
    assert by_charge["决水罪"]["_article_charges"] == []
    assert by_charge["失火罪"]["_article_charges"] == []


def test_queries(tmp_path: Path) -> None:
    steps = [Normalize(), HeldOut(), MaskPii(), ChargeArticle(), ArticleCharges()]
    out, ctx = run_fixture(tmp_path, steps)
    queries = [r for r in out if r["kind"] == "query"]
    assert ctx.stats.counters["tasks"] == {"charge_article": 6, "article_charges": 5}
    fire = [q for q in queries if q["task"] == "charge_article" and q["source_id"] == "13"][0]
    assert "放火罪" in fire["messages"][0]["content"]
    assert fire["messages"][1]["content"] == (
        "放火罪规定在《中华人民共和国刑法》第一百一十四条、第一百一十五条第一款，"
        "属于刑法分则第二章 危害公共安全罪。\n\n"
        "法条：《中华人民共和国刑法》第一百一十四条、第一百一十五条"
    )
    assert fire["level"] == "memorization" and fire["group"] == (
        "statute:中华人民共和国刑法/第一百一十四条"
    )
    terror = [q for q in queries if q["task"] == "charge_article" and q["source_id"] == "32"][0]
    assert terror["messages"][1]["content"].endswith(
        "\n\n法条：《中华人民共和国刑法》第一百二十条之一"
    )
    reverse = {q["group"]: q for q in queries if q["task"] == "article_charges"}
    q115 = reverse["statute:中华人民共和国刑法/第一百一十五条"]
    assert q115["messages"][1]["content"] == (
        "《中华人民共和国刑法》第一百一十五条涉及3个罪名：放火罪、决水罪、失火罪。"
        "\n\n罪名：放火罪、决水罪、失火罪"
    )
    q120 = reverse["statute:中华人民共和国刑法/第一百二十条之一"]
    assert q120["messages"][1]["content"].endswith("\n\n罪名：帮助恐怖活动罪")
    assert "第一百二十条之一" in q120["messages"][0]["content"] or (
        "第120条之一" in q120["messages"][0]["content"]
    )
    # Phrasings vary across records, and the same record always gets the same one.
    forward = [q for q in queries if q["task"] == "charge_article"]
    templates = {q["messages"][0]["content"].replace(q_charge(q), "X") for q in forward}
    assert len(templates) >= 2
    again = [r for r in run_fixture(tmp_path / "again", steps)[0] if r["kind"] == "query"]
    assert [q["id"] for q in again] == [q["id"] for q in queries]


def q_charge(q: dict) -> str:
    return q["messages"][1]["content"].split("规定在", 1)[0]


def test_reference_parser() -> None:
    assert parse_reference("刑法第128条第2款、第3款") == [(128, 0, "第一百二十八条第二款、第三款")]
    assert parse_reference("刑法第284条之一第1款、第2款") == [
        (284, 1, "第二百八十四条之一第一款、第二款")
    ]
    for bad in ("民法典第1条", "刑法第条", "《某决定》第1条"):
        try:
            parse_reference(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")
    assert chapter_of(
        "第三章 破坏社会主义市场经济秩序罪（110）", "第四节 破坏金融管理秩序罪(30)"
    ) == ("第三章 破坏社会主义市场经济秩序罪 > 第四节 破坏金融管理秩序罪")


#: the source's recipe entry for the real build
SOURCES = {
    "criminal_charges": {
        "adapter": "charges",
        **CFG,
        "upstream": "pengxiao-song/LaWGPT",
        "commit": "7f1c52ad85a5c52b3d3fd7d1a78b01d7b89fc802",
        "held_out": "none",
    }
}


def test_real_charges_build(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, ["charge_article", "article_charges"], "laws")
    stats = built.stats
    assert stats["steps"]["read"]["dropped"]["not_criminal_law"] == 1  # 骗购外汇罪
    assert stats["rows_by_source_task"]["criminal_charges"]["charge_article"] == 482
    assert stats["rows_by_source_task"]["criminal_charges"]["article_charges"] >= 300
    # Every article the catalogue names exists in the current Criminal Law.
    assert set(stats["counters"]["citations"]) == {"current"}
    rows = [
        r
        for p in sorted(built.out.glob("data/stage1/*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    theft = [
        r for r in rows
        if r["task"] == "charge_article" and r["messages"][1]["content"].startswith("盗窃罪规定在")
    ]  # fmt: skip
    assert len(theft) == 1
    assert theft[0]["messages"][1]["content"].endswith("法条：《中华人民共和国刑法》第二百六十四条")
    assert theft[0]["citations"][0]["verified"] is True
