"""Adapter for the DISC-Law-Eval benchmark (exam/DISC-Law-Eval, FudanDISC/DISC-LawLLM).

Files are found anywhere under the source folder (upstream keeps them in ``eval/datasets/``):

- objective ``mcq_{sing,mult}_<exam>.csv`` with the header ``input,output,A,B,C,D,source,
  multichoice``: ``input`` ends with a stray newline (stripped), ``output`` is the letters
  (``ABD``) → kind ``exam``. The file's exam code gives the subject; whether an item is a case
  question is guessed from its stem (:func:`exam_type_of`), as the benchmark does not say.
- the few-shot prompt examples ``few_shot/mcq_*_examples.csv`` (``input,output``: options inlined
  as ``A.`` lines, ``output`` the chosen option lines ``B.裁定不予受理``) are parsed too, as exam
  items: they are real exam questions not repeated in the objective files, and the recipe holds
  the whole source out (``held_out: test``), so they can only reach the test split.
- ``qa_short_answer.json`` (300 human-written reference answers: case analysis, consultation,
  concepts) → kind ``subjective`` with ``points`` ``""`` (the benchmark has no rubric).

The whole source is an evaluation benchmark: the recipe sets ``held_out: test``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..records import SUBJECTIVE_QUESTION
from . import register_adapter
from .common import FileAdapter, FileError, RecordError, iter_csv, load_json, require, text_of
from .exam_items import answer_letters, clean_options, split_inline_options, unlabelled_exam_item

#: The exam code in a file name (mcq_sing_nje.csv) → the subject recorded on its items.
SUBJECTS = {
    "nje": "国家统一法律职业资格考试",
    "cpa": "注册会计师考试",
    "pae": "专利代理师考试",
    "ungee": "法律硕士研究生入学考试",
    "pfe": "公务员与事业单位考试",
    "lbk": "法律知识",
}
_FILE = re.compile(r"mcq_(sing|mult)_([a-z]+)\.csv$")
_CHOSEN = re.compile(r"^\s*([A-H])\s*[．.、:：]")


@register_adapter
class DiscLawEvalAdapter(FileAdapter):
    name = "disc_law_eval"
    patterns = ("**/mcq_*.csv", "**/qa_short_answer.json")

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        if path.suffix == ".json":
            data, _repaired = load_json(path)
            if not isinstance(data, list):
                raise FileError("bad_json", "expected a JSON array of {input, output, id}")
            for i, item in enumerate(data):
                yield f"item {i}", item
        else:
            yield from iter_csv(path)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        if rel.endswith(".json"):
            yield self._subjective(raw, where)
        elif "examples" in Path(rel).name:
            yield self._few_shot(raw, rel, where)
        else:
            yield self._objective(raw, rel, where)

    def _objective(self, raw: dict[str, Any], rel: str, where: str) -> dict[str, Any]:
        require(raw, "input", "output")
        options = clean_options({k: raw.get(k, "") for k in "ABCD"})
        letters = answer_letters(raw["output"].strip(), options)
        m = _FILE.search(rel)
        single = (m.group(1) == "sing") if m else raw.get("multichoice") == "False"
        if single and len(letters) != 1:
            raise RecordError("answer_count", f"single-choice item with answer {raw['output']!r}")
        subject = SUBJECTS.get(m.group(2), "") if m else ""
        question = text_of(raw, "input")
        return unlabelled_exam_item(
            f"{Path(rel).stem}#{where}", question, options, letters, subject
        )

    def _few_shot(self, raw: dict[str, Any], rel: str, where: str) -> dict[str, Any]:
        require(raw, "input", "output")
        question, options, _ = split_inline_options(raw["input"])
        chosen = [m.group(1) for line in raw["output"].split("\n") if (m := _CHOSEN.match(line))]
        if not chosen:
            raise RecordError("answer_not_mapped", f"no option letter in {raw['output'][:40]!r}")
        return unlabelled_exam_item(f"{Path(rel).stem}#{where}", question, options, chosen)

    def _subjective(self, raw: Any, where: str) -> dict[str, Any]:
        require(raw, "input", "output")
        return SUBJECTIVE_QUESTION.make(
            f"qa_short_answer#{raw.get('id', where)}",
            question=text_of(raw, "input"),
            answer=text_of(raw, "output"),
        )
