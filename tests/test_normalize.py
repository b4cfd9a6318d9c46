"""Normalization: width folding keeps Chinese punctuation; t2s only for non-simplified text."""

from __future__ import annotations

from lawset.builders.normalize import (
    cjk_ratio,
    fold_whitespace,
    fold_width,
    normalize_text,
    normalize_with_original,
)


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


def test_original_is_kept_for_converted_text() -> None:
    assert normalize_with_original("刑法", simplified=True) == ("刑法", None)
    assert normalize_with_original("刑法", simplified=False) == ("刑法", None)
    assert normalize_with_original("刑法條文", simplified=False) == ("刑法条文", "刑法條文")


def test_cjk_ratio() -> None:
    assert cjk_ratio("") == 0.0
    assert cjk_ratio("刑法 ab") == 0.5
