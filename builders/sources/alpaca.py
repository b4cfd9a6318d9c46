"""Adapter for general-domain Alpaca-form instruction data (``instruction``/``input``/``output``).

One adapter serves the four general sources, each its own entry in the recipe:

- ``general/COIG-CQIA``: JSONL files in subfolders (``zhihu/``, ``douban/``, ``xhs/`` ...). Lines
  are split on ``\\n`` only (``iter_jsonl``): ``xhs/xhs.jsonl`` holds U+2028 inside strings.
- ``general/alpaca_chinese_dataset``: pretty-printed JSON arrays under ``history/``; one of them
  (``alpaca_data-9407-12345-中文-未完成.json``) ends ``},\\n]`` and is repaired by ``load_json``.
- ``general/Chinese-LLaMA-Alpaca-3-ruozhiba`` and ``general/LLaMA-Factory-alpaca_zh_demo``: one
  JSON array each under ``data/``.

Only ``*.json``/``*.jsonl`` files are matched, so ``LICENSE`` and README files never are.

Decisions:

- **COIG-CQIA metadata is dropped.** ``task_type``, ``domain``, ``metadata``, ``answer_from``,
  ``human_verified`` and ``copyright`` are not kept: the ``instruction`` kind has no place for them,
  no task uses them, and ``copyright`` is the same placeholder (暂无版权及作者信息) on nearly every
  record. The recipe's license string records the provenance instead.
- A missing ``input`` key (one alpaca_chinese record) or a null ``input`` is ``""``.
- An empty ``output`` (10 alpaca_chinese records) is ``empty_output``; an empty ``instruction`` is
  ``missing_field``.
- **AI self-identity** (``作为一个人工智能…``, ``我是一个AI…``, ``作为AI语言模型…``, ``以上来自ChatGPT
  的回答``) is ``ai_identity``: a legal assistant trained on it would claim to be someone else's
  model. Answers that merely *talk about* ChatGPT or OpenAI (what GPT is, who founded OpenAI) are
  facts, not an identity, and are kept.
- Mostly-English outputs are kept: language filtering is a pipeline decision, not a parse error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..records import GENERAL_INSTRUCTION
from . import register_adapter
from .common import FileAdapter, FileError, RecordError, iter_jsonl, load_json, require

#: First-person statements of being an AI model, as they occur in the general sources.
_AI = r"(?:人工智能|AI|ai|Ai)"
_AI_NOUN = rf"(?:{_AI}(?:语言模型|助手|数字人|模型|程序|机器人)?|语言模型|大语言模型|智能助手)"
AI_IDENTITY = re.compile(
    rf"我(?:只)?是(?:一个|一名|一款|一位)?(?:{_AI}|语言模型|大语言模型)"
    rf"|作为(?:一个|一名|一款|一位)?{_AI_NOUN}(?=[，,。、\s]|我|$)"
    rf"|作为(?:一个|一名|一款|一位)?{_AI}(?:语言模型|助手|数字人|程序)"
    r"|(?:我是|作为|来自)\s*ChatGPT"
)


def ai_identity(text: str) -> str | None:
    """The AI self-identity phrase in ``text``, or None."""
    m = AI_IDENTITY.search(text)
    return m.group() if m else None


def _as_text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError("bad_field_type", f"field {key!r} is a {type(value).__name__}, not text")
    return value.strip()


@register_adapter
class AlpacaAdapter(FileAdapter):
    """Alpaca-form instruction records from JSON arrays or JSONL files."""

    name = "alpaca"
    patterns = ("**/*.jsonl", "**/*.json")

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        if path.suffix == ".jsonl":
            yield from iter_jsonl(path)
            return
        data, _repaired = load_json(path)
        if not isinstance(data, list):
            raise FileError(
                "not_a_json_array",
                f"expected a JSON array of records, got a {type(data).__name__}",
            )
        for i, raw in enumerate(data):
            yield f"item {i}", raw

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        require(raw)
        instruction, given = _as_text(raw, "instruction"), _as_text(raw, "input")
        if not instruction:
            instruction, given = given, ""  # the task was put in the input field
        if not instruction:
            raise RecordError("missing_field", "field 'instruction' is missing or empty")
        output = _as_text(raw, "output")
        if not output:
            raise RecordError("empty_output", "the output is empty")
        phrase = ai_identity(output)
        if phrase is not None:
            raise RecordError("ai_identity", f"the output states an AI identity ({phrase!r})")
        number = where.split(" ", 1)[-1]
        yield GENERAL_INSTRUCTION.make(
            f"{rel}#{number}", instruction=instruction, input=given, output=output
        )
