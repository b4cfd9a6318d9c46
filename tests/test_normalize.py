"""Normalization: width folding keeps Chinese punctuation; t2s only for non-simplified text."""

from __future__ import annotations

from lawset.builders.normalize import (
    cjk_ratio,
    fold_whitespace,
    fold_width,
    normalize_text,
)
from lawset.builders.pipeline.base import Context
from lawset.builders.steps import Normalize


def test_full_width_ascii_folds_but_chinese_punctuation_stays() -> None:
    assert fold_width("ＡＢＣ１２３％＆") == "ABC123%&"
    assert fold_width("正确答案：Ｂ，（一）；对吗？是！") == "正确答案：B，（一）；对吗？是！"
    assert fold_width("第一条\u3000本法") == "第一条 本法"


def test_whitespace_folding() -> None:
    assert fold_whitespace("  甲  乙\t丙 \r\n\r\n\r\n\n丁\u3000 ") == "甲 乙 丙\n\n丁"


def test_t2s_only_for_sources_that_are_not_simplified() -> None:
    # OpenCC t2s turns 破坏 (simplified) into 破坯 in this context: simplified text is left alone.
    simplified = "未破坏土地并易于复垦"
    assert normalize_text(simplified, simplified=True) == simplified
    assert normalize_text("中華人民共和國刑法", simplified=False) == "中华人民共和国刑法"


def article(text: str, simplified: bool) -> dict:
    return {
        "kind": "article",
        "_text_fields": ("text", "items"),
        "_simplified": simplified,
        "text": text,
        "items": ["（一）刑法條文；"],
        "text_original": None,
    }


def test_normalize_step_keeps_the_original_text_it_changed() -> None:
    ctx = Context(0)
    (batch,) = Normalize().run([[article("刑法條文  第一條", simplified=False)]], ctx)
    (rec,) = batch
    assert rec["text"] == "刑法条文 第一条" and rec["text_original"] == "刑法條文  第一條"
    assert rec["items"] == ["（一）刑法条文；"]
    (batch,) = Normalize().run([[article("未破坏土地", simplified=True)]], ctx)
    assert batch[0]["text"] == "未破坏土地" and batch[0]["text_original"] is None
    assert ctx.stats.steps["normalize"] == {"in": 2, "out": 2, "dropped": {}}


def test_cjk_ratio() -> None:
    assert cjk_ratio("") == 0.0
    assert cjk_ratio("刑法 ab") == 0.5
