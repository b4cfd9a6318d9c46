"""The built-in steps a recipe can name (task generators live in ``builders/tasks/``).

Importing this module registers every built-in step.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from . import tasks  # noqa: F401  (registers every task generator)
from .citations import find_citations, render
from .normalize import cjk_ratio, normalize_text, strings_of
from .pii import find_names, mask_identifiers, mask_names
from .pipeline.base import (
    STEPS,
    Batch,
    Context,
    Filter,
    Mapper,
    Record,
    Step,
    StepParams,
    TaskGenerator,
    register_step,
)
from .records import ARTICLE, QUERIES, SOURCE_RECORDS, kinds
from .rewrite import step as _rewrite_step  # noqa: F401  (registers the rewrite step)
from .schema import set_messages


def task_generators() -> dict[str, type[TaskGenerator]]:
    """Every registered task generator by name: where validators, the card and reports read what a
    task declares (its answer line, level, LawBench tasks, ...)."""
    return {n: cls for n, cls in sorted(STEPS.items()) if issubclass(cls, TaskGenerator)}


class NormalizeParams(StepParams):
    keep_original: bool = Field(
        True, description="keep the pre-normalization article text in text_original when changed"
    )


@register_step
class Normalize(Mapper):
    """OpenCC t2s (non-simplified sources only), NFKC, width and whitespace folding.

    Applies to source records (every kind but ``query``), on the fields the adapter lists in
    ``_text_fields``; lists of strings are normalized item by item.
    """

    name = "normalize"
    applies_to = SOURCE_RECORDS
    Params = NormalizeParams

    def map(self, record: Record, ctx: Context) -> Record:
        simplified = record.get("_simplified", True)
        for key in record.get("_text_fields", ()):
            value = record.get(key)
            record[key] = _apply(value, lambda t: normalize_text(t, simplified))
            if key == "text" and self.params.keep_original and record[key] != value:
                record["text_original"] = value
                ctx.stats.count("normalize", "text_changed")
        return record


@register_step
class StatuteIndex(Step):
    """Writes every article (all versions) to the ``statutes`` config and passes it on."""

    name = "statute_index"
    applies_to = kinds(ARTICLE)

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        ctx.emit("statutes", record)
        ctx.stats.count("statutes", "latest" if record["is_latest"] else "superseded")
        return (record,)


@register_step
class LatestVersion(Filter):
    """Only the latest version of a law is taught: older versions stay in the index only."""

    name = "latest_version"
    applies_to = kinds(ARTICLE)

    def keep(self, record: Record) -> bool | str:
        return True if record["is_latest"] else "superseded_version"


class RepealedLaw(StepParams):
    pattern: str = Field(description="regular expression searched in the law title")
    repealed_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
    repealed_by: str = Field(description="what repealed it, e.g. 中华人民共和国民法典")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class MarkRepealedParams(StepParams):
    laws: list[RepealedLaw] = Field(default_factory=list)


@register_step
class MarkRepealed(Mapper):
    """Marks articles of laws repealed as a whole (``repealed_on``/``repealed_by``).

    The sources keep repealed laws (LawRefBook still has the 合同法 interpretations the Civil
    Code made void); the statute index keeps them, marked, so citations of them can be caught.
    """

    name = "mark_repealed"
    applies_to = kinds(ARTICLE)
    Params = MarkRepealedParams
    provides = frozenset({"repeal_rules"})

    def __init__(self, params: StepParams | None = None) -> None:
        super().__init__(params)
        self._rules = [(re.compile(r.pattern), r) for r in self.params.laws]

    def repeal_rules(self) -> list[tuple[str, str, str]]:
        """The recipe's repealed laws, for the statute catalog (citations of them are caught)."""
        return [(r.pattern, r.repealed_on, r.repealed_by) for r in self.params.laws]

    def map(self, record: Record, ctx: Context) -> Record:
        for rx, rule in self._rules:
            if rx.search(record["law"]):
                record["repealed_on"], record["repealed_by"] = rule.repealed_on, rule.repealed_by
                break
        return record


@register_step
class InForce(Filter):
    """Repealed law is never taught as current: its articles make no task."""

    name = "in_force"
    applies_to = kinds(ARTICLE)

    def keep(self, record: Record) -> bool | str:
        return "repealed_law" if record.get("repealed_on") else True


_DELETED = re.compile(r"^[（(【\[]?(删除|删去|已删除|废止|已废止)[）)】\]]?[。.]?$")


class ArticleContentParams(StepParams):
    min_chars: int = Field(4, ge=0, description="articles shorter than this make no task")


@register_step
class ArticleContent(Filter):
    """Articles with no usable text (empty, or a deletion marker such as （删除）) make no task."""

    name = "article_content"
    applies_to = kinds(ARTICLE)
    Params = ArticleContentParams

    def keep(self, record: Record) -> bool | str:
        text = record["text"].strip()
        if not text:
            return "empty_article"
        if _DELETED.match(text):
            return "deleted_article"
        if len(text) < self.params.min_chars:
            return "too_short"
        return True


@register_step
class QualityScores(Mapper):
    """Stores the scores later filters decide on (NeMo Curator's score/decide split)."""

    name = "quality_scores"
    applies_to = QUERIES

    def map(self, record: Record, ctx: Context) -> Record:
        user = "".join(m["content"] for m in record["messages"] if m["role"] == "user")
        answer = "".join(m["content"] for m in record["messages"] if m["role"] == "assistant")
        record["quality"] = {
            "user_chars": len(user),
            "answer_chars": len(answer),
            "cjk_ratio": round(cjk_ratio(answer), 4),
        }
        return record


class TextLengthParams(StepParams):
    min_user_chars: int = Field(4, ge=0)
    max_user_chars: int = Field(8000, ge=1)
    min_answer_chars: int = Field(2, ge=0)
    max_answer_chars: int = Field(8000, ge=1)


@register_step
class TextLength(Filter):
    """Drops queries whose user turn or answer is out of bounds (needs ``quality_scores``), and
    queries holding U+FFFD (text broken by a bad decoding upstream: ``replacement_char``)."""

    name = "text_length"
    applies_to = QUERIES
    Params = TextLengthParams

    def keep(self, record: Record) -> bool | str:
        q, p = record["quality"], self.params
        if any("\ufffd" in m["content"] for m in record["messages"]):
            return "replacement_char"  # broken encoding upstream: the text is not what was meant
        if q["user_chars"] < p.min_user_chars:
            return "user_too_short"
        if q["user_chars"] > p.max_user_chars:
            return "user_too_long"
        if q["answer_chars"] < p.min_answer_chars:
            return "answer_too_short"
        if q["answer_chars"] > p.max_answer_chars:
            return "answer_too_long"
        return True


class CjkRatioParams(StepParams):
    min_ratio: float = Field(0.3, ge=0, le=1)


@register_step
class CjkRatio(Filter):
    """Drops legal queries whose answer is mostly not Chinese (needs ``quality_scores``)."""

    name = "cjk_ratio"
    applies_to = QUERIES
    Params = CjkRatioParams
    domains: ClassVar[tuple[str, ...]] = ("legal",)

    def keep(self, record: Record) -> bool | str:
        if record["domain"] not in self.domains:
            return True
        return True if record["quality"]["cjk_ratio"] >= self.params.min_ratio else "low_cjk_ratio"


@register_step
class HeldOut(Filter):
    """Drops source records of evaluation material the recipe excludes (``held_out: exclude``).

    Material marked ``held_out: test`` passes: its queries go to the test split only.
    """

    name = "held_out"
    applies_to = SOURCE_RECORDS

    def keep(self, record: Record) -> bool | str:
        return "held_out_excluded" if record.get("_held_out") == "exclude" else True


class MaskPiiParams(StepParams):
    identifiers: bool = Field(
        True, description="mask ID card, bank card and phone numbers, e-mail, licence plates"
    )
    names: bool = Field(
        True, description="mask real names (张三 → 张某) in sources marked real_names: true"
    )


@register_step
class MaskPii(Mapper):
    """Masks personal data in every text field of source records (statutes excepted).

    Runs before the task generators, so no query is ever made from unmasked text. Counts per
    kind of personal data go to the stats (``pii``).
    """

    name = "mask_pii"
    #: statute text names no private person: articles are left as the law has them
    applies_to = SOURCE_RECORDS - kinds(ARTICLE)
    Params = MaskPiiParams

    def map(self, record: Record, ctx: Context) -> Record:
        fields = record.get("_text_fields", ())
        counts: Counter[str] = Counter()
        names: set[str] = set()
        if self.params.names and record.get("_real_names"):
            for key in fields:
                for text in strings_of(record.get(key)):
                    names |= find_names(text)
        for key in fields:
            record[key] = _apply(record.get(key), lambda t: self._mask(t, names, counts))
        for kind, n in counts.items():
            ctx.stats.count("pii", kind, n)
        if counts:
            ctx.stats.count("pii", "records_changed")
        return record

    def _mask(self, text: str, names: set[str], counts: Counter[str]) -> str:
        if self.params.identifiers:
            text = mask_identifiers(text, counts)
        return mask_names(text, names, counts) if names else text


def _apply(value: object, fn):  # noqa: ANN001, ANN202 - str | list | dict of str, recursively
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_apply(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _apply(v, fn) for k, v in value.items()}
    return value


class CitationsParams(StepParams):
    repealed: Literal["drop", "flag", "map"] = Field(
        "map",
        description="answers citing repealed law (or an older version of a law): 'drop' the "
        "query; 'flag' keep it with the citation's status; 'map' rewrite the citation to the "
        "provision in force where the mapping is known (text-identical article of the latest "
        "version, or the Civil Code table) and drop the query otherwise",
    )
    unverified: Literal["keep", "drop"] = Field(
        "keep",
        description="answers citing an article the index does not have (often a hallucinated "
        "number): 'keep' them with verified: false (stage 2 never takes them), or 'drop'",
    )


@register_step
class Citations(Step):
    """Finds every article an answer cites, resolves it against the statute index and applies
    the repealed-law policy. Quoted statute text (memorization tasks) is the law's own words: its
    references are recorded and flagged, never rewritten or dropped."""

    name = "citations"
    applies_to = QUERIES
    Params = CitationsParams
    needs = frozenset({"catalog"})
    provides = frozenset({"citations"})

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        catalog = ctx.catalog
        found: dict[tuple[str, int, int], dict] = {}
        placeholders = 0
        for m in record["messages"]:
            if m["role"] != "assistant":
                continue
            cited, n = find_citations(m["content"])
            placeholders += n
            for c in cited:
                if catalog is not None:
                    r = catalog.resolve(c)
                else:
                    r = {
                        "law": c.law,
                        "article": c.article,
                        "sub": c.sub,
                        "version": "",
                        "verified": False,
                        "status": "unknown_law",
                        "cited_as": c.cited_as,
                    }
                found.setdefault((r["law"], r["article"], r["sub"]), r)
        if placeholders:
            record["_placeholder_citations"] = placeholders
            ctx.stats.count("citations", "placeholder_article", placeholders)
        quoted = record.get("_quoted_statute", False)
        out = []
        for c in found.values():
            ctx.stats.count("citations", c["status"])
            if c["status"] in ("repealed", "superseded") and not quoted:
                if self.params.repealed == "drop":
                    ctx.reject(self.name, f"cites_{c['status']}_law", record)
                    return ()
                if self.params.repealed == "map":
                    new = catalog.current_provision(c) if catalog is not None else None
                    if new is None:
                        ctx.reject(self.name, f"cites_{c['status']}_law_unmapped", record)
                        return ()
                    new_text = render(new["law"], new["article"], new["sub"])
                    for m in record["messages"]:
                        if m["role"] == "assistant":
                            m["content"] = m["content"].replace(c["cited_as"], new_text)
                    ctx.stats.count("citations", "mapped_to_current")
                    c = {**new, "cited_as": new_text}
            if not c["verified"] and not quoted and self.params.unverified == "drop":
                ctx.reject(self.name, "cites_unknown_article", record)
                return ()
            out.append(c)
        if catalog is not None and not quoted:
            answers = "".join(m["content"] for m in record["messages"] if m["role"] == "assistant")
            named = catalog.repealed_mentions(answers)
            if named:
                # A repealed law named without a mappable article (根据《合同法》的规定): never
                # taught as current unless the recipe only flags.
                ctx.stats.count("citations", "repealed_law_named")
                if self.params.repealed != "flag":
                    ctx.reject(self.name, "names_repealed_law", record, laws=named)
                    return ()
                record["_names_repealed_law"] = True
        record["citations"] = out
        set_messages(record, record["messages"])  # a mapped citation changed the answer
        return (record,)


class DecontaminateParams(StepParams):
    shingle_chars: int = Field(20, ge=5, description="length of the character shingles compared")
    min_coverage: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a record is contaminated when it holds this share of a benchmark item's "
        "shingles (statute text and boilerplate taken out of the item first)",
    )
    min_shingles: int = Field(
        5, ge=1, description="items with fewer shingles left are too short to check by coverage"
    )
    min_shingles_held_out: int = Field(
        20,
        ge=1,
        description="the same for held-out records and benchmark answers (short judgment "
        "sentences, labels and answer spans are legal formula found in many texts)",
    )
    max_item_share: int = Field(
        20, ge=1, description="shingles found in more items than this are boilerplate, not evidence"
    )
    paraphrase_jaccard: float = Field(
        0.8, gt=0, le=1, description="MinHash (5-gram) Jaccard with an item that counts as a copy"
    )
    paraphrase_min_chars: int = Field(
        50, ge=1, description="items shorter than this take no part in the MinHash check"
    )
    held_out_sources: bool = Field(
        True, description="also check against every record of the sources the recipe holds out"
    )


@register_step
class Decontaminate(Step):
    """Drops queries that copy a LawBench item or a held-out evaluation record (reason
    ``contaminated``, with the benchmark item and the coverage in the rejects). Queries of
    held-out material itself are checked against LawBench only."""

    name = "decontaminate"
    applies_to = QUERIES
    Params = DecontaminateParams
    needs = frozenset({"eval_index"})

    def run(self, batches: Iterable[Batch], ctx: Context) -> Iterator[Batch]:
        stats = ctx.stats.step(self.name)
        index = ctx.eval_index
        for batch in batches:
            todo = [r for r in batch if self.handles(r)]
            stats["in"] += len(todo)
            verdict: dict[int, list[tuple[str, float]]] = {}
            if index is not None and todo:
                for held in (False, True):
                    group = [r for r in todo if (r.get("_held_out") == "test") == held]
                    if not group:
                        continue
                    texts = ["\n".join(m["content"] for m in r["messages"]) for r in group]
                    skip = ("heldout/",) if held else ()
                    for r, hits in zip(group, index.hits_batch(texts, skip), strict=True):
                        if hits:
                            verdict[id(r)] = hits
            out: Batch = []
            for r in batch:
                hits = verdict.get(id(r))
                if not hits:
                    if self.handles(r):
                        stats["out"] += 1
                    out.append(r)
                    continue
                item, score = hits[0]
                bench = item.split("#", 1)[0]
                ctx.reject(
                    self.name,
                    "contaminated",
                    r,
                    benchmark=bench,
                    item=item,
                    score=score,
                    also=[h[0] for h in hits[1:6]],
                )
                ctx.stats.count("contamination", bench)
                ctx.stats.count("contamination_by_source_task", f"{r['source']}/{r['task']}")
                for h in hits:
                    ctx.stats.count("contamination_items", h[0])
            if out:
                yield out
