"""Pipeline building blocks: steps that stream batches of records, and the per-shard context.

A record is a dict with a ``kind`` ("article", "query", ...), declared in ``builders/records.py``.
A step handles the kinds it declares in ``applies_to`` (``kinds(CASE)``, ``QUERIES``,
``SOURCE_RECORDS``) and passes every other record through untouched, so source records and the
queries made from them flow through one chain. The runner, not the steps, owns counting, rejects
and side outputs: a filter only answers keep, or drop with a reason (datatrove's contract).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from ..records import QUERIES
from ..schema import LEVELS, make_query, stable_hash

Record = dict[str, Any]
Batch = list[Record]


class StepParams(BaseModel):
    """Parameters of a step, validated from the recipe; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Stats:
    """Per-step counts (in, out, dropped per reason) and free counters, mergeable across shards."""

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, Counter[str]] = defaultdict(Counter)

    def step(self, name: str) -> dict[str, Any]:
        return self.steps.setdefault(name, {"in": 0, "out": 0, "dropped": {}})

    def drop(self, name: str, reason: str, n: int = 1) -> None:
        dropped = self.step(name)["dropped"]
        dropped[reason] = dropped.get(reason, 0) + n

    def count(self, group: str, key: str, n: int = 1) -> None:
        self.counters[group][key] += n

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": {k: self.steps[k] for k in self.steps},
            "counters": {g: dict(sorted(c.items())) for g, c in sorted(self.counters.items())},
        }

    def merge(self, other: dict[str, Any]) -> None:
        for name, s in other.get("steps", {}).items():
            mine = self.step(name)
            mine["in"] += s["in"]
            mine["out"] += s["out"]
            for reason, n in s["dropped"].items():
                self.drop(name, reason, n)
        for group, c in other.get("counters", {}).items():
            self.counters[group].update(c)


class Context:
    """What a step may touch while a shard runs: stats, rejects, side outputs, problems."""

    def __init__(self, shard: int, rejects_path: Path | None = None) -> None:
        self.shard = shard
        self.stats = Stats()
        self.side_outputs: dict[str, list[Record]] = defaultdict(list)
        #: the statute key index citations are checked against (None: nothing to check against)
        self.catalog: Any = None
        #: the benchmark/evaluation index queries are checked against (None: no check)
        self.eval_index: Any = None
        #: the build's output folder (steps that keep state beside the release, e.g. the rewrite
        #: cache, put it under here); None outside a build
        self.out: Path | None = None
        #: worker processes of the build (a step sharing a global limit divides it by this)
        self.workers: int = 1
        #: the build's sources folder and recipe (steps that read sources themselves, e.g. the
        #: rewrite step's statute text store); None outside a build
        self.sources: Path | None = None
        self.recipe: Any = None
        self._rejects_path = rejects_path
        self._rejects = None

    def reject(self, step: str, reason: str, record: Record | None = None, **extra: Any) -> None:
        """Count a drop and keep the dropped record with its reason."""
        self.stats.drop(step, reason)
        if self._rejects_path is None:
            return
        if self._rejects is None:
            self._rejects_path.parent.mkdir(parents=True, exist_ok=True)
            self._rejects = open(self._rejects_path, "w", encoding="utf-8")  # noqa: SIM115
        row = {"step": step, "reason": reason, **extra}
        if record is not None:
            row["record"] = {k: v for k, v in record.items() if not k.startswith("_")}
        self._rejects.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")

    def problem(self, source: str, file: str, reason: str, message: str) -> None:
        """A source file that could not be used (fully or partly): reported, never silent."""
        self.reject("read", reason, None, source=source, file=file, message=message)

    def emit(self, sink: str, record: Record) -> None:
        """Send a record to a side output (e.g. the statute index) without changing the stream."""
        self.side_outputs[sink].append(record)

    def close(self) -> None:
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None


class Step:
    """A unit of work over a stream of batches. Subclasses set ``name`` and ``applies_to``."""

    name: ClassVar[str] = ""
    #: the record kinds the step works on (``records.kinds(...)``); other records pass through
    applies_to: ClassVar[frozenset[str]] = QUERIES
    Params: ClassVar[type[StepParams]] = StepParams
    #: True for steps that pass their input on beside what they make (task generators);
    #: then ``out`` counts only what the step made.
    passes_input: ClassVar[bool] = False
    #: what the build must prepare for the step, beyond its records (the executor asks the
    #: recipe, ``Recipe.needs``, never for a step by name): ``catalog`` (``ctx.catalog``, the
    #: statute key index), ``eval_index`` (``ctx.eval_index``, built with this step's parameters)
    needs: ClassVar[frozenset[str]] = frozenset()
    #: what the step gives the rest of the build: ``repeal_rules`` (:meth:`repeal_rules`, the
    #: laws repealed as a whole), ``citations`` (answers' citations resolved and final: steps
    #: that change answers run before it)
    provides: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: StepParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def environment(self) -> frozenset[str]:
        """The environment variables the step reads (a worker that does not inherit this
        process's environment, e.g. on a remote Ray cluster, is given them)."""
        return frozenset()

    def repeal_rules(self) -> list[tuple[str, str, str]]:
        """(title pattern, repealed on, repealed by) of the laws repealed as a whole, for a step
        that ``provides`` ``repeal_rules``."""
        return []

    def handles(self, record: Record) -> bool:
        """Whether this step works on ``record`` (its kind is in ``applies_to`` and
        :meth:`selects` it); the others pass through untouched."""
        return record["kind"] in self.applies_to and self.selects(record)

    def selects(self, record: Record) -> bool:
        """A narrower choice among the records of the step's kinds (default: all of them)."""
        return True

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        raise NotImplementedError

    def run(self, batches: Iterable[Batch], ctx: Context) -> Iterator[Batch]:
        stats = ctx.stats.step(self.name)
        for batch in batches:
            out: Batch = []
            for record in batch:
                if not self.handles(record):
                    out.append(record)
                    continue
                stats["in"] += 1
                before = len(out)
                out.extend(self.process(record, ctx))
                stats["out"] += len(out) - before - self.passes_input
            if out:
                yield out


class Mapper(Step):
    """One record in, one record out."""

    def map(self, record: Record, ctx: Context) -> Record:
        raise NotImplementedError

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        return (self.map(record, ctx),)


class Filter(Step):
    """Answers keep (True) or drop with a reason (a string); dropped records go to the rejects."""

    def keep(self, record: Record) -> bool | str:
        raise NotImplementedError

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        verdict = self.keep(record)
        if verdict is True:
            return (record,)
        ctx.reject(self.name, str(verdict), record)
        return ()


#: how a task's answers end: ``always`` in its ``answer_line``; ``per_query`` when the generator
#: says so for each query (``query(..., structured=...)``); ``never`` (free text)
Structured = Literal["always", "per_query", "never"]


def pick(options: Sequence[str], *key: str) -> str:
    """One of ``options``, chosen by a stable hash of ``key``: a record asked by a task always
    gets the same phrasing, and the phrasings spread evenly over a corpus."""
    return options[stable_hash("\x1f".join(key)) % len(options)]


def final_line(line: str) -> str:
    """The regular expression of an answer whose last line is ``line`` (a pattern)."""
    return rf"(?:\A|\n){line}\Z"


class TaskGenerator(Step):
    """Makes queries from a source record and passes the source record on for the next generator.

    A task declares here, once, what it promises about every query it makes; the validators, the
    card and the task-contract test read these declarations from the registry (:data:`STEPS`):

    - ``level`` (LEVELS of ``builders/schema.py``) and ``domain``;
    - ``lawbench``: the LawBench tasks it trains for (``("3-3",)``), empty for none;
    - ``answer_line``: the regular expression the end of a structured answer matches (its last
      line, :func:`final_line`), e.g. ``罪名：…`` or ``正确答案：[A-H]+``; None for free text;
    - ``structured``: whether answers end in that line (:data:`Structured`); stage 2 takes only
      structured answers;
    - ``quotes_statute``: the answers quote statute text (the ``citations`` step never rewrites
      references inside it; near-duplicate rules treat two such queries as distinct);
    - ``answer_chars``: (min, max) characters of the assistant turns, where the task's answers
      are short enough to bound (a long one means a generator leaked text into its answer line).

    A generator is then its ``phrasings`` and its ``generate`` logic: :meth:`phrase` picks a
    phrasing by a stable hash of the task and :meth:`phrase_key`, :meth:`query` makes the query
    with the task's name, level and domain, the record's provenance and :meth:`group`. A query
    inherits its source record's held-out policy, so a query made from evaluation material can
    never reach a train split.
    """

    level: ClassVar[str] = ""
    domain: ClassVar[str] = "legal"
    lawbench: ClassVar[tuple[str, ...]] = ()
    answer_line: ClassVar[str | None] = None
    structured: ClassVar[Structured] = "always"
    quotes_statute: ClassVar[bool] = False
    answer_chars: ClassVar[tuple[int, int] | None] = None
    phrasings: ClassVar[tuple[str, ...]] = ()
    passes_input = True

    @classmethod
    def levels(cls) -> tuple[str, ...]:
        """Every level a query of the task may have: ``level``, unless the task takes the level
        of each item (benchmark items)."""
        return (cls.level,)

    def generate(self, record: Record, ctx: Context) -> Iterable[Record]:
        raise NotImplementedError

    def group(self, record: Record) -> str:
        """The split group of the queries made from ``record`` (all of them land in one split)."""
        raise NotImplementedError

    def phrase_key(self, record: Record) -> tuple[str, ...]:
        """What the phrasing of a query about ``record`` is picked by (besides the task)."""
        return (record["source"], record["source_id"])

    def phrasings_for(self, record: Record) -> tuple[str, ...]:
        """The phrasings a query about ``record`` is asked in."""
        return self.phrasings

    def phrase(self, record: Record, key: tuple[str, ...] | None = None, **fields: str) -> str:
        """The question about ``record``: a phrasing picked by a stable hash of the task and
        ``key`` (default :meth:`phrase_key`; a record that makes several queries gives each its
        own), filled with ``fields``."""
        key = self.phrase_key(record) if key is None else key
        return pick(self.phrasings_for(record), self.name, *key).format(**fields)

    def query(
        self,
        record: Record,
        user: str,
        answer: str,
        *,
        group: str | None = None,
        level: str | None = None,
        citations: list[dict[str, Any]] | None = None,
        history: list[dict[str, str]] | None = None,
        structured: bool | None = None,
    ) -> Record:
        """A query of this task made from ``record``: ``history`` holds earlier turns,
        ``structured`` says per query whether the answer ends in ``answer_line`` (tasks that are
        ``per_query`` only); ``group`` and ``level`` default to the task's."""
        q = make_query(
            user=user,
            answer=answer,
            task=self.name,
            level=self.level if level is None else level,
            domain=self.domain,
            source=record["source"],
            source_id=record["source_id"],
            license=record["license"],
            group=self.group(record) if group is None else group,
            citations=citations,
            history=history,
        )
        if structured is not None:
            q["_structured"] = structured
        return q

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        made = list(self.generate(record, ctx))
        for q in made:
            if self.structured != "per_query":
                q["_structured"] = self.structured == "always"
            elif "_structured" not in q:
                raise TypeError(f"{self.name}: a query does not say whether it is structured")
            if self.quotes_statute:
                q["_quoted_statute"] = True
            q["_held_out"] = record.get("_held_out", "none")
            ctx.stats.count("tasks", q["task"])
        return [record, *made]


def contract_problems(cls: type[TaskGenerator]) -> list[str]:
    """What is wrong with a task's declarations (empty: nothing)."""
    problems = []
    for level in cls.levels():
        if level not in LEVELS:
            problems.append(f"level {level!r} is not one of {', '.join(LEVELS)}")
    if (cls.answer_line is None) != (cls.structured == "never"):
        problems.append("answer_line must be given exactly when answers are structured")
    if cls.answer_line is not None:
        try:
            re.compile(cls.answer_line)
        except re.error as exc:
            problems.append(f"answer_line is not a regular expression: {exc}")
    if cls.answer_chars is not None and not 0 <= cls.answer_chars[0] <= cls.answer_chars[1]:
        problems.append(f"answer_chars {cls.answer_chars} is not a (min, max) pair")
    return problems


STEPS: dict[str, type[Step]] = {}


def register_step(cls: type[Step]) -> type[Step]:
    """Class decorator: make a step available to recipes under its ``name``; a task generator's
    declarations are checked here, when it is defined."""
    if not cls.name or cls.name in STEPS:
        raise ValueError(f"step name missing or registered twice: {cls.name!r}")
    if issubclass(cls, TaskGenerator):
        problems = contract_problems(cls)
        if problems:
            raise TypeError(f"task {cls.name}: " + "; ".join(problems))
    STEPS[cls.name] = cls
    return cls
