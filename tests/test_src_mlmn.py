"""MLMN: article indices resolved through the article dict, decisions as months, one group per
judgment, rejects, and a real build."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.tasks.application import ArticlePrediction, PrisonTerm

ARTICLE_DICT = """\
0|中华人民共和国刑法(2015)第二百三十四条:故意伤害他人身体的，处三年以下有期徒刑、拘役或者管制。
1|中华人民共和国刑法(2015)第六十七条:犯罪以后自动投案，如实供述自己的罪行的，是自首。
2|最高人民法院关于审理交通肇事刑事案件具体应用法律若干问题的解释(2000)第二条:交通肇事具有下列情形之一的。
3|中华人民共和国刑法(2015)第十七条之一:已满七十五周岁的人故意犯罪的，可以从轻或者减轻处罚。
4|中华人民共和国民法通则(2009)第一百一十九条:侵害公民身体造成伤害的，应当赔偿医疗费。
"""


def case(name: str, paragraph: str, articles: list, decision) -> dict:  # noqa: ANN001
    return {
        "file_name": name,
        "paragraph": paragraph,
        "sentences": {paragraph: articles},
        "articles": articles,
        "decision": decision,
    }


CASES = [
    case(
        "440.xml",
        "公诉机关指控：被告人马某某酒后用拳头击打疏某某，致其轻伤二级。",
        [0, 1, 2, 3, 4],
        9,
    ),
    case("440.xml", "经审理查明：被告人马某某击打疏某某眼部，致其轻伤二级。", [0, 1], 9),
    case("441.xml", "指控：被告人宋CC殴打石AA。", [0], -1),  # 拘役: length unknown
    case("442.xml", "指控：被告人王某殴打李某。", [0], 0),  # 免予刑事处罚
    case("443.xml", "指控：被告人郭某殴打倪某。", [0], 7.5),
    case("444.xml", "指控：被告人周某殴打吴某。", [0], None),
    case("445.xml", "指控：被告人郑某殴打冯某。", [0, 99], 12),  # unknown index
    case("446.xml", "  ", [0], 12),  # empty paragraph
    ["not", "an", "object"],
]


def write_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "cases" / "MLMN"
    hurt = root / "data" / "hurt"
    hurt.mkdir(parents=True)
    (hurt / "article_dict.txt").write_text(ARTICLE_DICT, encoding="utf-8")
    (hurt / "penalty_corpus.json").write_text(json.dumps(CASES, ensure_ascii=False), "utf-8")
    (hurt / "labeled_corpus.txt").write_text("440.xml|句子|0|1\n", encoding="utf-8")
    (hurt / "law_qhj_dict.json").write_text("{}", encoding="utf-8")
    traffic = root / "data" / "traffic"  # no article dict beside it: the file cannot be read
    traffic.mkdir()
    (traffic / "penalty_corpus.json").write_text(json.dumps(CASES[:1]), encoding="utf-8")
    return root


def read_fixture(tmp_path: Path) -> tuple[list[dict], Context]:
    root = write_fixture(tmp_path)
    read = read_source("mlmn", root, name="mlmn", category="cases", license="none stated")
    assert read.files == [
        "data/hurt/penalty_corpus.json",
        "data/traffic/penalty_corpus.json",
    ]
    return read.records, read.ctx


def test_parse_resolves_articles_and_decisions(tmp_path: Path) -> None:
    records, ctx = read_fixture(tmp_path)
    assert ctx.stats.steps["read"]["dropped"] == {
        "unknown_article_index": 1,
        "missing_field": 1,
        "not_an_object": 1,
        "missing_article_dict": 1,
    }
    first, second, *rest = records
    assert first["source_id"] == "hurt/440.xml#0" and second["source_id"] == "hurt/440.xml#1"
    assert first["articles"] == [234, 67]
    assert first["laws"] == [
        "最高人民法院关于审理交通肇事刑事案件具体应用法律若干问题的解释第二条",
        "中华人民共和国刑法第十七条之一",
        "中华人民共和国民法通则第一百一十九条",
    ]
    assert first["charges"] == ["故意伤害罪"] and first["term_months"] == 9
    assert first["_group"] == second["_group"] == "mlmn:hurt/440.xml"
    assert [r["term_months"] for r in rest] == [None, 0, None, None]  # -1, 0, 7.5, null


def test_queries_of_one_judgment_share_a_group(tmp_path: Path) -> None:
    first, second, *_ = read_fixture(tmp_path)[0]
    qs = [q for rec in (first, second) for step in (ArticlePrediction(), PrisonTerm())
          for q in [r for b in step.run([[rec]], Context(0)) for r in b][1:]]  # fmt: skip
    assert {q["group"] for q in qs} == {"mlmn:hurt/440.xml"}
    assert [q["messages"][1]["content"] for q in qs] == [
        "法条：刑法第234条、刑法第67条",
        "刑期：9个月",
        "法条：刑法第234条、刑法第67条",
        "刑期：9个月",
    ]


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "mlmn": {
        "adapter": "mlmn",
        "path": "cases/MLMN",
        "category": "cases",
        "license": "none stated",
        "upstream": "gjdnju/MLMN",
        "commit": "cfaed226d9df863736b17d8a2e38396e7d61bfc8",
        "held_out": "none",
        "held_out_files": [],
        "real_names": True,
    }
}
TASKS = ["article_prediction", "charge_prediction", "prison_term", "prison_term_with_articles"]


def test_real_mlmn(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases")
    stats = built.stats
    assert not stats["steps"].get("read", {}).get("dropped")
    assert stats["steps"]["charge_prediction"]["in"] == 860 + 883
    rows = stats["rows_by_source_task"]["mlmn"]
    assert rows["charge_prediction"] >= 1700 and rows["article_prediction"] >= 1700
    assert rows["prison_term"] >= 1550 and rows["prison_term_with_articles"] >= 1550
    assert stats["counters"]["skipped"]["prison_term:unknown_term"] >= 100  # 拘役, null, -2
    citations = stats["counters"]["citations"]
    assert set(citations) == {"current"} and citations["current"] >= 1700
    assert stats["counters"]["pii"]["name"] >= 100  # real names (被告人肖洋) are masked
