"""Reader for the LawRefBook Markdown statutes (``raw/laws/LawRefBook-Laws``).

Each file holds one statute (or one 编 of the Civil Code, or a case or guide)::

    # 中华人民共和国刑法                      <- title
    # 总则                                    <- optional part (民法典 only)
    1979年7月1日 第五届全国人民代表大会...通过  <- promulgation / amendment lines
    <!-- INFO END -->
    ## 第一编 总则                            <- 编/分编/章/节 headings
    ### 第一章 ...
    第一条 为了惩罚犯罪，...                   <- an article: label, space, first 款
    （一）...                                 <- items and further 款 follow as paragraphs

The module works one file at a time (no global state, nothing cached) so a pipeline can stream
the ~1,750 files, and reports a broken file as :class:`LawSourceError` with a reason tag a
pipeline can count and a message a person can act on.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lawset.builders.numerals import parse_article_label

__all__ = [
    "Article",
    "LawFile",
    "LawSourceError",
    "list_law_files",
    "parse_articles",
    "read_law_file",
    "version_from_name",
]

INFO_END = "<!-- INFO END -->"
LOCAL_CATEGORY = "地方法规"
"""Category for everything under ``DLC/`` (the local-regulation add-on: 北京地方法规/...)."""

_NUM = "零〇一二两三四五六七八九十百千万0-9０-９"
# An article paragraph: label, then a space (ASCII or full-width) and the first 款, or nothing.
# Requiring the space keeps prose such as "第一条规定的..." from being taken for an article.
_ARTICLE_RE = re.compile(
    rf"(?P<label>第(?P<num>[{_NUM}]+)条(?:之(?P<sub>[{_NUM}]+))?)(?:[ \u3000]+(?P<rest>.*))?"
)
_APPENDIX_RE = re.compile(r"(附件|附表|附录)[一二三四五六七八九十\d]*([：:\s\u3000]|$)|附[：:]")
_HEADING_RE = re.compile(r"(?P<hashes>#{1,6})[ \t\u3000]+(?P<text>.*)")
# An item marker （一） counts when it opens a paragraph (optionally after an opening quote, as in
# amendment texts) or follows list punctuation; "第（一）项" cross-references do not count.
_ITEM_RE = re.compile(r"(?:^|(?<=[“\"‘：:；;。\s]))（[一二三四五六七八九十]+）")
_NAME_VERSION_RE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)(?:\.md)?$")
_CN_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_WS_RE = re.compile(r"\s+")
# Spaces between two Han characters inside a heading are typographic spacing (第一章 总　则).
_HAN_GAP_RE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_HEADING_LABEL_RE = re.compile(
    r"(第[零〇一二两三四五六七八九十百千\d]+(?:分编|编|章|节)|[一二三四五六七八九十]+、)\s*"
)


class LawSourceError(Exception):
    """A problem with one source file.

    ``reason`` is a short snake_case tag (``not_utf8``, ``empty_file``, ``no_title``,
    ``bad_article_number``) so a pipeline can count failures by kind; ``str(exc)`` starts with the
    file's path and says what to do about it, so the message is useful on its own in a log.
    """

    def __init__(self, path: str, reason: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class LawFile:
    """Header facts of one file, enough to identify the law, its version and the exact bytes."""

    path: str  # posix path relative to the source root, e.g. "刑法/刑法.md"
    category: str  # first folder, e.g. "刑法"; "地方法规" for everything under DLC/
    title: str  # first "# " heading
    part: str | None  # second "# " heading in the header (民法典's 编), else None
    version: str | None  # "YYYY-MM-DD" from the file name, else from the header dates, else None
    sha256: str  # of the raw bytes, so a release can prove which input it was built from
    size: int  # bytes


@dataclass(frozen=True)
class Article:
    """One article (条) with its heading path, body and enumerated items."""

    ordinal: int  # 0-based position in the file
    number: int  # 102
    sub: int  # N of 之N (articles inserted by amendment), else 0
    label: str  # as written: "第一百零二条" / "第十条之一"
    path: tuple[str, ...]  # heading stack (编/章/节), without the file's part
    text: str  # body without the label; paragraphs (款) joined with "\n"
    items: tuple[str, ...]  # "（一）..." items in order, each with its marker


_Open = tuple[str, int, int, tuple[str, ...]]  # label, number, sub, heading path


def version_from_name(name: str) -> str | None:
    """Return the date of a versioned file name ``X(YYYY-MM-DD).md``, else None.

    Several versions of one law sit side by side and only the name tells them apart. Accepts a
    bare name or a path; an impossible date (2021-02-30) gives None rather than a bogus version.
    """
    m = _NAME_VERSION_RE.search(name.replace("\\", "/").rsplit("/", 1)[-1])
    if m is None:
        return None
    return _valid_date(*m.group(1).split("-"))


def list_law_files(root: Path) -> list[str]:
    """Every ``*.md`` under ``root`` as a posix relative path, sorted, without Hugo ``_index.md``.

    Sorted by the path string so that runs on different machines see files in the same order.
    A symbolic link counts even when its target is gone, so that reading it reports the file.
    """
    root = Path(root)
    paths = (
        p.relative_to(root).as_posix()
        for p in root.rglob("*.md")
        if p.name != "_index.md" and (p.is_file() or p.is_symlink())
    )
    return sorted(paths)


def read_law_file(root: Path, relpath: str) -> tuple[LawFile, str]:
    """Read one file, hash its bytes, decode it as strict UTF-8 and parse its header.

    Returns the :class:`LawFile` and the decoded text (a leading BOM removed). Raises
    :class:`LawSourceError` with reason ``not_utf8`` (the message gives the byte offset and an
    ``iconv`` command), ``empty_file`` (0 bytes or only whitespace) or ``no_title`` (no ``# ``
    line in the header: truncated, or not a statute file). A file without ``<!-- INFO END -->``
    is accepted; its header is then the lines before the first ``##`` heading or article.
    Decoding is strict because a silently replaced character in a statute is a wrong statute.
    OSError (missing, unreadable file) propagates unchanged.
    """
    rel = Path(relpath).as_posix()
    data = (Path(root) / relpath).read_bytes()
    if not data.strip():
        raise LawSourceError(
            rel,
            "empty_file",
            f"file is empty ({len(data)} bytes, no text); re-fetch it from the source or remove it",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LawSourceError(
            rel,
            "not_utf8",
            f"not valid UTF-8 at byte offset {exc.start} ({exc.reason}); re-encode it as "
            f"UTF-8, e.g. iconv -f GBK -t UTF-8 '{Path(rel).name}' > fixed.md (check the "
            "original encoding first)",
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise LawSourceError(
            rel, "empty_file", "file contains only whitespace; re-fetch it or remove it"
        )
    lines = _lines(text)
    header = lines[: _header_end(lines)[0]]
    titles = [t for t in (_h1(line) for line in header) if t is not None]
    if not titles:
        raise LawSourceError(
            rel,
            "no_title",
            "no '# 标题' line before the articles: the file is truncated or not a statute; "
            "check it against the source or exclude it",
        )
    info = LawFile(
        path=rel,
        category=_category(rel),
        title=titles[0],
        part=titles[1] if len(titles) > 1 else None,
        version=version_from_name(rel) or _version_from_header(header),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    return info, text


def parse_articles(text: str, path: str = "<text>") -> Iterator[Article]:
    """Yield the articles after the header, in document order.

    An article starts at a paragraph ``第N条[之M]`` followed by a space (or nothing) and runs
    until the next article or heading, or an appendix paragraph (附件/附表/附录…, 附：), which
    closes it; text between a heading and the next article (preambles,
    case narratives) belongs to no article and is dropped. Headings keep a stack by level so
    each article knows its 编/章/节. A file without articles yields nothing: whether that is an
    error is the caller's call. ``path`` only labels errors: a label whose numeral does not
    parse raises :class:`LawSourceError` (``bad_article_number``) rather than being guessed.
    """
    lines = _lines(text)
    start, has_marker = _header_end(lines)
    if has_marker:
        start += 1  # skip the marker line itself
    stack: list[tuple[int, str]] = []
    ordinal = 0
    current: _Open | None = None
    paras: list[str] = []

    for lineno, raw in enumerate(lines[start:], start=start + 1):
        line = raw.strip()
        if not line:
            continue
        heading = _HEADING_RE.fullmatch(line)
        if heading is not None:
            if current is not None:
                yield _article(ordinal, current, paras)
                ordinal += 1
                current, paras = None, []
            title = _heading_text(heading["text"])
            if title:
                level = len(heading["hashes"])
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, title))
            continue
        art = _ARTICLE_RE.fullmatch(line)
        if art is not None:
            if current is not None:
                yield _article(ordinal, current, paras)
                ordinal += 1
            try:
                number, sub = parse_article_label(art["label"])
            except ValueError as exc:
                raise LawSourceError(
                    path,
                    "bad_article_number",
                    f"line {lineno}: {exc}; fix the label in the source file",
                ) from None
            current = (art["label"], number, sub, tuple(t for _, t in stack))
            paras = [art["rest"].strip()] if art["rest"] and art["rest"].strip() else []
            continue
        if current is not None:
            if _APPENDIX_RE.match(line):
                # 附件/附表/附录 after the last article: the appendix is not part of the article.
                yield _article(ordinal, current, paras)
                ordinal += 1
                current, paras = None, []
                continue
            paras.append(line)
    if current is not None:
        yield _article(ordinal, current, paras)


def _heading_text(raw: str) -> str:
    """ "第一章  总　则" -> "第一章 总则": one space after the label, none inside the name."""
    text = _WS_RE.sub(" ", raw).strip()
    label = _HEADING_LABEL_RE.match(text)
    head, rest = (label.group(1), text[label.end() :]) if label else ("", text)
    rest = _HAN_GAP_RE.sub("", rest)
    return f"{head} {rest}".strip() if head and not head.endswith("、") else head + rest


def _article(ordinal: int, current: _Open, paras: list[str]) -> Article:
    label, number, sub, heads = current
    return Article(
        ordinal=ordinal,
        number=number,
        sub=sub,
        label=label,
        path=heads,
        text="\n".join(paras),
        items=_items(paras),
    )


def _lines(text: str) -> list[str]:
    # Split on "\n" only: str.splitlines() would also break on U+2028, \x1c etc. inside a 款.
    return [line.removesuffix("\r") for line in text.split("\n")]


def _h1(line: str) -> str | None:
    if not line.startswith("# "):
        return None
    title = _WS_RE.sub(" ", line[2:]).strip()
    return title or None


def _header_end(lines: list[str]) -> tuple[int, bool]:
    """Index of the INFO END marker line (True), else of the first ``##`` heading/article."""
    for i, line in enumerate(lines):
        if line.strip() == INFO_END:
            return i, True
    for i, raw in enumerate(lines):
        line = raw.strip()
        heading = _HEADING_RE.fullmatch(line)
        if (heading is not None and len(heading["hashes"]) > 1) or _ARTICLE_RE.fullmatch(line):
            return i, False
    return len(lines), False


def _category(rel: str) -> str:
    first = rel.split("/", 1)[0] if "/" in rel else ""
    return LOCAL_CATEGORY if first == "DLC" else first


def _valid_date(year: str, month: str, day: str) -> str | None:
    try:
        return _dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _version_from_header(header: list[str]) -> str | None:
    """Latest date in the promulgation/amendment lines.

    Lines ending in 施行 give the entry-into-force date, not the version's adoption date, so
    they are used only when no other line carries a date.
    """
    adopted: list[str] = []
    in_force: list[str] = []
    for raw in header:
        line = raw.strip()
        if not line or _h1(line) is not None:
            continue
        dates = [_valid_date(*m.groups()) for m in _CN_DATE_RE.finditer(line)]
        dates += [_valid_date(*m.groups()) for m in _ISO_DATE_RE.finditer(line)]
        found = [d for d in dates if d is not None]
        if line.rstrip("。.）) \u3000").endswith("施行"):
            in_force += found
        else:
            adopted += found
    pool = adopted or in_force
    return max(pool) if pool else None


def _items(paras: list[str]) -> tuple[str, ...]:
    items: list[str] = []
    for para in paras:
        starts = [m.start() for m in _ITEM_RE.finditer(para)]
        if not starts:
            continue
        for begin, end in zip(starts, starts[1:] + [len(para)], strict=True):
            item = para[begin:end].strip()
            if item:
                items.append(item)
    return tuple(items)
