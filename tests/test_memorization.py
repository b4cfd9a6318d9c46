"""Memorization task generators on hand-made article records: exact questions and answers."""

from __future__ import annotations

from conftest import made
from lawset.builders.schema import content_id
from lawset.builders.tasks.memorization import (
    ArticleChapter,
    ArticleFillIn,
    ArticleIdentification,
    ArticleItems,
    ArticleRecitation,
    book_title,
)


def article(**kw) -> dict:
    rec = {
        "kind": "article",
        "id": "某法@2020-01-01/第五条",
        "law": "中华人民共和国某法",
        "version": "2020-01-01",
        "label": "第五条",
        "article": 5,
        "sub": 0,
        "path": ["第一章 总则"],
        "text": "国家保护公民的合法权益，任何组织或者个人不得侵犯。",
        "items": [],
        "source": "laws",
        "source_id": "某法.md#第五条",
        "license": "none stated",
        "_unique_text": True,
    }
    rec.update(kw)
    return rec


def test_recitation_answer_and_citation() -> None:
    (q,) = made(ArticleRecitation(), article())
    assert q["task"] == "article_recitation" and q["level"] == "memorization"
    assert "《中华人民共和国某法》第五条" in q["messages"][0]["content"]
    assert q["messages"][1]["content"] == (
        "《中华人民共和国某法》第五条规定：\n国家保护公民的合法权益，任何组织或者个人不得侵犯。"
        "\n\n法条：《中华人民共和国某法》第五条"
    )
    assert q["citations"] == [
        {
            "law": "中华人民共和国某法",
            "article": 5,
            "sub": 0,
            "version": "2020-01-01",
            "verified": True,
            "status": "current",
            "cited_as": "《中华人民共和国某法》第五条",
        }
    ]
    assert q["group"] == "statute:中华人民共和国某法/第五条"
    assert q["id"] == content_id(q["messages"])


def test_recitation_skips_long_articles() -> None:
    step = ArticleRecitation(ArticleRecitation.Params(max_chars=10))
    assert made(step, article()) == []


def test_identification_needs_a_unique_text_of_bounded_length() -> None:
    (q,) = made(ArticleIdentification(), article())
    assert "国家保护公民的合法权益" in q["messages"][0]["content"]
    assert q["messages"][1]["content"].startswith(
        "这段内容出自《中华人民共和国某法》第五条（第一章 总则）。"
    )
    assert made(ArticleIdentification(), article(_unique_text=False)) == []
    assert made(ArticleIdentification(), article(text="本法自公布之日起施行。")) == []


def test_fill_in_blanks_one_clause_that_occurs_once() -> None:
    (q,) = made(ArticleFillIn(), article())
    user, answer = q["messages"][0]["content"], q["messages"][1]["content"]
    span = answer.split("\n")[0].removeprefix("空缺处应为：")
    assert span in ("国家保护公民的合法权益", "任何组织或者个人不得侵犯")
    assert user.count("____") == 1 and span not in user
    # Deterministic: the same article always blanks the same clause.
    assert made(ArticleFillIn(), article())[0]["id"] == q["id"]


def test_items_listed_with_lead_sentence() -> None:
    rec = article(
        text="有下列情形之一的，不予登记：\n（一）材料不全的；\n（二）逾期申请的。",
        items=["（一）材料不全的；", "（二）逾期申请的。"],
    )
    (q,) = made(ArticleItems(), rec)
    assert q["messages"][1]["content"] == (
        "有下列情形之一的，不予登记：\n（一）材料不全的；\n（二）逾期申请的。"
        "\n\n法条：《中华人民共和国某法》第五条"
    )
    assert made(ArticleItems(), article()) == []


def test_chapter_needs_a_path() -> None:
    (q,) = made(ArticleChapter(), article(path=["第二编 分则", "第五章 侵犯财产罪"]))
    assert "位于：第二编 分则 > 第五章 侵犯财产罪。" in q["messages"][1]["content"]
    assert made(ArticleChapter(), article(path=[])) == []


def test_nested_book_titles_use_angle_brackets() -> None:
    law = "最高人民法院关于适用《中华人民共和国民法典》的解释"
    assert book_title(law) == "《最高人民法院关于适用〈中华人民共和国民法典〉的解释》"
    (q,) = made(ArticleRecitation(), article(law=law))
    assert q["messages"][1]["content"].endswith(f"法条：{book_title(law)}第五条")
    assert q["citations"][0]["law"] == law
