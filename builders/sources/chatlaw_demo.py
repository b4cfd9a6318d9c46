"""Adapter for ChatLaw's demo SFT samples (qa/ChatLaw-demo, PKU-YuanGroup/ChatLaw).

- ``demo_data_法律咨询.jsonl`` and ``demo_data_法律概念.jsonl``: ``{"meta_instruction", "plugins",
  "chat": [{"咨询者": ..., "ChatLAW": ...}, ...], "subject"}`` → kind ``consultation``. The
  ``meta_instruction`` system prompt ("你一个名叫ChatLAW，由北京大学团队开发的人工智能助理...") is
  dropped: the dataset must not teach another model's identity. An answer that itself names
  ChatLAW or its developers is rejected (``assistant_identity``). Speaker keys 咨询者/ChatLAW
  become user/assistant; a chat of several exchanges keeps the earlier ones as ``history``.
  The topic comes from the file name (法律咨询 → consultation, 法律概念 → concept): the
  ``subject`` field says 法律咨询 in both files.
- ``demo_data_stage2.json`` (JSONL despite its name): ``{"q": <case facts>, "crime": [charges]}``
  → kind ``case`` (facts with their charges, every other case field empty). The facts carry real
  defendants' names (蒋李, 方永光): the recipe marks the source ``real_names: true``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..records import CASE, CONSULTATION
from . import register_adapter
from .common import FileAdapter, RecordError, require, text_of

SPEAKERS = {"咨询者": "user", "ChatLAW": "assistant"}
_IDENTITY = re.compile(r"chatlaw|北京大学|北大团队", re.IGNORECASE)
TOPICS = {"法律咨询": "consultation", "法律概念": "concept"}


def chat_turns(chat: Any) -> list[dict[str, str]]:
    """``[{"咨询者": q, "ChatLAW": a}, ...]`` → alternating user/assistant turns."""
    if not isinstance(chat, list) or not chat:
        raise RecordError("missing_field", "field 'chat' is missing or empty")
    turns: list[dict[str, str]] = []
    for exchange in chat:
        if not isinstance(exchange, dict):
            raise RecordError("bad_chat", "a chat exchange is not an object")
        unknown = set(exchange) - set(SPEAKERS)
        if unknown:
            raise RecordError("bad_chat", f"unknown speaker {sorted(unknown)[0]!r}")
        for key, role in SPEAKERS.items():
            content = str(exchange.get(key) or "").strip()
            if not content:
                raise RecordError("bad_chat", f"exchange without a {key} turn")
            turns.append({"role": role, "content": content})
    for t in turns:
        if t["role"] == "assistant" and _IDENTITY.search(t["content"]):
            raise RecordError("assistant_identity", "an answer names ChatLAW or its developers")
    return turns


@register_adapter
class ChatLawDemoAdapter(FileAdapter):
    name = "chatlaw_demo"
    patterns = ("data/demo_data_*.json", "data/demo_data_*.jsonl")

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        stem = Path(rel).stem
        source_id = f"{stem}#{where.removeprefix('line ')}"
        if stem == "demo_data_stage2":
            yield self._case(raw, source_id)
            return
        require(raw, "chat")
        turns = chat_turns(raw["chat"])
        topic = next((t for k, t in TOPICS.items() if k in stem), "consultation")
        yield CONSULTATION.make(
            source_id,
            question=turns[-2]["content"],
            answer=turns[-1]["content"],
            topic=topic,
            history=turns[:-2],
        )

    def _case(self, raw: Any, source_id: str) -> dict[str, Any]:
        require(raw, "q", "crime")
        charges = raw["crime"] if isinstance(raw["crime"], list) else [raw["crime"]]
        charges = [str(c).strip() for c in charges if str(c).strip()]
        if not charges or not all(c.endswith("罪") for c in charges):
            raise RecordError("bad_charges", f"charges {charges!r} are not names ending in 罪")
        return CASE.make(source_id, text_fields=("fact",), fact=text_of(raw, "q"), charges=charges)
