"""The machine-parseable final answer line of every task, as each task generator declares it.

A task generator (``builders/tasks/``) declares its ``answer_line`` (a regular expression),
whether its answers are ``structured`` and whether they quote statute text; this module only
reads those declarations from the step registry and says which pattern holds in which config.
Each pattern is matched with ``re.search`` against the *end* of the last assistant message (the
last :data:`TAIL_CHARS` characters, see :func:`answer_tail`), so every pattern starts at a line
start (``(?:\\A|\\n)``) or at the start of the answer, and ends at ``\\Z``.

Three kinds of task (``TaskGenerator.structured``):

- ``always``: every answer of the task ends in its line. Checked in every config.
- ``per_query``: the generator decides per query (a consultation answer is structured only when
  it cites retrieved articles; a LexEval item only when its answer is letters; a judgment only
  when it has a 罪名 or 刑期 line). Stage 1 holds both forms, so these are checked only in stage
  2, which takes structured answers only (``stage2.require_structured``).
- ``never``: free text (``general_instruction``, ``exam_subjective``): no pattern, and never in
  stage 2.
"""

from __future__ import annotations

import re

from lawset.builders.steps import task_generators

#: how many trailing characters of an answer the format check looks at; longer final lines
#: (a 法条 line naming dozens of articles) are still matched because patterns may start at \A
TAIL_CHARS = 600


def structured_tasks() -> frozenset[str]:
    """Every task whose answers (all, or those it marks) end in its declared line."""
    return frozenset(n for n, cls in task_generators().items() if cls.structured != "never")


def always_structured_tasks() -> frozenset[str]:
    """Every task whose every answer ends in its declared line (checked in every config)."""
    return frozenset(n for n, cls in task_generators().items() if cls.structured == "always")


def quoted_statute_tasks() -> frozenset[str]:
    """Tasks whose answers quote statute text verbatim: references inside the quoted text keep
    the status the law itself gives them (a quoted article may name a since-repealed law) and are
    never rewritten by the ``citations`` step."""
    return frozenset(n for n, cls in task_generators().items() if cls.quotes_statute)


def answer_format(task: str, config: str) -> str | None:
    """The pattern an answer of ``task`` must match in ``config``, or None (not checked)."""
    cls = task_generators().get(task)
    if cls is None or cls.structured == "never":
        return None
    if cls.structured == "always" or config == "stage2":
        return cls.answer_line
    return None


def answer_tail(answer: str) -> str:
    """The end of an answer the format patterns look at (whitespace at the end stripped)."""
    return answer.rstrip()[-TAIL_CHARS:]


def matches(task: str, config: str, answer: str) -> bool | None:
    """Whether ``answer`` ends in ``task``'s line (None when the task is not checked)."""
    pattern = answer_format(task, config)
    if pattern is None:
        return None
    return re.search(pattern, answer_tail(answer)) is not None
