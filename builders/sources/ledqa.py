"""LeDQA: element questions (是/否/不知道, a few spans) over 100 private-lending judgments.

Files: ``CaseDocs.json`` (case id → document text), ``QuestionSchema.json`` (10 categories →
``{中文问题: English gloss}``, 48 questions in all) and ``answer/<id>.json`` (``[{"question": N,
"answer": "是"}, …]``, N numbering the schema's questions in file order from 1). One unit per
answer file, one ``element_qa`` record per answer; the documents and the schema are loaded once
per process (:func:`load_case_docs`). ``Relevant sentences/`` is evidence for the answers, not
needed to make questions, and is not read.

Rejects: an answer file for a case missing from ``CaseDocs.json`` (``missing_document``), a
question number outside the schema (``unknown_question``), an empty answer (``missing_field``).

Real names: the documents name the parties bare, without the role words the ``mask_pii`` step
looks for (``2019年3月28日，李林向刘钢出具《借款借据》``), so that step alone finds almost none
of them. :func:`party_names` finds them the way they are written here: a surname plus one or two
characters, standing between punctuation or the linking words of these documents (向/与/和/、…),
at least twice in the document. The adapter lists them in the ``parties`` field as
``当事人李林，当事人刘钢。``; ``mask_pii`` (with the recipe's ``real_names: true``) then finds them
there through its role word and masks every mention in the record, so masking stays the step's
job, is counted in its stats and follows the recipe's switch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from ..pii import _ANON, _GIVEN_NOT_NAME, _NOT_NAMES, _SURNAME
from ..records import ELEMENT_QUESTION
from . import register_adapter
from .common import FileAdapter, FileError, RecordError, load_json, text_of

_BEFORE = r"(?:(?<=^)|(?<=[，,。；;：:、（(）)\s“”\"《》】与和向由及将对给被同]))"
_AFTER = (
    r"(?=[，,、。；;：:（(）)\s”]|向|与|和|及|于|出具|签|借|还|承认|称|系|的|为|在|等|共|已|未|将"
    r"|主张|认为|提供|支付|收到|转账|夫妻|作为|个人|本人|同意|确认|$)"
)
_PARTY = re.compile(rf"{_BEFORE}(?P<name>{_SURNAME}[\u4e00-\u9fff]{{1,2}}?){_AFTER}")
#: words of these documents the pattern takes for names (checked on all 100 documents)
NOT_PARTIES = frozenset(
    "利息 盖章 关于 但认 项下 向尾号 信用卡 向出 银行 成立 成立后 向对方 公证处 公司 金额 付义务 "
    "尚欠 支付宝 关联性 但其 但是 房屋 居至今 利率 应当 全部 车辆 时间 于是 于当日 原告 原审".split()
)


def party_names(text: str) -> set[str]:
    """Names of people in a LeDQA document (see the module docstring for the rule)."""
    counts = Counter(m.group("name") for m in _PARTY.finditer(text))
    names = {
        n
        for n, c in counts.items()
        if c >= 2
        and not _ANON.search(n)
        and n[-1] not in _GIVEN_NOT_NAME
        and n not in _NOT_NAMES
        and n not in NOT_PARTIES
    }
    # 王帆 and 王帆均 (王帆 followed by 均): keep the shorter name only.
    return {n for n in names if not (len(n) == 3 and n[:2] in names)}


def parties_line(names: set[str]) -> str:
    """The ``parties`` field: every name after the role word 当事人, which ``mask_pii`` knows."""
    return "".join(f"当事人{n}，" for n in sorted(names)).removesuffix("，") + (
        "。" if names else ""
    )


@lru_cache(maxsize=4)
def load_case_docs(root: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(case id → document, [(category, question)] in schema order), once per process."""
    base = Path(root)
    docs, _ = load_json(base / "CaseDocs.json")
    schema, _ = load_json(base / "QuestionSchema.json")
    if not isinstance(docs, dict) or not isinstance(schema, dict):
        raise FileError("bad_format", "CaseDocs.json or QuestionSchema.json is not a JSON object")
    questions = [
        (category.split(" - ")[0].strip(), q.strip())
        for category, qs in schema.items()
        if isinstance(qs, dict)
        for q in qs
    ]
    return {str(k): v for k, v in docs.items() if isinstance(v, str)}, questions


@lru_cache(maxsize=256)
def _names_of(document: str) -> frozenset[str]:
    return frozenset(party_names(document))


@register_adapter
class LeDQA(FileAdapter):
    name = "ledqa"
    patterns = ("answer/*.json",)
    _docs: ClassVar[dict[str, str]] = {}

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        docs, questions = load_case_docs(str(path.parent.parent))
        self._docs = docs  # parse() looks documents up here: raw records stay small in rejects
        case_id = path.stem
        answers, _ = load_json(path)
        if not isinstance(answers, list):
            raise FileError("bad_format", "an answer file must hold a JSON list")
        for n, item in enumerate(answers):
            raw: dict[str, Any] = {"case_id": case_id, "item": item}
            if isinstance(item, dict) and isinstance(item.get("question"), int):
                q = item["question"]
                if 1 <= q <= len(questions):
                    raw["category"], raw["question_text"] = questions[q - 1]
            yield f"answer[{n}]", raw

    def parse(self, raw: dict[str, Any], rel: str, where: str) -> Iterable[dict[str, Any]]:
        case_id, item = raw["case_id"], raw["item"]
        document = self._docs.get(case_id)
        if not isinstance(document, str) or not document.strip():
            raise RecordError("missing_document", f"case {case_id} is not in CaseDocs.json")
        if not isinstance(item, dict):
            raise RecordError("not_an_object", "an answer must be an object")
        if "question_text" not in raw:
            raise RecordError("unknown_question", f"question {item.get('question')!r} unknown")
        answer = item.get("answer")
        answer = text_of(item, "answer") if isinstance(answer, str) else text_of({}, "answer")
        document = document.strip()
        yield ELEMENT_QUESTION.make(
            f"{case_id}/q{item['question']}",
            doc_id=case_id,
            document=document,
            question=raw["question_text"],
            answer=answer,
            category=raw["category"],
            parties=parties_line(set(_names_of(document))),
        )
