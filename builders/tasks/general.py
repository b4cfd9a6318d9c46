"""General-domain instruction data passed through as queries (``instruction`` records).

The general sources (COIG-CQIA, translated Alpaca, ruozhiba, the LLaMA-Factory demo) are mixed into
stage 1 the way InternLM-Law and DISC-Law-SFT mix general data in: user = instruction (and the
input after a blank line), assistant = output, unchanged. There is no answer format to follow, so
the task is ``structured = False`` (stage 2 never takes it) and has a single phrasing: the
instruction is the question. Each record is its own group.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..pipeline.base import Context, Record, TaskGenerator, register_step
from ..records import GENERAL_INSTRUCTION, kinds


@register_step
class GeneralInstruction(TaskGenerator):
    """An Alpaca-form record as one single-turn query (domain ``general``)."""

    name = "general_instruction"
    applies_to = kinds(GENERAL_INSTRUCTION)
    level = "general"
    domain = "general"
    structured = "never"

    def group(self, record: Record) -> str:
        return f"general:{record['source']}:{record['source_id']}"

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        user = record["instruction"]
        if record["input"]:
            user += "\n\n" + record["input"]
        yield self.query(record, user, record["output"])
