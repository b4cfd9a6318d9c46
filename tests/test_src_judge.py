"""JuDGE: reading charges, sentence, reasoning and cited laws out of the judgment document;
rejects; the case-judgment task; and a real build (a benchmark test split: test only)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.recipe import SourceConfig
from lawset.builders.sources.judge import (
    Judge,
    charges_of,
    opinion_of,
    other_laws,
    penalty_of,
)
from lawset.builders.sources.judgments import sentence_of
from lawset.builders.tasks.application import CaseJudgment, PrisonTerm

FD = (
    "上海市奉贤区人民法院 刑事判决书 （2017）沪0120刑初684号 公诉机关上海市奉贤区人民检察院。 "
    "被告人张3，女，1975年4月16日出生。 公诉机关指控：被告人张3伪造身份证骗取钱款。 "
    "本院认为，被告人张3以非法占有为目的，骗取他人财物，数额巨大，构成诈骗罪。依照《中华人民共和国刑法》"
    "第二百六十六条、第二十三条、第六十七条第三款，《最高人民法院关于处理自首和立功具体应用法律若干问题的解释》"
    "第一条之规定，判决如下： 被告人张3犯诈骗罪，判处有期徒刑一年七个月，并处罚金人民币三万元。 "
    "（刑期从判决执行之日起计算。） 如不服本判决，可在接到判决书的第二日起十日内提出上诉。 "
    "审判员李晓杰 二〇一七年六月二十八日 书记员唐婷 附：相关法律条文 《中华人民共和国刑法》 第二百六十六条……"
)


def test_sentence_opinion_charges_and_laws() -> None:
    sentence = sentence_of(FD)
    assert sentence.startswith("被告人张3犯诈骗罪，判处有期徒刑一年七个月")
    assert "如不服" not in sentence and "李晓杰" not in sentence
    opinion = opinion_of(FD)
    assert opinion.startswith("本院认为，被告人张3") and opinion.endswith("第一条之规定")
    assert charges_of(sentence) == ["诈骗罪"]
    assert penalty_of(sentence) == {
        "term_months": 19,
        "death_penalty": False,
        "life_imprisonment": False,
    }
    assert other_laws(opinion) == [
        "《最高人民法院关于处理自首和立功具体应用法律若干问题的解释》第一条"
    ]
    assert sentence_of("没有判决主文的文书") == ""


def test_penalties() -> None:
    several_counts = (
        "被告人夏某犯非法持有毒品罪，判处有期徒刑二年三个月；犯容留他人吸毒罪，判处有期徒刑八个月；"
        "决定执行有期徒刑二年十个月，并处罚金人民币一万元。"
    )
    assert charges_of(several_counts) == ["非法持有毒品罪", "容留他人吸毒罪"]
    assert penalty_of(several_counts)["term_months"] == 34
    earlier = "被告人杨某犯容留他人吸毒罪，判处有期徒刑七个月；与之前犯诈骗罪没有执行的刑罚并罚，决定执行有期徒刑二年。"
    assert charges_of(earlier) == ["容留他人吸毒罪"]  # the earlier conviction is not a charge
    assert penalty_of(earlier)["term_months"] == 24
    two = "一、被告人张某犯抢劫罪，判处有期徒刑四年。 二、被告人杜某犯抢劫罪，判处有期徒刑三年。"
    assert charges_of(two) == ["抢劫罪"] and penalty_of(two) is None
    assert penalty_of("被告人王某犯故意杀人罪，判处死刑，缓期二年执行。")["death_penalty"]
    assert penalty_of("被告人王某犯抢劫罪，判处无期徒刑，剥夺政治权利终身。")["life_imprisonment"]
    assert penalty_of("被告人王某犯贪污罪，免予刑事处罚。")["term_months"] == 0
    assert penalty_of("被告人冯某犯盗窃罪，判处罚金人民币五千元。")["term_months"] == 0
    assert penalty_of("被告人李某犯危险驾驶罪，判处拘役一个月，并处罚金。")["term_months"] == 1
    assert penalty_of("被告人刘某犯开设赌场罪，判处管制一年。") is None  # not custodial
    quashed = "一、撤销原判，即被告人黄某犯非法持有枪支罪，判处有期徒刑六个月； 二、上诉人黄某犯非法持有枪支罪，判处拘役五个月。"
    assert penalty_of(quashed) is None
    assert charges_of("一、被告人张恒犯侵犯公民个人信息罪，判处有期徒刑三年。") == [
        "侵犯公民个人信息罪"
    ]
    assert charges_of("三、薛兵兵犯盗窃罪，判处有期徒刑三年。") == ["盗窃罪"]


LINES = [
    json.dumps(
        {
            "text_id": "a-1",
            "text": " 公诉机关指控：被告人张3伪造身份证骗取钱款。",
            "la": [266, 67, 23],
            "fd": FD,
        },
        ensure_ascii=False,
    ),
    json.dumps({"text_id": "a-2", "text": "  ", "la": [264], "fd": FD}, ensure_ascii=False),
    json.dumps(
        {"text_id": "a-3", "text": "被告人李某盗窃。", "la": ["264"], "fd": FD}, ensure_ascii=False
    ),
    json.dumps(
        {"text_id": "a-4", "text": "被告人赵某盗窃。", "la": [264], "fd": ""}, ensure_ascii=False
    ),
    "not json",
]


def read_fixture(tmp_path: Path) -> tuple[list[dict], Context]:
    root = tmp_path / "cases" / "JuDGE"
    (root / "data").mkdir(parents=True)
    (root / "data" / "test.json").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    read = read_source(
        "judge", root, name="judge", category="cases", license="MIT", held_out="test"
    )
    return read.records, read.ctx


def test_parse_rejects_and_case_judgment(tmp_path: Path) -> None:
    (rec, bare), ctx = read_fixture(tmp_path)
    assert ctx.stats.steps["read"]["dropped"] == {"missing_field": 1, "bad_field": 1, "bad_json": 1}
    assert rec["source_id"] == "a-1" and rec["_held_out"] == "test"
    assert rec["articles"] == [266, 67, 23] and rec["charges"] == ["诈骗罪"]
    assert rec["term_months"] == 19 and rec["title"] == "上海市奉贤区人民法院刑事判决书"
    assert rec["doc_type"] == "判决书" and rec["judgment"].startswith("上海市奉贤区人民法院")
    assert bare["opinion"] == "" and bare["charges"] == [] and bare["term_months"] is None

    out = [r for b in CaseJudgment().run([[rec, bare]], Context(0)) for r in b]
    (q,) = [r for r in out if r["kind"] == "query"]  # no document, no judgment query
    answer = q["messages"][1]["content"]
    assert answer.startswith("本院认为，被告人张3以非法占有为目的")
    assert "第一条之规定，判决如下：\n被告人张3犯诈骗罪，判处有期徒刑一年七个月" in answer
    assert answer.endswith("\n\n罪名：诈骗罪\n刑期：19个月")
    assert "公诉机关指控：被告人张3伪造身份证骗取钱款。" in q["messages"][0]["content"]
    assert q["_structured"] is True and q["_held_out"] == "test"
    assert q["group"] == "case:judge:a-1"
    (t,) = [r for b in PrisonTerm().run([[rec]], Context(0)) for r in b][1:]
    assert t["messages"][1]["content"] == "刑期：19个月"


#: the source's recipe entry and task generators for the real build
SOURCES = {
    "judge": {
        "adapter": "judge",
        "path": "cases/JuDGE",
        "category": "cases",
        "license": "MIT",
        "upstream": "illusion5556/JuDGE",
        "commit": "15b51fc294214dc47b12aeea37e01b905885f7b9",
        "held_out": "test",
        "held_out_files": [],
        "real_names": True,
    }
}
TASKS = [
    "article_prediction",
    "charge_prediction",
    "prison_term",
    "prison_term_with_articles",
    "case_judgment",
]


def test_real_judge(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, TASKS, "cases")
    stats = built.stats
    assert not stats["steps"].get("read", {}).get("dropped")
    assert stats["steps"]["case_judgment"]["in"] == 501
    rows = stats["rows_by_source_task"]["judge"]
    assert rows["case_judgment"] >= 495 and rows["charge_prediction"] >= 495
    assert rows["article_prediction"] >= 495 and rows["prison_term"] >= 400
    assert stats["counters"]["citations"]["current"] >= 2000
    # A benchmark test split: every query is in test.
    splits = {}
    for f in sorted((built.out / "data" / "stage1").glob("*.parquet")):
        n = pq.read_metadata(f).num_rows
        splits[f.name.split("-")[0]] = splits.get(f.name.split("-")[0], 0) + n
    assert set(splits) == {"test"}, splits
    assert stats["counters"]["held_out_test"]["judge"] == sum(rows.values())


def test_name_masking_never_touches_the_labels(tmp_path: Path) -> None:
    """被告人强奸犯罪 makes the name finder (pii.py) take 强奸 for a name and mask it in the
    prose; the charge label stays intact because charges are not a text field."""
    from lawset.builders.steps import MaskPii
    from lawset.builders.tasks.application import ChargePrediction

    fd = (
        "某某人民法院 刑事判决书 本院认为，被害人是否同意不影响被告人强奸犯罪的构成。"
        "依照《中华人民共和国刑法》第二百三十六条之规定，判决如下： 被告人王某犯强奸罪，判处有期徒刑三年。"
    )
    root = tmp_path / "JuDGE"
    (root / "data").mkdir(parents=True)
    line = {"text_id": "r-1", "text": "被告人王某强行与被害人发生关系。", "la": [236], "fd": fd}
    (root / "data" / "test.json").write_text(json.dumps(line, ensure_ascii=False), "utf-8")
    cfg = SourceConfig(adapter="judge", path="x", category="cases", license="MIT", real_names=True)
    adapter = Judge()
    (unit,) = adapter.plan("judge", cfg, root, None).units
    (rec,) = adapter.read("judge", cfg, root, unit, Context(0))
    (rec,) = [r for b in MaskPii().run([[rec]], Context(0)) for r in b]
    assert rec["charges"] == ["强奸罪"]
    (q,) = [r for b in ChargePrediction().run([[rec]], Context(0)) for r in b][1:]
    assert q["messages"][1]["content"] == "罪名：强奸罪"
