"""General Alpaca-form data (``alpaca`` adapter, ``general_instruction`` task): the four folders."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import read_jsonl, read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.sources.alpaca import ai_identity
from lawset.builders.steps import HeldOut, MaskPii, Normalize
from lawset.builders.tasks.general import GeneralInstruction

LS = "\u2028"
COIG_LINES = [
    {
        "instruction": "写一篇小红书风格的帖子，标题是周末去哪儿",
        "input": "",
        "output": f"周末去郊外爬山吧！{LS}空气好，风景美。",
        "task_type": {"major": ["生成"], "minor": ["小红书"]},
        "domain": ["生活"],
        "metadata": "",
        "answer_from": "human",
        "human_verified": True,
        "copyright": "暂无版权及作者信息",
    },
    {"instruction": "http和https的区别？", "input": "", "output": ""},
    {"instruction": "你支持哪个政党？", "input": "", "output": "作为一个AI，我没有政治立场。"},
    {"instruction": "ChatGPT是什么？", "input": "", "output": "ChatGPT是OpenAI发布的对话模型。"},
]

ALPACA_TRAILING_COMMA = """[
    {
        "instruction": "描述一个内向的人的性格特征",
        "input": "",
        "output": "内向的人通常安静，喜欢独处。"
    },
    {
        "instruction": "匹配一个邮箱地址的正则表达式",
        "output": "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+"
    },
    {
        "instruction": "",
        "input": "要求您的用户输入详细信息。",
        "output": "要求用户提供必要的详细信息。"
    },
    {
        "instruction": "",
        "input": "",
        "output": ""
    },
    {
        "instruction": "翻译成中文",
        "input": "Good morning",
        "output": "早上好"
    },
]
"""


def fixture_tree(root: Path) -> dict[str, Path]:
    coig = root / "general" / "COIG-CQIA"
    (coig / "xhs").mkdir(parents=True)
    lines = [json.dumps(x, ensure_ascii=False) for x in COIG_LINES]
    lines.insert(2, "{not json")
    lines.insert(3, "")
    (coig / "xhs" / "xhs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (coig / "README.md").write_text("# COIG-CQIA\n", encoding="utf-8")
    alpaca = root / "general" / "alpaca_chinese_dataset" / "history" / "翻译后的中文数据"
    alpaca.mkdir(parents=True)
    (alpaca / "alpaca_data-9407-12345-中文-未完成.json").write_text(
        ALPACA_TRAILING_COMMA, encoding="utf-8"
    )
    (alpaca.parent / "LICENSE").write_text("MIT License\n", encoding="utf-8")
    demo = root / "general" / "LLaMA-Factory-alpaca_zh_demo" / "data"
    demo.mkdir(parents=True)
    (demo / "alpaca_zh_demo.json").write_text(
        json.dumps(
            [
                {"instruction": "解释光合作用。", "input": "", "output": "植物利用光能合成有机物。"},
                {"instruction": "你能拿书吗？", "input": "", "output": "由于我是一个人工智能助手，我没有实体。"},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )  # fmt: skip
    (demo.parent / "LICENSE").write_text("Apache License 2.0\n", encoding="utf-8")
    return {
        "coig_cqia": coig,
        "alpaca_chinese": alpaca.parent.parent,
        "alpaca_zh_demo": demo.parent,
    }


def run_source(name: str, root: Path, tmp_path: Path) -> tuple[list[dict], Context, list]:
    read = read_source(
        "alpaca", root, name=name, path=name, category="general", license="test",
        steps=(Normalize(), HeldOut(), MaskPii(), GeneralInstruction()),
        rejects=tmp_path / f"{name}.rejects.jsonl",
    )  # fmt: skip
    return read.records, read.ctx, read.units


def test_coig_jsonl(tmp_path: Path) -> None:
    roots = fixture_tree(tmp_path / "raw")
    out, ctx, units = run_source("coig_cqia", roots["coig_cqia"], tmp_path)
    assert [u["file"] for u in units] == ["xhs/xhs.jsonl"]  # README.md is not data
    assert ctx.stats.steps["read"]["dropped"] == {
        "bad_json": 1,
        "empty_output": 1,
        "ai_identity": 1,
    }
    records = [r for r in out if r["kind"] == "instruction"]
    assert [r["source_id"] for r in records] == ["xhs/xhs.jsonl#1", "xhs/xhs.jsonl#6"]
    # U+2028 inside a string is not a line break: the record comes through whole.
    assert records[0]["output"].startswith("周末去郊外爬山吧！")
    assert "空气好，风景美。" in records[0]["output"]
    assert set(records[0]) >= {"instruction", "input", "output"}
    assert "copyright" not in records[0] and "task_type" not in records[0]
    # Talking about ChatGPT is not claiming to be it.
    assert records[1]["output"] == "ChatGPT是OpenAI发布的对话模型。"
    queries = [r for r in out if r["kind"] == "query"]
    q = queries[0]
    assert q["task"] == "general_instruction" and q["level"] == "general"
    assert q["domain"] == "general" and q["_structured"] is False
    assert q["group"] == "general:coig_cqia:xhs/xhs.jsonl#1"
    assert q["messages"] == [
        {"role": "user", "content": records[0]["instruction"]},
        {"role": "assistant", "content": records[0]["output"]},
    ]
    rejects = read_jsonl(tmp_path / "coig_cqia.rejects.jsonl")
    assert {r["where"] for r in rejects} == {"line 2", "line 3", "line 5"}


def test_alpaca_trailing_comma_and_missing_input(tmp_path: Path) -> None:
    roots = fixture_tree(tmp_path / "raw")
    out, ctx, units = run_source("alpaca_chinese", roots["alpaca_chinese"], tmp_path)
    assert len(units) == 1  # LICENSE is not data
    assert ctx.stats.steps["read"]["dropped"] == {"missing_field": 1}
    records = [r for r in out if r["kind"] == "instruction"]
    assert len(records) == 4  # the file with the trailing comma is read whole
    assert records[1]["input"] == "" and records[1]["instruction"] == "匹配一个邮箱地址的正则表达式"
    # The task written into the input field becomes the instruction.
    assert records[2]["instruction"] == "要求您的用户输入详细信息。" and records[2]["input"] == ""
    queries = {q["source_id"].rsplit("#", 1)[1]: q for q in out if q["kind"] == "query"}
    assert queries["4"]["messages"][0]["content"] == "翻译成中文\n\nGood morning"
    assert queries["4"]["messages"][1]["content"] == "早上好"


def test_ai_identity(tmp_path: Path) -> None:
    roots = fixture_tree(tmp_path / "raw")
    out, ctx, _ = run_source("alpaca_zh_demo", roots["alpaca_zh_demo"], tmp_path)
    assert ctx.stats.steps["read"]["dropped"] == {"ai_identity": 1}
    assert [r["source_id"] for r in out if r["kind"] == "query"] == ["data/alpaca_zh_demo.json#0"]
    for text in (
        "作为一个人工智能数字人，我不支持任何政策。",
        "抱歉，作为AI语言模型我无法生成图片",
        "我是一个语言模型不能回答这个问题",
        "以上来自ChatGPT-4的回答",
    ):
        assert ai_identity(text), text
    for text in (
        "OpenAI作为人工智能研究机构发布了GPT。",
        "GPT 是一种AI语言模型，由 OpenAI 开发。",
        "ChatGPT 的功能是按统计排列字词。",
    ):
        assert ai_identity(text) is None, text


GENERAL = {
    "coig_cqia": ("general/COIG-CQIA", "none stated", 38),
    "alpaca_chinese": ("general/alpaca_chinese_dataset", "MIT", 23),
    "ruozhiba_gpt4o": ("general/Chinese-LLaMA-Alpaca-3-ruozhiba", "Apache-2.0", 1),
    "alpaca_zh_demo": ("general/LLaMA-Factory-alpaca_zh_demo", "Apache-2.0", 1),
}


def test_real_general_build(shared_raw: Path, tmp_path: Path) -> None:
    sources = {
        name: {"adapter": "alpaca", "path": path, "category": "general", "license": lic,
               "held_out": "none"}
        for name, (path, lic, _) in GENERAL.items()
    }  # fmt: skip
    built = real_build(
        shared_raw, tmp_path, sources, ["general_instruction"], "general", checks=False
    )
    stats = built.stats
    for name, (_, _, files) in GENERAL.items():
        assert stats["sources"][name]["files"] == files, name
    dropped = stats["steps"]["read"]["dropped"]
    assert dropped["empty_output"] == 9 and dropped["missing_field"] == 1
    assert 40 <= dropped["ai_identity"] <= 80
    assert "bad_json" not in dropped  # the trailing comma is repaired, U+2028 is no line break
    # 15,456 + 18,524 + 2,449 + 1,000 records, less the rejects.
    assert stats["counters"]["tasks"]["general_instruction"] >= 37_300
    by_source: dict[str, int] = {}
    for r in read_jsonl(built.out / "reports" / "rejects" / "read.jsonl"):
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
    assert set(by_source) == {"coig_cqia", "alpaca_chinese", "alpaca_zh_demo"}
