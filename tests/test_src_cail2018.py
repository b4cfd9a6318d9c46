"""CAIL2018 subset: charge normalisation, sentences, rejects, the case tasks, and a real build."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.sources.charge_names import charge_name, split_charges
from lawset.builders.tasks.application import (
    ArticlePrediction,
    ChargePrediction,
    PrisonTerm,
    PrisonTermWithArticles,
)


def case(fact: str, accusation: list, articles: list, months: int = 6, **term) -> dict:  # noqa: ANN003
    return {
        "fact": fact,
        "meta": {
            "relevant_articles": articles,
            "accusation": accusation,
            "punish_of_money": 2000,
            "criminals": ["陈某某"],
            "term_of_imprisonment": {
                "death_penalty": term.get("death", False),
                "imprisonment": months,
                "life_imprisonment": term.get("life", False),
            },
        },
    }


LINES = [
    json.dumps(
        case("经审理查明：被告人陈某某明知李某犯罪，仍为其提供住处。", ["[窝藏、包庇]"], [310]),
        ensure_ascii=False,
    ),
    json.dumps(
        case("被告人王某非法持有枪支一支。", ["非法[持有、私藏][枪支、弹药]"], [128], months=0),
        ensure_ascii=False,
    ),
    json.dumps(
        case("被告人张某抢劫致一人死亡。", ["抢劫"], [263, 57], months=0, life=True),
        ensure_ascii=False,
    ),
    json.dumps(case("   ", ["盗窃"], [264]), ensure_ascii=False),  # empty fact
    '{"fact": "被告人李某盗窃", "meta": ',  # truncated line
    json.dumps({"fact": "被告人李某盗窃手机一部。"}, ensure_ascii=False),  # no meta
    json.dumps(case("被告人赵某盗窃。", ["盗窃"], [264], months=-3), ensure_ascii=False),
    json.dumps(case("被告人钱某盗窃。", [], [264]), ensure_ascii=False),  # no charge
]


def read_fixture(tmp_path: Path) -> tuple[list[dict], Context]:
    root = tmp_path / "cases" / "CAIL2018-subset-NiBin90"
    (root / "data").mkdir(parents=True)
    (root / "data" / "data_test.json").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    (root / "data" / "accu.txt").write_text("窝藏、包庇\n盗窃\n", encoding="utf-8")
    (root / "data" / "law.txt").write_text("310\n264\n", encoding="utf-8")
    read = read_source("cail2018", root, name="cail2018", category="cases", license="none stated")
    assert read.files == ["data/data_test.json"]  # label lists: not records
    return read.records, read.ctx


def test_charge_names() -> None:
    assert charge_name("[窝藏、包庇]") == "窝藏、包庇罪"
    assert charge_name("非法[持有、私藏][枪支、弹药]") == "非法持有、私藏枪支、弹药罪"
    assert charge_name("盗窃罪") == "盗窃罪"
    assert split_charges("故意伤害、抢劫罪") == ["故意伤害罪", "抢劫罪"]
    assert split_charges("窝藏、包庇罪") == ["窝藏、包庇罪"]
    assert split_charges("贩卖、运输毒品罪") == ["贩卖、运输毒品罪"]  # not two known charges
    assert split_charges("抢劫罪、抢夺罪、抢劫罪") == ["抢劫罪", "抢夺罪"]
    assert split_charges("掩饰、隐瞒犯罪所得罪") == ["掩饰、隐瞒犯罪所得罪"]
    assert split_charges("被告人王某、李某犯寻衅滋事罪") == ["寻衅滋事罪"]
    assert split_charges("侵犯公民个人信息罪") == ["侵犯公民个人信息罪"]


def test_parse_and_rejects(tmp_path: Path) -> None:
    records, ctx = read_fixture(tmp_path)
    assert ctx.stats.steps["read"]["dropped"] == {
        "missing_field": 3,
        "bad_json": 1,
        "bad_field": 1,
    }
    first, second, third = records
    assert first["kind"] == "case" and first["source_id"] == "data/data_test.json#line 1"
    assert first["charges"] == ["窝藏、包庇罪"] and first["articles"] == [310]
    assert (first["term_months"], first["fine"], first["category"]) == (6, 2000, "刑事")
    assert first["laws"] == [] and first["opinion"] == "" and first["judgment"] == ""
    assert second["charges"] == ["非法持有、私藏枪支、弹药罪"] and second["term_months"] == 0
    assert third["life_imprisonment"] and third["term_months"] is None
    assert not third["death_penalty"]


def test_case_tasks_answer_formats(tmp_path: Path) -> None:
    first, second, third = read_fixture(tmp_path)[0]
    (q,) = made(ArticlePrediction(), first)
    assert q["messages"][1]["content"] == "法条：刑法第310条"
    assert "被告人陈某某明知李某犯罪" in q["messages"][0]["content"]
    assert q["task"] == "article_prediction" and q["level"] == "application"
    assert q["group"] == "case:cail2018:data/data_test.json#line 1"
    (q,) = made(ChargePrediction(), first)
    assert q["messages"][1]["content"] == "罪名：窝藏、包庇罪"
    (q,) = made(PrisonTerm(), first)
    assert q["messages"][1]["content"] == "刑期：6个月"
    (q,) = made(PrisonTerm(), second)
    assert q["messages"][1]["content"] == "刑期：0个月"
    (q,) = made(PrisonTermWithArticles(), third)
    assert q["messages"][1]["content"] == "刑期：无期徒刑"
    assert "刑法第263条、刑法第57条" in q["messages"][0]["content"]
    (q,) = made(ArticlePrediction(), third)
    assert q["messages"][1]["content"] == "法条：刑法第263条、刑法第57条"


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "cail2018": {
        "adapter": "cail2018",
        "path": "cases/CAIL2018-subset-NiBin90",
        "category": "cases",
        "license": "none stated",
        "upstream": "NiBin90/CAIL2018_Test",
        "commit": "f27c4695abe8c2233a793a9eac19b28f64a1adb4",
        "held_out": "none",
        "held_out_files": [],
        "real_names": False,
    }
}
TASKS = [
    "article_prediction",
    "charge_prediction",
    "prison_term",
    "prison_term_with_articles",
    "case_judgment",
]


def test_real_cail2018(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases", dedup=False)
    stats = built.stats
    assert not stats["steps"].get("read", {}).get("dropped")  # all 1,397 cases parse
    assert stats["steps"]["charge_prediction"]["in"] == 1397
    rows = stats["rows_by_source_task"]["cail2018"]
    for task in ("article_prediction", "charge_prediction", "prison_term"):
        assert rows[task] >= 1390, (task, rows)
    assert rows["prison_term_with_articles"] >= 1390
    assert "case_judgment" not in rows  # CAIL has no reasoning or judgment text
    skipped = stats["counters"]["skipped"]
    assert skipped["article_prediction:fact_too_long"] >= 1  # one 17,782-character fact
    # Every article answer cites 刑法第N条, and every citation resolves to the statute index.
    citations = stats["counters"]["citations"]
    assert citations.get("current", 0) >= 1390
    assert set(citations) == {"current"}, citations
    assert "cail2018" not in stats["counters"].get("held_out_test", {})
