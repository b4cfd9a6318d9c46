"""Statute article TEXT for grounded prompts and quote checks.

``ctx.catalog`` (builders/citations.py) holds only hashes of article texts, which is all the
``citations`` step needs. A rewrite needs the words themselves: the prompt quotes the articles an
item involves, and a rewrite's quotations are checked against them. :class:`StatuteTexts` is a
SQLite file ``(law, version, article, sub) -> text`` read from the recipe's statute sources the
same way :func:`lawset.builders.citations.build_catalog` reads them (same adapters, same
normalization), so a text and its catalog hash always agree.

Decisions:

- Built once per build, lazily (only when the ``openai`` rewriter asks for it), at
  ``<out>/.lawset-work/statute_texts.sqlite``, under an ``fcntl`` lock: the first worker process
  builds it into a temporary file and renames it; the others wait on the lock and then read.
- The file carries the fingerprint of the statute sources (every file's sha256, from the
  adapters' ``plan``); a file from other sources is rebuilt, never trusted.
- Readers keep a small in-memory dict of the articles they asked for: a record's grounding asks
  for a handful of articles, and the same few (刑法第二百六十四条) recur across thousands of cases.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..normalize import normalize_text

if TYPE_CHECKING:
    from ..recipe import Recipe

FILE = "statute_texts.sqlite"
_SCHEMA = """
CREATE TABLE articles (
    law TEXT NOT NULL, version TEXT NOT NULL, article INTEGER NOT NULL, sub INTEGER NOT NULL,
    is_latest INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (law, version, article, sub)
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _statute_sources(recipe: Recipe) -> list[tuple[str, Any]]:
    from ..sources import ADAPTERS

    return [
        (name, cfg)
        for name, cfg in sorted(recipe.sources.items())
        if ADAPTERS[cfg.adapter].statutes
    ]


def statute_fingerprint(recipe: Recipe, sources_root: Path) -> str:
    """A digest of every statute source file the recipe reads (from the adapters' plans)."""
    from ..sources import ADAPTERS

    prints: list[Any] = []
    for name, cfg in _statute_sources(recipe):
        plan = ADAPTERS[cfg.adapter]().plan(name, cfg, sources_root / cfg.path, None)
        prints.append([name, cfg.path, cfg.script, plan.fingerprint])
    import hashlib

    return hashlib.sha256(json.dumps(prints, ensure_ascii=False).encode()).hexdigest()


def build_statute_texts(recipe: Recipe, sources_root: Path, path: Path, fingerprint: str) -> None:
    """Read every statute source of the recipe into ``path`` (written under a temporary name)."""
    from ..sources import statute_articles

    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(_SCHEMA)
        rows = []
        for rec, simplified in statute_articles(recipe, sources_root):
            rows.append(
                (
                    normalize_text(rec["law"], simplified),
                    rec["version"],
                    rec["article"],
                    rec["sub"],
                    int(bool(rec["is_latest"])),
                    normalize_text(rec["text"], simplified).strip(),
                )
            )
            if len(rows) >= 20_000:
                db.executemany("INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?)", rows)
                rows = []
        db.executemany("INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?)", rows)
        db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)


class StatuteTexts:
    """Read access to the statute text store; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._memo: dict[tuple[str, str, int, int], str | None] = {}
        self._latest: dict[str, str] = {}
        self.fingerprint = _fingerprint_of(path) or ""

    @classmethod
    def open_for_build(cls, work: Path, recipe: Recipe, sources_root: Path) -> StatuteTexts:
        """The build's store, built first if missing or made from other sources (file lock)."""
        work.mkdir(parents=True, exist_ok=True)
        path = work / FILE
        fingerprint = statute_fingerprint(recipe, sources_root)
        with open(work / (FILE + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if _fingerprint_of(path) != fingerprint:
                    build_statute_texts(recipe, sources_root, path, fingerprint)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return cls(path)

    def text(self, law: str, version: str, article: int, sub: int) -> str | None:
        """The text of one article of one version, or None."""
        key = (law, version, article, sub)
        if key not in self._memo:
            row = self._db.execute(
                "SELECT text FROM articles WHERE law=? AND version=? AND article=? AND sub=?", key
            ).fetchone()
            self._memo[key] = None if row is None else row[0]
        return self._memo[key]

    def latest_version(self, law: str) -> str | None:
        if law not in self._latest:
            row = self._db.execute(
                "SELECT version FROM articles WHERE law=? AND is_latest=1 LIMIT 1", (law,)
            ).fetchone()
            self._latest[law] = "" if row is None else row[0]
        return self._latest[law] or None

    def rows(self) -> list[tuple[str, str, int, int, bool, str]]:
        """Every article (law, version, article, sub, is_latest, text), for building a catalog."""
        cur = self._db.execute(
            "SELECT law, version, article, sub, is_latest, text FROM articles "
            "ORDER BY law, version, article, sub"
        )
        return [(a, b, c, d, bool(e), f) for a, b, c, d, e, f in cur]

    def close(self) -> None:
        self._db.close()


def _fingerprint_of(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else row[0]


def catalog_from_texts(texts: StatuteTexts, recipe: Recipe) -> Any:
    """A :class:`StatuteCatalog` made from the text store, for builds whose recipe has no
    ``citations`` step (the executor then loads no catalog): the same keys and hashes as
    ``build_catalog`` makes, without reading the sources a second time."""
    from ..citations import StatuteCatalog, load_successors, repeal_rules

    catalog = StatuteCatalog(repealed=repeal_rules(recipe), successor=load_successors())
    for law, version, article, sub, is_latest, text in texts.rows():
        catalog.add(law, version, is_latest, article, sub, text)
    catalog = catalog.finish()
    catalog.activate()
    return catalog
