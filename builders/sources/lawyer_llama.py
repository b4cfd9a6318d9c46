"""Adapter for lawyer-llama's instruction data (qa/lawyer-llama, AndrewZhe/lawyer-llama).

Six files, three nestings, all → kind ``consultation`` (``question``, ``answer``, ``laws``,
``history``, ``topic``). Every answer was written by ChatGPT or GPT-4 and not verified upstream.

| file | shape | topic |
| --- | --- | --- |
| ``legal_advice.json`` | list of one-element lists ``[[{instruction, input, output}]]`` | consultation |
| ``judical_examination.json`` | same nesting; a JEC-QA stem + one option + 请给出详细的推理过程 | exam_reasoning |
| ``fakao_gpt4.json`` | ``{input, output, type}``; ``gainian`` / ``qingjing`` | concept / exam_reasoning |
| ``zixun_gpt4.json``, ``legal_counsel_with_article_v2.json`` | ``{query, laws, response}`` | consultation |
| ``legal_counsel_multi_turn_with_article_v2.json`` | ``{query, laws, history: ["[客户] ...", "[律师] ..."]}`` | consultation |

Decisions:

- The exam files are kept as ``consultation`` records (a question answered in prose with legal
  reasoning), not ``exam``: they have no options or gold letters. Their topic tells them apart.
  judical_examination items get the split group of their JEC-QA stem (:func:`exam_group`), so a
  stem asked in both sources lands in one split.
- Answers with placeholder article numbers (``《民事诉讼法》第X条``: 1,031 of the 2,000 exam items,
  111 consultations) are rejected (``placeholder_article``): they teach the model to invent
  citations.
- Referral boilerplate at the end of an answer is stripped (:func:`strip_referral`): the last one
  or two sentences when they only send the user to a lawyer (they contain 律师 and 咨询, 请教 or
  寻求, and are at most 45 characters: longer ones carry advice), e.g. "作为律师，我建议您及时咨询专业律师，以便更好地保护
  自己的权益。" About a quarter of the answers end this way.
- Multi-turn history: ``[客户]``/``[律师]`` prefixes become user/assistant turns; consecutive turns
  of one speaker are merged, a trailing client turn (no answer) is dropped; the last client turn is
  ``question``, the last lawyer turn ``answer``, the turns before it ``history``. A turn without a
  known prefix is ``bad_history``.
- History turns are also kept as ``_history_text`` (a list of strings, in ``text_fields``), because
  the normalize step handles strings and lists of strings only; tasks read the normalized, masked
  contents from there (:func:`history_of` in ``builders/tasks/consultation.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..records import CONSULTATION
from . import register_adapter
from .common import FileAdapter, FileError, RecordError, load_json, require, text_of
from .exam_items import exam_group

_PLACEHOLDER = re.compile(r"第[XxＸ×＊*某]+条")
_LAST_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?\s*$")
_REFERRAL_VERB = re.compile(r"咨询|请教|寻求")
_ROLE = {"[客户]": "user", "[律师]": "assistant"}
FAKAO_TOPICS = {"gainian": "concept", "qingjing": "exam_reasoning"}


def strip_referral(text: str, max_sentences: int = 2, max_chars: int = 45) -> str:
    """``text`` without trailing sentences that only refer the user to a lawyer."""
    out = text.rstrip()
    for _ in range(max_sentences):
        m = _LAST_SENTENCE.search(out)
        if m is None:
            break
        sentence = m.group().strip()
        if (
            "律师" not in sentence
            or not _REFERRAL_VERB.search(sentence)
            or len(sentence) > max_chars
            or not out[: m.start()].strip()
        ):
            break
        out = out[: m.start()].rstrip()
    return out


def check_answer(text: str) -> str:
    """The answer with referral boilerplate stripped; placeholder citations are rejected."""
    if _PLACEHOLDER.search(text):
        raise RecordError("placeholder_article", "the answer cites a placeholder article (第X条)")
    return strip_referral(text)


def parse_history(turns: Any) -> list[dict[str, str]]:
    """``["[客户] ...", "[律师] ..."]`` → alternating turns, user first, assistant last."""
    if not isinstance(turns, list) or not turns:
        raise RecordError("missing_field", "field 'history' is missing or empty")
    out: list[dict[str, str]] = []
    for turn in turns:
        text = str(turn).strip()
        prefix = text[:4]
        if prefix not in _ROLE:
            raise RecordError("bad_history", f"turn without [客户]/[律师] prefix: {text[:30]!r}")
        role, content = _ROLE[prefix], text[4:].strip()
        if not content:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + content
        else:
            out.append({"role": role, "content": content})
    while out and out[-1]["role"] == "user":
        out.pop()
    if len(out) < 2 or out[0]["role"] != "user":
        raise RecordError("bad_history", "the dialogue has no client turn answered by the lawyer")
    return out


def _laws(raw: dict[str, Any]) -> list[str]:
    laws = raw.get("laws") or []
    if not isinstance(laws, list):
        raise RecordError("bad_laws", "field 'laws' is not a list")
    return [str(x).strip() for x in laws if str(x).strip()]


@register_adapter
class LawyerLlamaAdapter(FileAdapter):
    name = "lawyer_llama"
    patterns = ("data/*.json",)

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        data, _repaired = load_json(path)
        if not isinstance(data, list):
            raise FileError("bad_json", "expected a JSON array")
        for i, item in enumerate(data):
            if isinstance(item, list):  # legal_advice / judical_examination: [[{...}], ...]
                if len(item) != 1:
                    yield f"item {i}", RecordError("bad_nesting", f"item {i}: {len(item)} items")
                    continue
                item = item[0]
            yield f"item {i}", item

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        stem = Path(rel).stem
        source_id = f"{stem}#{where.removeprefix('item ')}"
        if stem in ("legal_advice", "judical_examination"):
            require(raw, "instruction", "output")
            question = text_of(raw, "instruction")
            extra = str(raw.get("input") or "").strip()
            if extra:
                question = f"{question}\n{extra}"
            rec = CONSULTATION.make(
                source_id,
                question=question,
                answer=check_answer(text_of(raw, "output")),
                topic="consultation" if stem == "legal_advice" else "exam_reasoning",
            )
            if stem == "judical_examination":
                rec["_group"] = exam_group(question.split("\n", 1)[0])
            yield rec
        elif stem == "fakao_gpt4":
            require(raw, "input", "output", "type")
            if raw["type"] not in FAKAO_TOPICS:
                raise RecordError("bad_type", f"type {raw['type']!r} is not gainian/qingjing")
            yield CONSULTATION.make(
                source_id,
                question=text_of(raw, "input"),
                answer=check_answer(text_of(raw, "output")),
                topic=FAKAO_TOPICS[raw["type"]],
            )
        elif "history" in raw:
            require(raw, "query", "history")
            turns = parse_history(raw["history"])
            for t in turns:
                if t["role"] == "assistant":
                    t["content"] = check_answer(t["content"])
            yield CONSULTATION.make(
                source_id,
                question=turns[-2]["content"],
                answer=turns[-1]["content"],
                topic="consultation",
                laws=_laws(raw),
                history=turns[:-2],
            )
        else:
            require(raw, "query", "response")
            yield CONSULTATION.make(
                source_id,
                question=text_of(raw, "query"),
                answer=check_answer(text_of(raw, "response")),
                topic="consultation",
                laws=_laws(raw),
            )
