"""Adapter for liuhuanyong/LawCrimeMining: court documents and crime stories, one text file each.

- ``corpus_lawsuit/*.txt``: 1,000 court documents (500 刑事, 500 民事), mostly SPC 裁定书/判决书/
  决定书, full text with **real names**.
- ``corpus_crime/*.txt``: 1,000 crime stories from case and legal-news sites.

A file is a ``key:value`` header (``category:``, ``title:``, ``publictime:`` in corpus_lawsuit
only) and ``content:``, whose value runs from the rest of that line to the end of the file.

One ``case`` record per file (``source_id`` = the path): ``judgment`` is the whole content,
``title``, ``category`` (刑事/民事/诈骗/...), ``doc_type``, and where the text gives them clearly:

- ``doc_type``: court documents from the title's ending (``…刑事裁定书``, ``…民事再审决定书`` →
  ``民事决定书``; a trailing crawl counter as in ``…民事裁定书16`` is ignored), else from the header
  line of the content (``刑事裁定书``; ``指定管辖决定书`` → the category + ``决定书``); ``""`` when
  neither names one. Crime stories: ``案例``.
- ``fact``: the 经审理查明 / 经复核确认 part up to 本院认为, else ``""``; ``opinion``: the 本院认为 part
  up to the operative words (依照/据此/…如下), else ``""``.
- ``charges``: court documents of category 刑事 only, from the statements that name a defendant's
  charge (``认定被告人X犯A罪、B罪``, ``指控被告人X犯A罪``, ``以被告人X犯A罪``), split into single
  charges (``贩卖、运输毒品罪`` stays one). Prior convictions (``因犯盗窃罪被判处``) are not such
  statements. When a higher court changed a conviction, both charges are listed: the charges the
  case was about, not the final verdict. Crime stories get none (journalistic wording).
- ``articles``/``laws``/``term_months``/``fine`` are left empty: SPC rulings cite mostly procedural
  law, and sentences in these documents are those of lower courts under review.

Crime stories often repeat their lead: a first line that opens like the second is dropped, and so
are consecutive identical lines and ``来源：…作者：…`` bylines.

Rejects: a file under 200 characters (``too_short``, 17 files: empty contents, truncated crawls and
three very short 指定管辖决定书), and a byte-identical copy of an earlier file by sorted path
(``duplicate_content``: corpus_lawsuit 113 and 342), reported by the plan.

Work units: 2,000 small files would be 2,000 units; they are batched by sorted path
(``FILES_PER_UNIT``), which keeps the plan small and the shards even. ``--limit N`` keeps N files
picked by a stable hash of their path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..records import CASE
from ..schema import stable_hash
from . import Problem, SourcePlan, register_adapter
from .common import FileAdapter, RecordError, read_text

if TYPE_CHECKING:
    from ..pipeline.base import Context, Record
    from ..recipe import SourceConfig

HEADER_KEYS = ("category", "title", "publictime", "content")
_TYPES = "裁定|判决|决定|调解|通知"
_KINDS = "刑事附带民事|刑事|民事|行政|国家赔偿|赔偿|执行"
#: title endings: 刘吉明抢劫死刑复核刑事裁定书, 张三犯盗窃罪刑事再审决定书, 某纠纷民事裁定书16
_TITLE_TYPE = re.compile(rf"({_KINDS})[\u4e00-\u9fff]{{0,6}}?({_TYPES})书?\d*$")
#: header lines of a document: 刑事裁定书, 指定管辖决定书, 民事判决书
DOC_HEADER = re.compile(
    rf"^(?:({_KINDS})[\u4e00-\u9fff]{{0,4}}|[\u4e00-\u9fff]{{0,6}})({_TYPES})书$"
)
_FACT_START = re.compile(r"经审理查明|经复核确认|经审理认定")
_OPINION_START = re.compile(r"本院认为")
_OPINION_END = re.compile(r"依照《|依据《|根据《|据此|(?:裁定|判决|决定)如下")
#: statements naming a defendant's charges (not prior convictions: 因犯…罪被判处)
_CHARGED = re.compile(
    r"(?:认定|指控|以)(?:原审)?被告人[^，。；：犯\n]{1,40}?犯(?P<charges>[^，。；：\n]{2,80}?罪)"
    r"(?=[，。；]|一案|判处|被判处|$)"
)
#: a further defendant inside a list of charges (A罪、李四犯B罪); not 隐瞒犯罪所得罪
_NEXT_DEFENDANT = re.compile(r"^[\u4e00-\u9fff·]{2,5}犯(?!罪)")
_BYLINE = re.compile(r"^来源：.*作者：")


def split_charges(text: str) -> list[str]:
    """``故意杀人罪、贩卖、运输毒品罪`` → ``["故意杀人罪", "贩卖、运输毒品罪"]``: pieces between
    、 are joined until one ends in 罪. ``[]`` when something is left over (not clearly charges)."""
    out: list[str] = []
    pending: list[str] = []
    for piece in re.split(r"[、，和及]", text):
        piece = _NEXT_DEFENDANT.sub("", piece.strip())  # 李学超犯抢劫罪: the next defendant
        pending.append(piece)
        if piece.endswith("罪"):
            charge = "、".join(pending)
            if len(charge) < 3 or not re.fullmatch(r"[\u4e00-\u9fff、]+", charge):
                return []
            out.append(charge)
            pending = []
    return [] if pending else out


def find_charges(content: str) -> list[str]:
    found: list[str] = []
    for m in _CHARGED.finditer(content):
        for charge in split_charges(m["charges"]):
            if charge not in found:
                found.append(charge)
    return found


def parse_file(text: str) -> dict[str, str]:
    """The header fields; ``content`` runs from its line to the end of the file."""
    fields: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        key, sep, value = line.partition(":")
        if not sep or key.strip() not in HEADER_KEYS:
            continue
        key = key.strip()
        if key == "content":
            fields["content"] = "\n".join([value, *lines[i + 1 :]])
            break
        fields[key] = value.strip()
    return fields


def clean_content(content: str) -> str:
    """Blank lines, a repeated lead, consecutive duplicate lines and bylines removed."""
    lines = [line.strip() for line in content.split("\n")]
    lines = [line for line in lines if line and not _BYLINE.match(line)]
    if len(lines) >= 2 and lines[1].startswith(lines[0][:20]):
        lines = lines[1:]  # the lead (often cut short) repeats the opening paragraph
    out: list[str] = []
    for line in lines:
        if not out or line != out[-1]:
            out.append(line)
    return "\n".join(out)


def doc_type_of(title: str, content: str, category: str) -> str:
    """刑事裁定书 / 民事判决书 / 刑事决定书 ... from the title, else the content's header line."""
    m = _TITLE_TYPE.search(title)
    if m:
        kind = "刑事" if m[1] == "刑事附带民事" else m[1]
        return f"{kind}{m[2]}书"
    for line in content.split("\n")[:4]:
        h = DOC_HEADER.match(line.strip())
        if h is None:
            continue
        if h[1]:
            return f"{'刑事' if h[1] == '刑事附带民事' else h[1]}{h[2]}书"
        if category in ("刑事", "民事", "行政"):
            return f"{category}{h[2]}书"
        return ""
    return ""


def section(text: str, start: re.Pattern[str], end: re.Pattern[str]) -> str:
    """The text from ``start`` to the next ``end`` (or the end of the text); ``""`` if no start."""
    m = start.search(text)
    if m is None:
        return ""
    e = end.search(text, m.end())
    return text[m.start() : e.start() if e else len(text)].strip()


_FACT_END = re.compile(r"本院认为")


@register_adapter
class LawCrimeAdapter(FileAdapter):
    """LawCrimeMining court documents and crime stories: one ``case`` record per file."""

    name = "lawcrime"
    patterns = ("corpus_lawsuit/*.txt", "corpus_crime/*.txt")
    #: the case text fields and ``charges``: unlike the other case sources, the charges found in
    #: these documents go through normalization and masking with the prose (so a word taken for a
    #: name could change one; see ``CASE`` in ``builders/records.py``)
    TEXT_FIELDS: ClassVar[tuple[str, ...]] = (*CASE.text_fields, "charges")
    #: files of fewer characters are crawl stubs
    MIN_CHARS: ClassVar[int] = 200
    FILES_PER_UNIT: ClassVar[int] = 50

    def plan(self, source: str, cfg: SourceConfig, root: Path, limit: int | None) -> SourcePlan:
        per_file = super().plan(source, cfg, root, None)
        plan = SourcePlan(units=[], problems=per_file.problems, fingerprint=per_file.fingerprint)
        first: dict[str, str] = {}
        files: list[str] = []
        usable = {u["file"] for u in per_file.units}  # not empty, not unreadable
        for entry in per_file.fingerprint:  # "rel:sha256", in sorted path order
            rel, digest = entry.rsplit(":", 1)
            if rel not in usable:
                continue
            if digest in first:
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "duplicate_content",
                        f"{rel}: byte-identical to {first[digest]}; only the first is used",
                    )
                )
                continue
            first[digest] = rel
            files.append(rel)
        if limit is not None:
            files = sorted(sorted(files, key=stable_hash)[:limit])
        for i in range(0, len(files), self.FILES_PER_UNIT):
            batch = files[i : i + self.FILES_PER_UNIT]
            plan.units.append({"key": f"{batch[0]}..{batch[-1]}", "files": batch})
        plan.counters = {"files": len(files)}
        return plan

    def read(
        self, source: str, cfg: SourceConfig, root: Path, unit: dict[str, Any], ctx: Context
    ) -> Iterator[Record]:
        for rel in unit["files"]:
            yield from super().read(source, cfg, root, {"file": rel, "take": None}, ctx)

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        text = read_text(path)
        yield "file", {**parse_file(text), "chars": len(text)}

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        if raw["chars"] < self.MIN_CHARS:
            raise RecordError(
                "too_short", f"{raw['chars']} characters (under {self.MIN_CHARS}): a crawl stub"
            )
        if "content" not in raw:
            raise RecordError("missing_field", "no content: line")
        content = clean_content(raw["content"])
        if not content:
            raise RecordError("missing_field", "the content is empty")
        title = raw.get("title", "").strip()
        category = raw.get("category", "").strip()
        lawsuit = rel.startswith("corpus_lawsuit/")
        yield CASE.make(
            rel,
            text_fields=self.TEXT_FIELDS,
            fact=section(content, _FACT_START, _FACT_END),
            charges=find_charges(content) if lawsuit and category == "刑事" else [],
            opinion=section(content, _OPINION_START, _OPINION_END),
            judgment=content,
            title=title,
            category=category,
            doc_type=doc_type_of(title, content, category) if lawsuit else "案例",
        )
