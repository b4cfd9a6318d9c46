"""Tests for lawset.builders.numerals: Chinese numerals and article labels."""

from __future__ import annotations

import pytest
from lawset.builders.numerals import article_label, cn_to_int, int_to_cn, parse_article_label

CANONICAL = [
    (0, "零"),
    (1, "一"),
    (10, "十"),
    (11, "十一"),
    (12, "十二"),
    (20, "二十"),
    (100, "一百"),
    (101, "一百零一"),
    (102, "一百零二"),
    (110, "一百一十"),
    (119, "一百一十九"),
    (1000, "一千"),
    (1001, "一千零一"),
    (1010, "一千零一十"),
    (1260, "一千二百六十"),
    (2001, "二千零一"),
    (10000, "一万"),
    (10001, "一万零一"),
    (10010, "一万零一十"),
    (100000, "十万"),
    (120000, "十二万"),
    (1_000_000, "一百万"),
    (1_0000_0000, "一亿"),
    (1_0010_0000, "一亿零一十万"),
    (1_0000_0005, "一亿零五"),
]


@pytest.mark.parametrize(("n", "cn"), CANONICAL)
def test_canonical_round_trip(n: int, cn: str) -> None:
    assert int_to_cn(n) == cn
    assert cn_to_int(cn) == n


@pytest.mark.parametrize(
    ("s", "n"),
    [
        ("两万", 20000),
        ("两千零一", 2001),
        ("〇", 0),
        ("一千零十", 1010),  # non-canonical but unambiguous
        ("一亿零十万", 1_0010_0000),
        ("264", 264),
        ("０", 0),
        ("２６４", 264),
        ("2６4", 264),
    ],
)
def test_accepted_variants(s: str, n: int) -> None:
    assert cn_to_int(s) == n


def test_round_trip_range() -> None:
    for n in range(0, 30_000):
        assert cn_to_int(int_to_cn(n)) == n
    for n in (99_999_999, 100_000_001, 123_456_789_012, 10**16 - 1):
        assert cn_to_int(int_to_cn(n)) == n


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " 十",
        "百",
        "万",
        "十十",
        "一二",
        "零五",
        "一百零",
        "一百二",  # colloquial 120: ambiguous, refused
        "一千二十",  # a skipped place needs 零
        "一百零二十",  # 零 where nothing is skipped
        "一千零零五",
        "一万五",
        "一亿亿",
        "十一百",
        "1十",
        "abc",
        "٣",  # an Arabic-Indic digit is a digit to str.isdigit but not here
    ],
)
def test_rejects(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        cn_to_int(bad)
    assert repr(bad) in str(info.value)


def test_int_to_cn_rejects() -> None:
    with pytest.raises(ValueError):
        int_to_cn(-1)
    with pytest.raises(ValueError):
        int_to_cn(10**16)
    with pytest.raises(TypeError):
        int_to_cn(True)


@pytest.mark.parametrize(
    ("label", "parsed"),
    [
        ("第一条", (1, 0)),
        ("第十条", (10, 0)),
        ("第一百零二条", (102, 0)),
        ("第十条之一", (10, 1)),
        ("第十七条之一", (17, 1)),
        ("第二百八十七条之二", (287, 2)),
        ("第一千二百六十条", (1260, 0)),
    ],
)
def test_label_round_trip(label: str, parsed: tuple[int, int]) -> None:
    assert parse_article_label(label) == parsed
    assert article_label(*parsed) == label


def test_label_arabic() -> None:
    assert parse_article_label("第264条") == (264, 0)
    assert parse_article_label("第２６４条之１") == (264, 1)


@pytest.mark.parametrize(
    "bad", ["", "第条", "第零条", "十条", "第十", "第十条之", "第十条之零", "第十条 ", "第一百二条"]
)
def test_label_rejects(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_article_label(bad)
    assert repr(bad) in str(info.value)


def test_article_label_rejects() -> None:
    with pytest.raises(ValueError):
        article_label(0)
    with pytest.raises(ValueError):
        article_label(1, -1)
