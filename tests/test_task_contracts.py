"""Every registered task generator, run on small hand-made records of the kinds it applies to,
keeps the contract it declares on its class: answer line, structured flag, level, domain,
answer-length bounds, statute quoting, LawBench tasks. A generator and its declaration that
drift apart fail here (and the validators, which read the same declarations, would fail the
release)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from lawset.builders.pipeline.base import (
    Context,
    Record,
    TaskGenerator,
    contract_problems,
    register_step,
)
from lawset.builders.schema import content_id
from lawset.builders.steps import task_generators
from lawset.builders.tasks.application import ChargePrediction
from lawset.sft.lawbench import TASKS as LAWBENCH_TASKS
from lawset.validators.formats import answer_tail, matches
from test_memorization import article
from test_src_cail2019 import CONTEXT
from test_src_cail2022 import SENT
from test_src_ledqa import DOC
from test_tasks_application import case
from test_tasks_exam import consultation, exam

JUDGMENT = (
    "北京市某区人民法院\n刑事判决书\n（2016）京0101刑初1号\n公诉机关指控被告人颜某犯盗窃罪。\n"
    "本院认为，被告人颜某秘密窃取他人财物，其行为已构成盗窃罪。"
    "依照《中华人民共和国刑法》第二百六十四条之规定，判决如下：\n"
    "被告人颜某犯盗窃罪，判处拘役四个月，并处罚金人民币二千元。"
)
OPINION = "本院认为，被告人颜某秘密窃取他人财物，其行为已构成盗窃罪。"


def _source(kind: str, source_id: str, **fields: Any) -> Record:
    return {
        "kind": kind,
        "source": "fixture",
        "source_id": source_id,
        "license": "none stated",
        "_held_out": "none",
        **fields,
    }


#: one or more records of every kind a task applies to; for tasks structured per query, records
#: that make both a structured and a free-text answer
RECORDS: list[Record] = [
    article(),
    article(
        id="某法@2020-01-01/第六条",
        label="第六条",
        article=6,
        text="有下列情形之一的，不予登记：（一）申请材料不齐全；（二）超过申请期限。",
        items=["（一）申请材料不齐全；", "（二）超过申请期限。"],
    ),
    case(),
    case(
        source_id="structured judgment", opinion=OPINION, judgment=JUDGMENT, doc_type="刑事判决书"
    ),
    case(source_id="reasoning only", opinion="本院认为，被告人无罪", charges=[], term_months=None),
    case(source_id="life", life_imprisonment=True, term_months=None),
    _source(
        "reading",
        "dev#1",
        context=CONTEXT,
        question="原告与被告原系什么关系？",
        answers=["夫妻关系"],
        impossible=False,
    ),
    _source(
        "reading",
        "dev#2",
        context=CONTEXT,
        question="离婚后谁抚养孩子？",
        answers=[],
        impossible=True,
    ),
    _source(
        "argument",
        "cail2021#7",
        claim="被告人康某用拳头打伤我的右眼",
        options={
            "A": "甲辩",
            "B": "乙辩",
            "C": "丙辩",
            "D": "被告人康某辩称：我没有打她",
            "E": "戊辩",
        },
        answer="D",
        category="刑事",
        cause="故意伤害罪",
    ),
    _source(
        "argument",
        "cail2022#541",
        claim="附带民事赔偿几千块我愿意赔。",
        options={"A": "诉方", "B": "辩方"},
        answer="B",
        category="刑事",
        cause="交通肇事罪",
    ),
    _source(
        "focus",
        "ABC",
        text="原告周某甲诉称：被告借款60万元未还。被告某公司辩称：借条上的公章不是被告公司的公章。",
        focus=["公章是否为被告公司的公章", "被告应否履行还款义务"],
        claims=["被告借款60万元未还"],
        defenses=["公章不是被告公司的公章"],
        focus_codes=["C32"],
    ),
    _source(
        "ner",
        "2/20",
        sentence=SENT,
        entities=[
            {"type": "人名", "text": "徐某某"},
            {"type": "人名", "text": "林某某"},
            {"type": "毒品", "text": "海洛因"},
        ],
        types=["人名", "毒品"],
    ),
    _source(
        "element_qa",
        "ledqa#1",
        document=DOC,
        question="借款是否交付？",
        answer="是",
        category="借款",
        parties=[],
    ),
    _source(
        "charge",
        "13",
        charge="放火罪",
        law="中华人民共和国刑法",
        article=114,
        sub=0,
        provisions=["第一百一十四条", "第一百一十五条第一款"],
        chapter="第二章 危害公共安全罪",
        _article_charges=[("第一百一十四条", ["放火罪"]), ("第一百一十五条", ["放火罪", "失火罪"])],
    ),
    exam(),
    exam(source_id="1_2", exam_type="case", explanation="甲的行为构成盗窃罪。", answer=["B"]),
    _source(
        "subjective",
        "0_1_2",
        question="小王……\n\n犯罪地如何确定？",
        answer="网络服务使用的服务器所在地……",
        points="",
    ),
    _source(
        "benchmark",
        "1_1#3",
        task_id="1_1",
        instruction="请阅读以下选择题给出正确选项。",
        input="犯罪中止可以发生在:\nA: 犯罪的预备阶段\nB: 犯罪的实行阶段\nC: 实行完毕后\nD: 既遂后",
        answer="AB",
    ),
    _source(
        "benchmark",
        "5_3#1",
        task_id="5_3",
        instruction="请将下面的句子翻译成现代汉语。",
        input="法不阿贵。",
        answer="法律不偏袒有权势的人。",
    ),
    consultation(),
    consultation(source_id="zixun#2", answer="您可以先协商。"),
    consultation(
        source_id="dialogue#1",
        question="是有重大过错。",
        answer="那么您可以请求损害赔偿。",
        history=[
            {"role": "user", "content": "如果夫妻一方赌博，可否让其净身出户"},
            {"role": "assistant", "content": "依据《民法典》第一千零七十六条，需要协议。"},
        ],
        _history_text=[],
    ),
    consultation(
        source_id="dialogue#2",
        question="那孩子怎么办？",
        answer="可以协商抚养。",
        history=[
            {"role": "user", "content": "我们想离婚"},
            {"role": "assistant", "content": "可以协议离婚。"},
        ],
        _history_text=[],
    ),
    _source(
        "instruction",
        "alpaca#1",
        instruction="写一句关于春天的诗。",
        input="",
        output="春眠不觉晓。",
    ),
]
GENERATORS = task_generators()


def made(cls: type[TaskGenerator]) -> list[Record]:
    """The queries a generator (default parameters) makes from every fixture record."""
    step, out = cls(), []
    for rec in copy.deepcopy(RECORDS):
        out += [r for batch in step.run([[rec]], Context(0)) for r in batch][1:]
    return out


def violations(cls: type[TaskGenerator], queries: list[Record]) -> list[str]:
    """Where the queries break what ``cls`` declares (empty: they keep it)."""
    out = []
    for q in queries:
        answer = q["messages"][-1]["content"]
        said = sum(len(m["content"]) for m in q["messages"] if m["role"] == "assistant")
        where = f"{q['task']} {q['source_id']}"
        if q["task"] != cls.name or q["level"] not in cls.levels() or q["domain"] != cls.domain:
            out.append(f"{where}: task, level or domain is not the declared one")
        if q["id"] != content_id(q["messages"]):
            out.append(f"{where}: id is not the hash of the messages")
        if cls.structured != "per_query" and q["_structured"] is not (cls.structured == "always"):
            out.append(f"{where}: structured is not the declared {cls.structured}")
        if cls.answer_line is not None:
            ends_in_line = re.search(cls.answer_line, answer_tail(answer)) is not None
            if ends_in_line is not q["_structured"]:
                out.append(
                    f"{where}: structured={q['_structured']} but ends in the line: {answer!r}"
                )
            if q["_structured"] and not matches(cls.name, "stage2", answer):
                out.append(f"{where}: the validator does not find the answer line")
        if cls.answer_chars is not None and not cls.answer_chars[0] <= said <= cls.answer_chars[1]:
            out.append(f"{where}: {said} answer characters, declared {cls.answer_chars}")
        if bool(q.get("_quoted_statute")) is not cls.quotes_statute:
            out.append(f"{where}: quotes_statute is not the declared {cls.quotes_statute}")
    return out


@pytest.mark.parametrize("task", sorted(GENERATORS))
def test_every_generator_keeps_its_declared_contract(task: str) -> None:
    cls = GENERATORS[task]
    queries = made(cls)
    assert queries, f"no fixture record makes a {task} query: add one to RECORDS"
    if cls.structured == "per_query":
        assert {q["_structured"] for q in queries} == {True, False}, "fixtures need both forms"
    assert violations(cls, queries) == []


def test_a_generator_drifting_from_its_declaration_is_caught() -> None:
    class DriftedLine(ChargePrediction):
        answer_line = r"(?:\A|\n)罪名是：[^\n]+\Z"  # the generator writes 罪名：

    class DriftedBounds(ChargePrediction):
        answer_chars = (4, 6)

    class DriftedLevel(ChargePrediction):
        def query(self, record: Record, user: str, answer: str, **kw: Any) -> Record:
            return super().query(record, user, answer, level="understanding", **kw)

    for cls in (DriftedLine, DriftedBounds, DriftedLevel):
        assert violations(cls, made(cls)), cls.__name__
    assert violations(ChargePrediction, made(ChargePrediction)) == []


def test_declarations_that_contradict_themselves_are_refused_at_registration() -> None:
    class NoLine(TaskGenerator):
        name = "made_up_no_line"
        level = "application"

    class BadLevel(TaskGenerator):
        name = "made_up_bad_level"
        level = "expert"
        structured = "never"

    class LineButFree(TaskGenerator):
        name = "made_up_line_but_free"
        level = "general"
        structured = "never"
        answer_line = r"\A.+\Z"

    class ReversedBounds(TaskGenerator):
        name = "made_up_reversed_bounds"
        level = "application"
        answer_line = r"\A.+\Z"
        answer_chars = (10, 2)

    for cls in (NoLine, BadLevel, LineButFree, ReversedBounds):
        assert contract_problems(cls), cls.__name__
        with pytest.raises(TypeError, match=cls.name):
            register_step(cls)
        assert cls.name not in GENERATORS and cls.name not in task_generators()


def test_lawbench_tasks_are_lawbench_tasks_of_the_declared_level() -> None:
    declared = {t: cls.lawbench for t, cls in GENERATORS.items() if cls.lawbench}
    assert declared["charge_prediction"] == ("3-3",) and declared["article_recitation"] == ("1-1",)
    for task, ids in declared.items():
        for lawbench_id in ids:
            assert LAWBENCH_TASKS[lawbench_id]["level"] == GENERATORS[task].level, task
