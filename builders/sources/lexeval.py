"""Adapter for the LexEval benchmark (exam/LexEval, CSHaitao/LexEval).

``data/i_j.json`` is JSONL ``{"instruction", "input", "answer"}``; the file name is the LexEval
task id (``1_1`` concepts ... ``6_3`` ethics), kept as ``task_id``. Options of the choice tasks
are inlined in ``input`` and ``answer`` is the letters; 5_3 (translation) and 5_4 (essays) have
free-text answers. An item with an empty answer (three in 3_5) is rejected (``missing_field``).

Recipe decision: ``held_out: exclude``. LexEval re-packages JEC-QA and CAIL2018 items that the
train data already holds (1,283 JEC-QA statements, 34 CAIL2018 facts): as a test split it would
leak, as train data it is evaluation material. Everything is still parsed, so the read counts and
the ``held_out_excluded`` drops show in the stats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..records import BENCHMARK_ITEM
from . import register_adapter
from .common import FileAdapter, RecordError, require, text_of

_TASK_FILE = re.compile(r"^(\d+_\d+)\.json$")


@register_adapter
class LexEvalAdapter(FileAdapter):
    name = "lexeval"
    patterns = ("data/*.json",)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        m = _TASK_FILE.match(Path(rel).name)
        if m is None:
            raise RecordError("unknown_task", f"{rel}: file name is not a LexEval task id (i_j)")
        require(raw, "instruction", "input")
        task_id = m.group(1)
        yield BENCHMARK_ITEM.make(
            f"{task_id}#{where.removeprefix('line ')}",
            task_id=task_id,
            instruction=text_of(raw, "instruction"),
            input=text_of(raw, "input"),
            answer=text_of(raw, "answer"),
        )
