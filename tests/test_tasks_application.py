"""Application-level case tasks on hand-made case records: exact answer lines, skips with their
counters, phrasings, groups and determinism."""

from __future__ import annotations

import pytest
from conftest import made
from lawset.builders.pipeline.base import Context
from lawset.builders.schema import content_id
from lawset.builders.tasks.application import (
    ArticlePrediction,
    CaseJudgment,
    ChargePrediction,
    PrisonTerm,
    PrisonTermWithArticles,
)

FACT = "经审理查明：2016年3月28日，被告人颜某捡拾被害人谢某的手机，通过支付宝盗走谢某3723元。"


def case(**kw) -> dict:  # noqa: ANN003
    rec = {
        "kind": "case",
        "source": "cail2018",
        "source_id": "data/data_test.json#line 7",
        "license": "none stated",
        "fact": FACT,
        "articles": [264, 67],
        "laws": [],
        "charges": ["盗窃罪", "诈骗罪"],
        "term_months": 4,
        "death_penalty": False,
        "life_imprisonment": False,
        "fine": 2000,
        "opinion": "",
        "judgment": "",
        "title": "",
        "category": "刑事",
        "doc_type": "判决书",
        "_held_out": "none",
    }
    rec.update(kw)
    return rec


def answer(q: dict) -> str:
    return q["messages"][1]["content"]


def test_answer_lines() -> None:
    rec = case()
    (q,) = made(ArticlePrediction(), rec)
    assert answer(q) == "法条：刑法第264条、刑法第67条"
    assert q["task"] == "article_prediction" and q["level"] == "application"
    assert q["domain"] == "legal" and q["id"] == content_id(q["messages"])
    assert FACT in q["messages"][0]["content"]
    assert answer(made(ChargePrediction(), rec)[0]) == "罪名：盗窃罪、诈骗罪"
    assert answer(made(PrisonTerm(), rec)[0]) == "刑期：4个月"
    (q,) = made(PrisonTermWithArticles(), rec)
    assert answer(q) == "刑期：4个月"
    assert "刑法第264条、刑法第67条" in q["messages"][0]["content"]
    assert answer(made(PrisonTerm(), case(death_penalty=True, term_months=None))[0]) == "刑期：死刑"
    life = case(life_imprisonment=True, term_months=None)
    assert answer(made(PrisonTerm(), life)[0]) == "刑期：无期徒刑"


def test_one_group_per_case_and_adapter_groups() -> None:
    rec = case()
    steps = (ArticlePrediction(), ChargePrediction(), PrisonTerm(), PrisonTermWithArticles())
    groups = {q["group"] for s in steps for q in made(s, rec)}
    assert groups == {"case:cail2018:data/data_test.json#line 7"}
    (q,) = made(ChargePrediction(), case(_group="mlmn:hurt/440.xml"))
    assert q["group"] == "mlmn:hurt/440.xml"
    assert made(ChargePrediction(), case(_held_out="test"))[0]["_held_out"] == "test"


def test_skips_are_counted() -> None:
    ctx = Context(0)
    made(ArticlePrediction(), case(articles=[]), ctx)
    made(PrisonTermWithArticles(), case(articles=[]), ctx)
    made(ChargePrediction(), case(charges=[]), ctx)
    made(PrisonTerm(), case(term_months=None), ctx)
    made(CaseJudgment(), case(), ctx)
    long = case(fact="被告人" + "盗窃" * 3000)
    for step in (ArticlePrediction(), ChargePrediction(), PrisonTerm()):
        assert made(step, long, ctx) == []
    assert (
        made(PrisonTerm(PrisonTerm.Params(keep_zero_months=False)), case(term_months=0), ctx) == []
    )
    assert dict(ctx.stats.counters["skipped"]) == {
        "article_prediction:no_articles": 1,
        "prison_term_with_articles:no_articles": 1,
        "charge_prediction:no_charges": 1,
        "prison_term:unknown_term": 1,
        "case_judgment:no_judgment": 1,
        "article_prediction:fact_too_long": 1,
        "charge_prediction:fact_too_long": 1,
        "prison_term:fact_too_long": 1,
        "prison_term:zero_months": 1,
    }
    assert "tasks" not in ctx.stats.counters
    # The limit is a parameter; zero months are kept by default.
    wide = ChargePrediction(ChargePrediction.Params(max_fact_chars=10_000))
    assert len(made(wide, long)) == 1
    assert answer(made(PrisonTerm(), case(term_months=0))[0]) == "刑期：0个月"
    with pytest.raises(ValueError):
        ChargePrediction.Params(max_fact_chars=0)
    with pytest.raises(ValueError):
        ChargePrediction.Params(unknown=1)


def test_phrasings_vary_and_are_deterministic() -> None:
    for step in (
        ArticlePrediction(),
        ChargePrediction(),
        PrisonTerm(),
        PrisonTermWithArticles(),
        CaseJudgment(),
    ):
        assert len(step.phrasings) >= 3
        users = set()
        for i in range(40):
            rec = case(source_id=f"line {i}", opinion="本院认为，被告人构成盗窃罪。")
            (q,) = made(step, rec)
            users.add(q["messages"][0]["content"])
            assert (
                made(step, case(source_id=f"line {i}", opinion=rec["opinion"]))[0]["id"] == q["id"]
            )
        assert len(users) >= 3, step.name


def test_case_judgment_answers() -> None:
    document = (
        "某某人民法院 刑事判决书 公诉机关指控：被告人颜某盗窃。 本院认为，被告人颜某秘密窃取他人财物，"
        "其行为已构成盗窃罪。依照《中华人民共和国刑法》第二百六十四条之规定，判决如下： "
        "被告人颜某犯盗窃罪，判处拘役四个月，并处罚金人民币二千元。 如不服本判决，可提出上诉。 审判员某某"
    )
    opinion = (
        "本院认为，被告人颜某秘密窃取他人财物，其行为已构成盗窃罪。"
        "依照《中华人民共和国刑法》第二百六十四条之规定"
    )
    (q,) = made(CaseJudgment(), case(charges=["盗窃罪"], opinion=opinion, judgment=document))
    assert answer(q) == (
        f"{opinion}，判决如下：\n被告人颜某犯盗窃罪，判处拘役四个月，并处罚金人民币二千元。"
        "\n\n罪名：盗窃罪\n刑期：4个月"
    )
    assert q["_structured"] is True and q["task"] == "case_judgment"
    # Reasoning only, nothing to close it with: free text, not structured.
    (q,) = made(
        CaseJudgment(),
        case(opinion="本院认为，被告人无罪", charges=[], term_months=None),
    )
    assert answer(q) == "本院认为，被告人无罪。" and q["_structured"] is False
