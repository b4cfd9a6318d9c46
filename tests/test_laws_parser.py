"""Tests for lawset.builders.sources.laws (LawRefBook Markdown statutes)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from conftest import SHARED_RAW
from lawset.builders.sources.laws import (
    Article,
    LawFile,
    LawSourceError,
    list_law_files,
    parse_articles,
    read_law_file,
    version_from_name,
)

RAW_LAWS = SHARED_RAW / "laws" / "LawRefBook-Laws"

CRIMINAL = """\
# 中华人民共和国示例法

1979年7月1日 第五届全国人民代表大会第二次会议通过

1997年3月14日 第八届全国人民代表大会第五次会议修订

2024年1月1日 施行

<!-- INFO END -->

本法的序言不属于任何条。

## 第一编  总则

### 第一章 任务

第一条 为了惩罚犯罪，制定本法。

第二条　本法的任务是：

（一）保卫国家安全；

（二）保护财产。

前款规定以外的，适用其他法律。

### 第二章 犯罪

#### 第一节 刑事责任

第十七条 已满十六周岁的人犯罪，应当负刑事责任。

第十七条之一 已满七十五周岁的人故意犯罪的，可以从轻处罚。

## 第二编 分则

### 第五章　　侵犯财产罪

第二百六十四条 盗窃公私财物，数额较大的，处三年以下有期徒刑。

第二百六十五条
"""


def write(tmp_path: Path, rel: str, content: str | bytes) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_read_and_parse_structure(tmp_path: Path) -> None:
    write(tmp_path, "刑法/示例法.md", CRIMINAL)
    info, text = read_law_file(tmp_path, "刑法/示例法.md")
    raw = CRIMINAL.encode("utf-8")
    assert info == LawFile(
        path="刑法/示例法.md",
        category="刑法",
        title="中华人民共和国示例法",
        part=None,
        version="1997-03-14",  # the 施行 line is later but ignored
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
    )
    assert text == CRIMINAL
    arts = list(parse_articles(text))
    assert [(a.ordinal, a.number, a.sub, a.label) for a in arts] == [
        (0, 1, 0, "第一条"),
        (1, 2, 0, "第二条"),
        (2, 17, 0, "第十七条"),
        (3, 17, 1, "第十七条之一"),
        (4, 264, 0, "第二百六十四条"),
        (5, 265, 0, "第二百六十五条"),
    ]
    assert arts[0] == Article(
        ordinal=0,
        number=1,
        sub=0,
        label="第一条",
        path=("第一编 总则", "第一章 任务"),
        text="为了惩罚犯罪，制定本法。",
        items=(),
    )
    # full-width space after the label; items and a following 款 as separate paragraphs
    assert arts[1].text == (
        "本法的任务是：\n（一）保卫国家安全；\n（二）保护财产。\n前款规定以外的，适用其他法律。"
    )
    assert arts[1].items == ("（一）保卫国家安全；", "（二）保护财产。")
    assert arts[2].path == ("第一编 总则", "第二章 犯罪", "第一节 刑事责任")
    assert arts[3].path == ("第一编 总则", "第二章 犯罪", "第一节 刑事责任")
    # a new ## pops the ### and #### below it; inner whitespace runs collapse to one space
    assert arts[4].path == ("第二编 分则", "第五章 侵犯财产罪")
    assert arts[4].text == "盗窃公私财物，数额较大的，处三年以下有期徒刑。"
    # label only: empty body kept, the caller decides
    assert arts[5].text == ""
    assert arts[5].items == ()


def test_inline_items_and_references() -> None:
    text = (
        "# 法\n<!-- INFO END -->\n"
        "第三条 晋级的条件:（一）遵纪守法；（二）胜任本职工作。\n"
        "依照本法第五条第（一）项规定处理。\n"
        "第四条 修改为：\n“（一）将本单位的财物据为己有的；\n“（二）其他情形的。”\n"
    )
    arts = list(parse_articles(text))
    assert arts[0].items == ("（一）遵纪守法；", "（二）胜任本职工作。")
    assert arts[0].text == (
        "晋级的条件:（一）遵纪守法；（二）胜任本职工作。\n依照本法第五条第（一）项规定处理。"
    )
    assert arts[1].items == ("（一）将本单位的财物据为己有的；", "（二）其他情形的。”")


def test_heading_ends_article_and_preamble_dropped() -> None:
    text = (
        "# 法\n<!-- INFO END -->\n序言第一段。\n第一条 甲。\n乙。\n## 附件\n附表内容。\n"
        "第二条 丙。\n"
    )
    arts = list(parse_articles(text))
    assert [(a.text, a.path) for a in arts] == [("甲。\n乙。", ()), ("丙。", ("附件",))]


def test_prose_with_label_is_not_an_article() -> None:
    text = "# 法\n<!-- INFO END -->\n第一条 甲。\n第二条规定的情形除外。\n"
    arts = list(parse_articles(text))
    assert len(arts) == 1
    assert arts[0].text == "甲。\n第二条规定的情形除外。"


@pytest.mark.parametrize("label", ["第十十条", "第零条", "第十条之零"])
def test_bad_article_numeral_raises(label: str) -> None:
    text = f"# 法\n<!-- INFO END -->\n第一条 甲。\n{label} 乙。\n"
    with pytest.raises(LawSourceError) as info:
        list(parse_articles(text, "x/法.md"))
    assert info.value.reason == "bad_article_number"
    assert str(info.value).startswith("x/法.md: line 4: ")
    assert repr(label) in str(info.value)


def test_civil_code_part(tmp_path: Path) -> None:
    content = (
        "# 中华人民共和国民法典\n\n# 总则\n\n"
        "2020年5月28日 第十三届全国人民代表大会第三次会议通过\n\n2021年1月1日 施行\n\n"
        "<!-- INFO END -->\n\n## 第一章  基本规定\n\n第一条 为了保护民事主体的合法权益，制定本法。\n"
    )
    write(tmp_path, "民法典/总则.md", content)
    info, text = read_law_file(tmp_path, "民法典/总则.md")
    assert (info.title, info.part, info.version) == ("中华人民共和国民法典", "总则", "2020-05-28")
    arts = list(parse_articles(text))
    assert [(a.label, a.path) for a in arts] == [("第一条", ("第一章 基本规定",))]


def test_no_info_end(tmp_path: Path) -> None:
    content = "# 某条例\n2001年2月3日 国务院令公布\n第一条 甲。\n第二条 乙。\n"
    write(tmp_path, "行政法规/某条例.md", content)
    info, text = read_law_file(tmp_path, "行政法规/某条例.md")
    assert (info.title, info.part, info.version) == ("某条例", None, "2001-02-03")
    assert [(a.label, a.text) for a in parse_articles(text)] == [
        ("第一条", "甲。"),
        ("第二条", "乙。"),
    ]


def test_version_sources(tmp_path: Path) -> None:
    assert version_from_name("民事诉讼法(2023-09-01).md") == "2023-09-01"
    assert version_from_name("诉讼/民事诉讼法(2023-09-01).md") == "2023-09-01"
    assert version_from_name("宪法修正案（1988年）.md") is None
    assert version_from_name("坏日期(2021-02-30).md") is None
    assert version_from_name("刑法.md") is None
    # the name wins over the header
    write(tmp_path, "行政法/甲法(2015-04-24).md", "# 甲法\n2019年1月1日 修正\n<!-- INFO END -->\n")
    assert read_law_file(tmp_path, "行政法/甲法(2015-04-24).md")[0].version == "2015-04-24"
    # only 施行 lines carry dates: use them
    write(tmp_path, "其他/乙.md", "# 乙\n2021年8月1日 施行\n<!-- INFO END -->\n")
    assert read_law_file(tmp_path, "其他/乙.md")[0].version == "2021-08-01"
    # ISO dates (case files), dates inside parentheses, no date at all
    write(tmp_path, "案例/丙.md", "# 丙\n最高人民法院发布\n2022-03-15\n<!-- INFO END -->\n")
    assert read_law_file(tmp_path, "案例/丙.md")[0].version == "2022-03-15"
    write(tmp_path, "其他/丁.md", "# 丁\n(2014年11月1日第十二届会议通过)\n<!-- INFO END -->\n")
    assert read_law_file(tmp_path, "其他/丁.md")[0].version == "2014-11-01"
    write(tmp_path, "案例/戊.md", "# 戊\n<!-- INFO END -->\n## 基本案情\n")
    assert read_law_file(tmp_path, "案例/戊.md")[0].version is None


def test_dlc_category_and_listing(tmp_path: Path) -> None:
    write(tmp_path, "DLC/北京地方法规/地方性法规/北京/条例.md", "# 条例\n<!-- INFO END -->\n")
    write(tmp_path, "DLC/_index.md", "---\nbookCollapseSection: true\n---\n")
    write(tmp_path, "刑法/刑法.md", "# 刑法\n")
    write(tmp_path, "刑法/说明.txt", "not markdown")
    assert list_law_files(tmp_path) == ["DLC/北京地方法规/地方性法规/北京/条例.md", "刑法/刑法.md"]
    info, _ = read_law_file(tmp_path, "DLC/北京地方法规/地方性法规/北京/条例.md")
    assert info.category == "地方法规"


def test_gbk_file_is_not_utf8(tmp_path: Path) -> None:
    write(tmp_path, "刑法/旧编码.md", "# 中华人民共和国刑法\n第一条 甲。\n".encode("gbk"))
    with pytest.raises(LawSourceError) as info:
        read_law_file(tmp_path, "刑法/旧编码.md")
    assert info.value.reason == "not_utf8"
    assert info.value.path == "刑法/旧编码.md"
    message = str(info.value)
    assert message.startswith("刑法/旧编码.md: not valid UTF-8 at byte offset 2 ")
    assert "iconv -f GBK -t UTF-8" in message


@pytest.mark.parametrize("content", [b"", b"  \n\n", "\u3000\n".encode()])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    write(tmp_path, "其他/空.md", content)
    with pytest.raises(LawSourceError) as info:
        read_law_file(tmp_path, "其他/空.md")
    assert info.value.reason == "empty_file"
    assert str(info.value).startswith("其他/空.md: ")


@pytest.mark.parametrize(
    "content",
    [
        "2020年1月1日 通过\n<!-- INFO END -->\n第一条 甲。\n",
        "<!-- INFO END -->\n# 标题在标记之后\n第一条 甲。\n",
        "第一条 甲。\n# 标题在条文之后\n",
        "#没有空格的标题\n第一条 甲。\n",
    ],
)
def test_no_title(tmp_path: Path, content: str) -> None:
    write(tmp_path, "其他/无题.md", content)
    with pytest.raises(LawSourceError) as info:
        read_law_file(tmp_path, "其他/无题.md")
    assert info.value.reason == "no_title"
    assert str(info.value).startswith("其他/无题.md: ")


def test_bom_and_crlf(tmp_path: Path) -> None:
    content = "\ufeff# 法\r\n<!-- INFO END -->\r\n## 第一章 总则\r\n第一条 甲。\r\n乙。\r\n"
    write(tmp_path, "其他/法.md", content)
    info, text = read_law_file(tmp_path, "其他/法.md")
    assert info.title == "法"
    assert [(a.path, a.text) for a in parse_articles(text)] == [(("第一章 总则",), "甲。\n乙。")]


def test_real_tree(shared_raw: Path) -> None:
    started = time.perf_counter()
    files = list_law_files(RAW_LAWS)
    total = 0
    zero: list[str] = []
    infos: dict[str, LawFile] = {}
    by_key: dict[str, dict[tuple[int, int], Article]] = {}
    for rel in files:
        info, text = read_law_file(RAW_LAWS, rel)
        infos[rel] = info
        arts = list(parse_articles(text, rel))
        total += len(arts)
        if not arts:
            zero.append(rel)
        if rel in ("刑法/刑法.md", "民法典/总则.md"):
            by_key[rel] = {(a.number, a.sub): a for a in arts}
    elapsed = time.perf_counter() - started
    zero_report = f"{len(zero)} files with zero articles:\n" + "\n".join(zero)
    print(f"parsed {len(files)} files, {total} articles in {elapsed:.2f}s; {zero_report}")

    assert len(files) == 1751, zero_report
    assert total >= 72_000, zero_report
    assert 100 <= len(zero) <= 170, zero_report
    criminal = by_key["刑法/刑法.md"]
    assert criminal[(264, 0)].text.startswith("盗窃公私财物")
    assert criminal[(264, 0)].path == ("第二编 分则", "第五章 侵犯财产罪")
    assert (17, 1) in criminal
    assert criminal[(17, 1)].label == "第十七条之一"
    general = infos["民法典/总则.md"]
    assert (general.title, general.part, general.version, general.category) == (
        "中华人民共和国民法典",
        "总则",
        "2020-05-28",
        "民法典",
    )
    assert by_key["民法典/总则.md"][(1, 0)].path == ("第一章 基本规定",)
    assert infos["刑法/刑法.md"].version == "2023-12-29"


def test_appendix_after_last_article_is_not_part_of_it():
    text = (
        "# 某某法\n\n2020年1月1日 通过\n\n<!-- INFO END -->\n\n"
        "第一条 本法自公布之日起施行。\n\n附件：主要文书参考样式\n\n一、起诉书\n\n"
        "第二条 附件所列文书，由司法部制定。\n"
    )
    arts = list(parse_articles(text))
    assert [(a.number, a.text) for a in arts] == [
        (1, "本法自公布之日起施行。"),
        (2, "附件所列文书，由司法部制定。"),
    ]


def test_heading_spacing_is_normalised() -> None:
    text = (
        "# 某法\n\n<!-- INFO END -->\n\n## 第一章  总　则\n\n### 第一节 附 则\n\n"
        "第一条 为了示例，制定本法。\n\n## 十八、审判 监督程序\n\n第二条 本法自公布之日起施行。\n"
    )
    assert [a.path for a in parse_articles(text)] == [
        ("第一章 总则", "第一节 附则"),
        ("十八、审判监督程序",),
    ]
