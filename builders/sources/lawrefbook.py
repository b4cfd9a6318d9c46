"""Adapter for LawRefBook/Laws: Markdown statutes, one file per law or version.

Plan: read every file once (hash, header), report unusable files (empty, not UTF-8, unreadable,
no title), collapse byte-identical duplicates, group files by law title (all versions and 编 parts
of a law form one work unit) and mark the latest version of each law. Read: parse a unit's files
into article records; an article longer than the source's ``max_article_chars`` (a file whose
line breaks were lost makes one article of a whole law) is rejected, the rest of its law kept.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records import ARTICLE
from ..schema import stable_hash
from . import Problem, SourceAdapter, SourcePlan, register_adapter
from .common import missing_folder, rejected_as_undeclared, unreadable
from .laws import LawSourceError, list_law_files, parse_articles, read_law_file

if TYPE_CHECKING:
    from ..pipeline.base import Context, Record
    from ..recipe import SourceConfig

#: Folders of LawRefBook that hold no statutes: court cases (案例), which quote other laws'
#: articles as 第X条 lines that would otherwise be indexed under the case's title.
NOT_STATUTES = frozenset({"案例"})


@register_adapter
class LawRefBookAdapter(SourceAdapter):
    name = "lawrefbook"
    statutes = True

    def plan(self, source: str, cfg: SourceConfig, root: Path, limit: int | None) -> SourcePlan:
        if not root.is_dir():
            return SourcePlan(units=[], problems=[missing_folder(source, cfg)])
        plan = SourcePlan(units=[])
        files = []
        seen: dict[str, str] = {}
        for rel in list_law_files(root):
            try:
                law, _text = read_law_file(root, rel)
            except LawSourceError as exc:
                plan.problems.append(Problem(source, rel, exc.reason, str(exc)))
                plan.fingerprint.append(f"{rel}:unusable:{exc.reason}")
                continue
            except OSError as exc:
                err = unreadable(rel, exc)
                plan.problems.append(Problem(source, rel, err.reason, f"{rel}: {err}"))
                plan.fingerprint.append(f"{rel}:unusable:{err.reason}")
                continue
            plan.fingerprint.append(f"{rel}:{law.sha256}")
            if law.category in NOT_STATUTES:
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "not_a_statute",
                        f"{rel}: a {law.category} document, not a statute; the 第X条 it quotes "
                        "belong to other laws, so it goes into no statute index or task",
                    )
                )
                continue
            if law.sha256 in seen:
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "duplicate_file",
                        f"{rel}: byte-identical to {seen[law.sha256]}; collapsed into it",
                    )
                )
                continue
            seen[law.sha256] = rel
            files.append(law)
        if not files and not plan.problems:
            plan.problems.append(
                Problem(
                    source,
                    cfg.path,
                    "no_statutes",
                    f"{cfg.path}: no statute file (*.md) in the folder; is this the "
                    f"{self.name} source? check the --sources folder or the recipe key "
                    f"sources.{source}.path",
                )
            )
        files = self._one_file_per_version(source, files, plan)
        plan.counters = {"files": len(files)}
        # The latest version is decided over the whole source, before any sampling.
        latest: dict[str, str] = {}
        for f in files:
            latest[f.title] = max(latest.get(f.title, ""), f.version or "")
        if limit is not None:
            files = sorted(files, key=lambda f: (stable_hash(f.path), f.path))[:limit]
        by_title: dict[str, list[Any]] = defaultdict(list)
        for f in files:
            by_title[f.title].append(f)
        for title in sorted(by_title):
            plan.units.append(
                {
                    "key": title,
                    "files": [
                        {
                            "path": f.path,
                            "category": f.category,
                            "part": f.part or "",
                            "version": f.version or "",
                            "is_latest": (f.version or "") == latest[title],
                        }
                        for f in sorted(by_title[title], key=lambda f: f.path)
                    ],
                }
            )
        return plan

    @staticmethod
    def _one_file_per_version(source: str, files: list[Any], plan: SourcePlan) -> list[Any]:
        """One file per (law, version, part): the same version filed under two categories with
        different header lines (e.g. 广告法(2021-04-29) in 行政法 and 经济法) is one document. The
        largest file is kept (then the first path); the others are reported, not dropped silently.
        """
        by_version: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        for f in files:
            by_version[(f.title, f.version or "", f.part or "")].append(f)
        kept = []
        for group in by_version.values():
            group.sort(key=lambda f: (-f.size, f.path))
            kept.append(group[0])
            for other in group[1:]:
                plan.problems.append(
                    Problem(
                        source,
                        other.path,
                        "duplicate_version",
                        f"{other.path}: same law and version as {group[0].path} (not "
                        "byte-identical); collapsed into it",
                    )
                )
        return sorted(kept, key=lambda f: f.path)

    def read(
        self, source: str, cfg: SourceConfig, root: Path, unit: dict[str, Any], ctx: Context
    ) -> Iterator[Record]:
        records: list[Record] = []
        for f in unit["files"]:
            try:
                law, text = read_law_file(root, f["path"])
            except LawSourceError as exc:  # changed since the plan was made
                ctx.problem(source, f["path"], exc.reason, str(exc))
                continue
            except OSError as exc:  # unreadable since the plan was made
                err = unreadable(f["path"], exc)
                ctx.problem(source, f["path"], err.reason, f"{f['path']}: {err}")
                continue
            articles = list(parse_articles(text))
            if not articles:
                ctx.problem(
                    source,
                    f["path"],
                    "no_article_structure",
                    f"{f['path']}: no 第X条 articles found; it goes into no statute index or "
                    "task (amendment lists, cases and guides look like this)",
                )
                continue
            ctx.stats.count("statute_files", "parsed")
            labels: Counter[str] = Counter()
            for a in articles:
                labels[a.label] += 1
                dup = f"~{labels[a.label]}" if labels[a.label] > 1 else ""
                if len(a.text) > cfg.max_article_chars:
                    ctx.reject(
                        "read",
                        "article_too_long",
                        None,
                        source=source,
                        file=f["path"],
                        where=f"{a.label}{dup}",
                        message=f"{f['path']} ({a.label}{dup}): {len(a.text):,} characters, over "
                        f"sources.{source}.max_article_chars ({cfg.max_article_chars:,}); the "
                        "file's line breaks are probably lost: fix the file (the rest of the "
                        "law is kept), or raise the limit if the article is real",
                        start=a.text[:200],
                    )
                    continue
                version = f["version"]
                part = f["part"]
                rec = ARTICLE.make(
                    f"{f['path']}#{a.label}{dup}",
                    id=f"{law.title}@{version or 'undated'}/{a.label}{dup}",
                    law=law.title,
                    category=f["category"],
                    version=version,
                    is_latest=f["is_latest"],
                    repealed_on="",
                    repealed_by="",
                    part=part,
                    path=([part] if part else []) + list(a.path),
                    article=a.number,
                    sub=a.sub,
                    label=a.label,
                    text=a.text,
                    items=list(a.items),
                    text_original=None,
                    _order=(version, a.number, a.sub, f["path"], a.ordinal),
                    source=source,
                    source_file=f["path"],
                    license=cfg.license,
                    _simplified=cfg.script == "simplified",
                )
                if not rejected_as_undeclared(
                    ctx,
                    rec,
                    source=source,
                    file=f["path"],
                    where=f"{a.label}{dup}",
                    shown=f"{f['path']} ({a.label}{dup})",
                    start=a.text[:200],
                ):
                    records.append(rec)
        # Which texts occur once among the latest articles: an identification question ("which
        # article says ...") only has one right answer for those.
        latest_texts = Counter(r["text"] for r in records if r["is_latest"])
        for r in records:
            r["_unique_text"] = latest_texts[r["text"]] == 1
        yield from records
