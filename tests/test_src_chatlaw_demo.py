"""ChatLaw demo adapter: the ChatLAW system prompt is dropped, speakers mapped, stage2 → cases."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import made, read_source, real_build
from lawset.builders.tasks.consultation import Consultation, ConsultationDialogue

META = "你一个名叫ChatLAW，由北京大学团队开发的人工智能助理：\n- 你的回应必须有礼貌。"


def chat(*pairs: tuple[str, str], **kw) -> str:
    rec = {
        "meta_instruction": META,
        "plugins": [],
        "chat": [{"咨询者": q, "ChatLAW": a} for q, a in pairs],
        "subject": "法律咨询",
    }
    rec.update(kw)
    return json.dumps(rec, ensure_ascii=False)


def write_source(tmp_path: Path) -> Path:
    data = tmp_path / "ChatLaw-demo" / "data"
    data.mkdir(parents=True)
    lines = [
        chat(("外国人策动投敌叛变如何处罚？", "应以投敌叛变罪的共犯论处。")),
        chat(("你是谁？", "我是ChatLAW，由北京大学开发。")),
        chat(("甲问", "甲答"), ("乙问", "乙答")),
        chat(chat=[{"用户": "问"}]),
    ]
    (data / "demo_data_法律咨询.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (data / "demo_data_法律概念.jsonl").write_text(
        chat(("什么是背叛国家罪", "根据《中华人民共和国刑法》第一百零二条……")), encoding="utf-8"
    )
    cases = [
        {"q": "指控，被告人蒋李醉酒驾驶机动车。", "crime": ["危险驾驶罪"]},
        {"q": "指控，被告人偷东西。", "crime": ["盗窃"]},
    ]
    (data / "demo_data_stage2.json").write_text(
        "\n".join(json.dumps(c, ensure_ascii=False) for c in cases), encoding="utf-8"
    )
    return tmp_path / "ChatLaw-demo"


def test_parse_and_rejects(tmp_path: Path) -> None:
    read = read_source("chatlaw_demo", write_source(tmp_path), category="qa")
    records, dropped = read.records, read.dropped
    by_id = {r["source_id"]: r for r in records}
    first = by_id["demo_data_法律咨询#1"]
    assert first["kind"] == "consultation" and first["topic"] == "consultation"
    assert first["question"] == "外国人策动投敌叛变如何处罚？" and first["history"] == []
    assert all("ChatLAW" not in json.dumps(r, ensure_ascii=False) for r in records)
    multi = by_id["demo_data_法律咨询#3"]
    assert multi["history"] == [
        {"role": "user", "content": "甲问"},
        {"role": "assistant", "content": "甲答"},
    ]
    assert multi["question"] == "乙问" and multi["answer"] == "乙答"
    assert by_id["demo_data_法律概念#1"]["topic"] == "concept"
    case = by_id["demo_data_stage2#1"]
    assert case["kind"] == "case" and case["charges"] == ["危险驾驶罪"]
    assert case["fact"].startswith("指控") and case["term_months"] is None
    assert dropped == {"assistant_identity": 1, "bad_chat": 1, "bad_charges": 1}


def test_queries_have_no_system_prompt(tmp_path: Path) -> None:
    records = read_source("chatlaw_demo", write_source(tmp_path), category="qa").records
    by_id = {r["source_id"]: r for r in records}
    (q,) = made(Consultation(), by_id["demo_data_法律咨询#1"])
    assert [m["role"] for m in q["messages"]] == ["user", "assistant"]
    assert q["messages"][1]["content"] == "应以投敌叛变罪的共犯论处。"
    (q,) = made(ConsultationDialogue(), by_id["demo_data_法律咨询#3"])
    assert [m["content"] for m in q["messages"]][1:] == ["甲答", "乙问", "乙答"]


def test_real_source(shared_raw: Path, tmp_path: Path) -> None:
    source = {
        "adapter": "chatlaw_demo",
        "path": "qa/ChatLaw-demo",
        "category": "qa",
        "license": "AGPL-3.0",
        "real_names": True,
    }
    built = real_build(
        shared_raw, tmp_path, {"chatlaw_demo": source}, ["consultation"], "qa", dedup=False
    )
    stats, rows = built.stats, built.rows()
    assert stats["counters"]["tasks"]["consultation"] == 40
    assert len(rows) == 40
    text = json.dumps([r["messages"] for r in rows], ensure_ascii=False)
    assert "ChatLAW" not in text and "北京大学" not in text
    assert all(m["role"] != "system" for r in rows for m in r["messages"])
