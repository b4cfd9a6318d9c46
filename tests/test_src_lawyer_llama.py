"""lawyer-llama adapter: six files, three nestings, boilerplate and placeholder citations."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.sources.lawyer_llama import strip_referral
from lawset.builders.tasks.consultation import Consultation, ConsultationDialogue, ScenarioArticle

LAWS = [
    "《民法典》第一千零七十六条：夫妻双方自愿离婚的，应当签订书面离婚协议。",
    "《民法典》第一千零七十九条：夫妻一方要求离婚的，可以向人民法院提起离婚诉讼。",
]


def dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def write_source(tmp_path: Path) -> Path:
    data = tmp_path / "lawyer-llama" / "data"
    data.mkdir(parents=True)
    dump(
        data / "legal_advice.json",
        [
            [{"input": "", "instruction": "假冒专利算诈骗吗", "output":
              "属于侵权行为，可能构成诈骗。作为律师，我建议您及时咨询专业律师，以便更好地保护自己的权益。"}],
            [{"input": "", "instruction": "怎么起诉", "output": "根据《民事诉讼法》第X条规定起诉。"}],
            [],
        ],
    )  # fmt: skip
    dump(
        data / "judical_examination.json",
        [[{"input": "", "instruction": "下列哪些属于简易程序?\n提供送达地址\n请给出详细的推理过程之后再给出答案。\n",
           "output": "送达地址属于简易程序的内容。"}]],
    )  # fmt: skip
    dump(
        data / "fakao_gpt4.json",
        [
            {"input": "什么是正当防卫", "output": "为了使国家利益免受不法侵害而采取的制止行为。", "type": "gainian"},
            {"input": "甲在公园打乙，如何认定?", "output": "甲构成故意伤害罪。", "type": "qingjing"},
            {"input": "其他", "output": "x", "type": "other"},
        ],
    )  # fmt: skip
    dump(
        data / "zixun_gpt4.json",
        [{"query": "我要离婚他不离怎么办", "laws": LAWS, "response":
          "您可以起诉。根据《民法典》第一千零七十九条，调解无效的应准予离婚。"}],
    )  # fmt: skip
    dump(data / "legal_counsel_with_article_v2.json", [{"query": "离婚要户口本吗", "laws": LAWS}])
    dump(
        data / "legal_counsel_multi_turn_with_article_v2.json",
        [
            {"query": "赌博能净身出户吗", "laws": LAWS, "history": [
                "[客户] 赌博能净身出户吗", "[律师] 依据《民法典》第一千零七十六条需协议。",
                "[律师] 请问另一方是否有重大过错？", "[客户] 是有重大过错。",
                "[律师] 您可以请求损害赔偿。", "[客户] 谢谢"]},
            {"query": "q", "laws": [], "history": ["客户说：你好", "[律师] 您好"]},
        ],
    )  # fmt: skip
    return tmp_path / "lawyer-llama"


def test_strip_referral_keeps_advice() -> None:
    assert strip_referral("可以起诉。建议您咨询专业律师的意见。") == "可以起诉。"
    assert strip_referral("可以起诉。如需帮助，可以委托律师代理诉讼。") == (
        "可以起诉。如需帮助，可以委托律师代理诉讼。"
    )  # no 咨询/请教/寻求: this is advice, kept
    assert strip_referral("建议您咨询专业律师。") == "建议您咨询专业律师。"  # nothing else left


def test_parse_and_rejects(tmp_path: Path) -> None:
    read = read_source("lawyer_llama", write_source(tmp_path), category="qa")
    records, dropped = read.records, read.dropped
    by_id = {r["source_id"]: r for r in records}
    advice = by_id["legal_advice#0"]
    assert advice["kind"] == "consultation" and advice["topic"] == "consultation"
    assert advice["answer"] == "属于侵权行为，可能构成诈骗。"  # referral boilerplate stripped
    assert advice["laws"] == [] and advice["history"] == []
    exam = by_id["judical_examination#0"]
    assert exam["topic"] == "exam_reasoning" and exam["_group"].startswith("exam:")
    assert by_id["fakao_gpt4#0"]["topic"] == "concept"
    assert by_id["fakao_gpt4#1"]["topic"] == "exam_reasoning"
    assert by_id["zixun_gpt4#0"]["laws"] == LAWS
    dialogue = by_id["legal_counsel_multi_turn_with_article_v2#0"]
    assert dialogue["question"] == "是有重大过错。" and dialogue["answer"] == "您可以请求损害赔偿。"
    assert dialogue["history"] == [
        {"role": "user", "content": "赌博能净身出户吗"},
        {"role": "assistant", "content": "依据《民法典》第一千零七十六条需协议。\n\n请问另一方是否有重大过错？"},
    ]  # fmt: skip
    assert dialogue["_history_text"] == [t["content"] for t in dialogue["history"]]
    assert len(records) == 6
    assert dropped == {
        "placeholder_article": 1,
        "bad_nesting": 1,
        "bad_type": 1,
        "missing_field": 1,
        "bad_history": 1,
    }


def test_queries(tmp_path: Path) -> None:
    records = read_source("lawyer_llama", write_source(tmp_path), category="qa").records
    by_id = {r["source_id"]: {**r, "_held_out": "none"} for r in records}
    (q,) = made(Consultation(), by_id["zixun_gpt4#0"])
    assert q["messages"][1]["content"].endswith(
        "调解无效的应准予离婚。\n\n法律依据：《中华人民共和国民法典》第一千零七十九条"
    )
    assert q["_structured"] is True
    (q,) = made(Consultation(), by_id["legal_advice#0"])
    assert q["messages"][1]["content"] == "属于侵权行为，可能构成诈骗。" and not q["_structured"]
    (q,) = made(ConsultationDialogue(), by_id["legal_counsel_multi_turn_with_article_v2#0"])
    assert [m["role"] for m in q["messages"]] == ["user", "assistant", "user", "assistant"]
    assert q["messages"][-1]["content"] == (
        "您可以请求损害赔偿。\n\n法律依据：《中华人民共和国民法典》第一千零七十六条"
    )
    (q,) = made(ScenarioArticle(), by_id["zixun_gpt4#0"])
    assert q["messages"][1]["content"].endswith("法条：《中华人民共和国民法典》第一千零七十九条")
    assert made(ScenarioArticle(), by_id["legal_advice#0"]) == []


def test_real_source(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "lawyer_llama",
        "path": "qa/lawyer-llama",
        "category": "qa",
        "license": "Apache-2.0",
    }
    steps = ["consultation", "consultation_dialogue", "scenario_article"]
    built = real_build(shared_raw, tmp_path, {"lawyer_llama": source}, steps, "qa", dedup=False)
    stats, rows = built.stats, built.rows()
    tasks = stats["counters"]["tasks"]
    assert tasks["consultation"] >= 8800 and tasks["consultation_dialogue"] >= 470
    assert tasks["scenario_article"] >= 1500
    assert stats["steps"]["read"]["dropped"]["placeholder_article"] >= 1000
    assert all("第X条" not in m["content"] for r in rows for m in r["messages"])
    basis = [
        r for r in rows if "\n\n法律依据：《中华人民共和国民法典》" in r["messages"][-1]["content"]
    ]
    assert len(basis) >= 1500
    assert {r["split"] for r in rows} == {"train", "validation", "test"}
