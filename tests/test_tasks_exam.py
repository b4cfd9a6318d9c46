"""Exam and consultation task formats on hand-made records."""

from __future__ import annotations

from typing import Any

from conftest import made
from lawset.builders.schema import content_id
from lawset.builders.tasks.consultation import (
    Consultation,
    ConsultationDialogue,
    ScenarioArticle,
    full_law_name,
    law_ref,
)
from lawset.builders.tasks.exam import (
    BenchmarkItem,
    ExamCaseChoice,
    ExamKnowledgeChoice,
    ExamSubjective,
    benchmark_level,
)

# --- exam tasks ---------------------------------------------------------------------------------


def exam(**kw: Any) -> dict:
    rec = {
        "kind": "exam",
        "source": "jec",
        "source_id": "1_1",
        "license": "none stated",
        "question": "犯罪中止可以发生在:",
        "options": {"A": "犯罪的预备阶段", "B": "犯罪的实行阶段", "C": "实行完毕后", "D": "既遂后"},
        "answer": ["A", "B", "C"],
        "explanation": "",
        "exam_type": "knowledge",
        "subject": "刑法",
        "_held_out": "none",
    }
    rec.update(kw)
    return rec


def test_knowledge_choice_prompt_and_answer_line() -> None:
    (q,) = made(ExamKnowledgeChoice(), exam())
    user, answer = q["messages"][0]["content"], q["messages"][1]["content"]
    assert q["task"] == "exam_knowledge_choice" and q["level"] == "memorization"
    assert "犯罪中止可以发生在:" in user and "A. 犯罪的预备阶段\nB. 犯罪的实行阶段" in user
    assert answer == "正确答案：ABC"
    assert q["id"] == content_id(q["messages"]) and q["_structured"] is True
    assert q["group"].startswith("exam:")
    # A case question is not a knowledge question, and the other way round.
    assert made(ExamKnowledgeChoice(), exam(exam_type="case")) == []
    assert made(ExamCaseChoice(), exam()) == []


def test_case_choice_keeps_explanation_before_the_line_and_sorts_letters() -> None:
    rec = exam(exam_type="case", answer=["D", "B"], explanation="甲的行为构成犯罪中止。")
    (q,) = made(ExamCaseChoice(), rec)
    assert q["level"] == "application"
    assert q["messages"][1]["content"] == "甲的行为构成犯罪中止。\n\n正确答案：BD"


def test_choice_options_are_normalized_and_phrasings_vary() -> None:
    (q,) = made(ExamKnowledgeChoice(), exam(options={"A": "ＡＢ公司", "B": "乙  公司"}))
    assert "A. AB公司\nB. 乙 公司" in q["messages"][0]["content"]
    users = {
        made(ExamKnowledgeChoice(), exam(source_id=str(i)))[0]["messages"][0]["content"]
        for i in range(40)
    }
    assert len(users) >= 3
    # The same stem from two sources shares a group (punctuation and spaces ignored).
    a = made(ExamKnowledgeChoice(), exam(question="犯罪中止 可以发生在？"))[0]
    b = made(ExamKnowledgeChoice(), exam(source="other", question="犯罪中止可以发生在:"))[0]
    assert a["group"] == b["group"]


def test_subjective_is_unstructured_and_grouped_by_scenario() -> None:
    rec = {
        "kind": "subjective",
        "source": "cail",
        "source_id": "0_1_2",
        "license": "x",
        "question": "小王……\n\n犯罪地如何确定？",
        "answer": "网络服务使用的服务器所在地……",
        "points": "【关键词1】",
        "_group": "subjective:cail:0_1",
    }
    (q,) = made(ExamSubjective(), rec)
    assert q["_structured"] is False and q["level"] == "application"
    assert q["messages"][0]["content"].endswith("小王……\n\n犯罪地如何确定？")
    assert q["messages"][1]["content"] == "网络服务使用的服务器所在地……"
    assert q["group"] == "subjective:cail:0_1"


def test_benchmark_item_levels_and_formats() -> None:
    assert [benchmark_level(t) for t in ("1_2", "2_5", "3_4", "4_2", "5_4", "6_1")] == [
        "memorization",
        "understanding",
        "application",
        "application",
        "application",
        "understanding",
    ]
    rec = {
        "kind": "benchmark",
        "source": "lexeval",
        "source_id": "1_1#3",
        "license": "MIT",
        "task_id": "1_1",
        "instruction": "请阅读以下选择题给出正确选项。",
        "input": "犯罪中止可以发生在:\nA: 犯罪的预备阶段\nB: 犯罪的实行阶段\nC: 实行完毕后\nD: 既遂后",
        "answer": "AB",
    }
    (q,) = made(BenchmarkItem(), rec)
    assert q["level"] == "memorization" and q["_structured"] is True
    assert q["messages"][1]["content"] == "正确答案：AB"
    assert q["group"] == made(ExamKnowledgeChoice(), exam())[0]["group"]  # same stem as JEC-QA
    (q,) = made(BenchmarkItem(), {**rec, "task_id": "5_3", "answer": "法不闻细微"})
    assert q["level"] == "application" and q["_structured"] is False
    assert q["messages"][1]["content"] == "法不闻细微"


# --- consultation tasks -------------------------------------------------------------------------

LAWS = [
    "《民法典》第一千零七十六条：夫妻双方自愿离婚的，应当签订书面离婚协议。",
    "《民法典》第一千零七十九条：夫妻一方要求离婚的，可以向人民法院提起离婚诉讼。",
    "《民法典》第一千零八十二条：女方在怀孕期间，男方不得提出离婚。",
]


def consultation(**kw: Any) -> dict:
    rec = {
        "kind": "consultation",
        "source": "ll",
        "source_id": "zixun#1",
        "license": "Apache-2.0",
        "question": "我要离婚他不离，我怎么办？",
        "answer": "您可以向法院起诉。根据《民法典》第一千零七十九条的规定，调解无效的应准予离婚。",
        "laws": LAWS,
        "history": [],
        "_history_text": [],
        "topic": "consultation",
    }
    rec.update(kw)
    return rec


def test_law_references_are_written_in_full() -> None:
    assert full_law_name("民法典") == "中华人民共和国民法典"
    assert full_law_name("中华人民共和国刑法") == "中华人民共和国刑法"
    assert full_law_name("治安管理处罚条例") == "治安管理处罚条例"
    ref = law_ref(LAWS[1])
    assert ref is not None and ref.cited == "《中华人民共和国民法典》第一千零七十九条"
    assert ref.text.startswith("夫妻一方要求离婚的")
    assert law_ref("民法典相关规定") is None


def test_consultation_names_only_the_cited_articles_as_basis() -> None:
    (q,) = made(Consultation(), consultation())
    assert q["task"] == "consultation" and q["level"] == "application"
    assert q["messages"][1]["content"] == (
        "您可以向法院起诉。根据《民法典》第一千零七十九条的规定，调解无效的应准予离婚。"
        "\n\n法律依据：《中华人民共和国民法典》第一千零七十九条"
    )
    assert q["_structured"] is True
    # No retrieved article cited (or none retrieved): the answer passes as is, unstructured.
    (q,) = made(Consultation(), consultation(answer="您可以先协商。"))
    assert q["messages"][1]["content"] == "您可以先协商。" and q["_structured"] is False
    (q,) = made(Consultation(Consultation.Params(legal_basis=False)), consultation())
    assert "法律依据" not in q["messages"][1]["content"]
    # Dialogues are not single consultations.
    assert made(Consultation(), consultation(history=[{"role": "user", "content": "x"}])) == []


def test_dialogue_keeps_turns_and_reads_normalized_history() -> None:
    history = [
        {"role": "user", "content": "如果夫妻一方赌博，可否让其净身出户"},
        {"role": "assistant", "content": "依据《民法典》第一千零七十六条，需要协议。"},
    ]
    rec = consultation(
        question="是有重大过错。",
        answer="那么您可以请求损害赔偿。",
        history=history,
        _history_text=[
            "如果夫妻一方赌博，可否让其净身出户",
            "依据《民法典》第一千零七十六条，需要协议。",
        ],
    )
    (q,) = made(ConsultationDialogue(), rec)
    roles = [m["role"] for m in q["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert q["messages"][0]["content"].endswith("如果夫妻一方赌博，可否让其净身出户")
    assert q["messages"][2]["content"] == "是有重大过错。"
    assert q["messages"][3]["content"] == (
        "那么您可以请求损害赔偿。\n\n法律依据：《中华人民共和国民法典》第一千零七十六条"
    )
    assert q["id"] == content_id(q["messages"])
    # The first user turn keys the group: the same opening question, same group.
    assert (
        q["group"] == made(Consultation(), consultation(question=history[0]["content"]))[0]["group"]
    )
    assert made(ConsultationDialogue(), consultation()) == []


def test_scenario_article_quotes_cited_articles() -> None:
    (q,) = made(ScenarioArticle(), consultation())
    assert "我要离婚他不离，我怎么办？" in q["messages"][0]["content"]
    assert q["messages"][1]["content"] == (
        "根据《中华人民共和国民法典》第一千零七十九条：夫妻一方要求离婚的，可以向人民法院提起离婚诉讼。"
        "\n\n法条：《中华人民共和国民法典》第一千零七十九条"
    )
    assert q["_quoted_statute"] is True
    assert made(ScenarioArticle(), consultation(answer="您可以先协商。")) == []
    assert made(ScenarioArticle(), consultation(laws=[])) == []
    short = ScenarioArticle(ScenarioArticle.Params(max_article_chars=5))
    assert made(short, consultation()) == []
